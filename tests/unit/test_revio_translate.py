"""Rev.io JSON -> normalized contracts: dates, names, markers, and drift as classified errors."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from revsync.connector import content_hash
from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector import markers, translate, values
from services.revio_connector.client.bodies import role_patch, ticket_status, with_field
from services.revio_connector.client.paging import records_of

UTC_ZONE = ZoneInfo("UTC")
CHICAGO = ZoneInfo("America/Chicago")


def customer_record(**overrides: object) -> dict[str, object]:
    address = {
        "address_id": 50001,
        "company_name": "Contoso Ltd",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "line_1": "1 Main St",
        "line_2": "",
        "city": "Springfield",
        "state_or_province": "IL",
        "postal_code": "62701",
        "postal_code_extension": "",
        "country_code": 235,
    }
    record: dict[str, object] = {
        "customer_id": 10001,
        "account_number": "A-1",
        "status": "OPEN",
        "updated_date": "2016-10-21T16:24:21.293",
        "email": "ada@example.com",
        "service_address": address,
        "billing_address": address,
        "listing_address": None,
        "finance": {"bill_profile_id": 2, "billing_method": "EMAIL"},
        "profile": {"class": "BUSINESS"},
        "fields": [{"field_id": 1, "label": markers.RMM_COMPANY_FIELD, "value": "c-9"}],
    }
    return record | overrides


def test_zone_less_dates_are_read_as_utc_unless_a_zone_is_configured():
    assert values.parse_date("2016-10-21T16:24:21.293", UTC_ZONE) == datetime(
        2016, 10, 21, 16, 24, 21, 293000, tzinfo=UTC
    )
    assert values.parse_date("2016-10-21T16:24:21", CHICAGO) == datetime(
        2016, 10, 21, 21, 24, 21, tzinfo=UTC
    )
    assert values.parse_date("2016-10-21T16:24:21Z", CHICAGO) == datetime(
        2016, 10, 21, 16, 24, 21, tzinfo=UTC
    )


def test_empty_rev_io_dates_mean_no_date():
    for empty in ("0001-01-01T00:00:00", "0001-01-01T00:00:00.000", "", None):
        assert values.parse_date(empty, UTC_ZONE) is None


def test_vendor_dates_are_written_zone_less_in_the_account_zone():
    moment = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
    assert values.vendor_date(moment, CHICAGO) == "2024-01-02T06:00:00.000"


def test_customer_name_is_the_service_address_company_and_addresses_are_deduplicated():
    customer = translate.customer(customer_record(), UTC_ZONE)
    assert customer.name == "Contoso Ltd"
    assert [a.id for a in customer.addresses] == ["50001"]
    assert customer.addresses[0].country == "US"
    assert customer.rmm_company_id == "c-9"
    assert customer.bill_profile_id == "2" and customer.customer_class == "BUSINESS"
    assert customer.updated_at == datetime(2016, 10, 21, 16, 24, 21, 293000, tzinfo=UTC)


def test_customer_without_service_address_takes_billing_name_then_a_contact():
    billing = {"address_id": 7, "company_name": "Billing Co"}
    assert (
        translate.customer(
            customer_record(service_address=None, billing_address=billing), UTC_ZONE
        ).name
        == "Billing Co"
    )
    person = {"address_id": 7, "company_name": "", "first_name": "Grace", "last_name": "Hopper"}
    assert (
        translate.customer(
            customer_record(service_address=None, billing_address=person), UTC_ZONE
        ).name
        == "Grace Hopper"
    )
    bare = translate.customer(customer_record(service_address=None, billing_address=None), UTC_ZONE)
    assert bare.name == "A-1" and bare.addresses == ()


def test_extra_addresses_join_the_role_addresses_in_id_order():
    extra = [{"address_id": 50009, "customer_id": 10001, "city": "Dover"}]
    customer = translate.customer(customer_record(), UTC_ZONE, extra)
    assert [a.id for a in customer.addresses] == ["50001", "50009"]


def test_a_record_that_cannot_mean_anything_is_a_classified_error_keeping_the_payload():
    with pytest.raises(VendorError) as caught:
        translate.customer(customer_record(customer_id=None), UTC_ZONE)
    assert caught.value.kind is VendorErrorKind.INVALID_RESPONSE
    assert "Contoso Ltd" in (caught.value.payload or "")
    with pytest.raises(VendorError):
        translate.customer(customer_record(status="ARCHIVED"), UTC_ZONE)
    with pytest.raises(VendorError):
        translate.customer(customer_record(updated_date="yesterday"), UTC_ZONE)
    with pytest.raises(VendorError):
        translate.customer(customer_record(fields="nope"), UTC_ZONE)


def ticket_record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "ticket_id": 20001,
        "customer_id": 10001,
        "description": "Printer on fire",
        "status": "OPEN",
        "custom_status": None,
        "ticket_type_id": 2,
        "created_date": "2024-01-01T10:00:00.000",
        "modified_date": "2024-01-02T10:00:00.000",
        "closed_date": "0001-01-01T00:00:00",
        "fields": [],
    }
    return record | overrides


def test_ticket_with_journal_flags_what_revsync_wrote():
    journals = [
        {"ticket_journal_id": 80002, "ticket_id": 20001,
         "message": markers.mark_note("Done", "n-1"), "created_date": "2024-01-02T10:00:00"},
        {"ticket_journal_id": 80001, "ticket_id": 20001, "message": "Looking into it",
         "created_date": "2024-01-01T11:00:00"},
    ]  # fmt: skip
    fields = [{"field_id": 3, "label": markers.SOURCE_KEY_FIELD, "value": "alert:1"},
              {"field_id": 4, "label": markers.RMM_TICKET_FIELD, "value": "rmm-5"}]  # fmt: skip
    ticket = translate.ticket(ticket_record(fields=fields), UTC_ZONE, journals, {"2": "RMM Alert"})
    assert [(e.id, e.text, e.written_by_revsync) for e in ticket.journal] == [
        ("80001", "Looking into it", False),
        ("80002", "Done", True),
    ]
    assert ticket.created_by_revsync and ticket.rmm_ticket_id == "rmm-5"
    assert ticket.ticket_type == "RMM Alert" and not ticket.closed


def test_ticket_without_any_date_is_drift_and_closed_tickets_are_closed():
    with pytest.raises(VendorError):
        translate.ticket(
            ticket_record(modified_date="0001-01-01T00:00:00", created_date=None), UTC_ZONE, [], {}
        )
    closed = translate.ticket(
        ticket_record(status="CLOSED", custom_status="auto-closed"), UTC_ZONE, [], {}
    )
    assert closed.closed and closed.custom_status == "auto-closed" and closed.ticket_type == "2"


def test_a_tickets_creation_date_is_read_but_kept_out_of_its_hash_and_messages():
    """`created_at` serves the echo rule of our creates only: a ticket's content hash is the
    same with it as without (every ticket known would otherwise be reported once more)."""
    ticket = translate.ticket(ticket_record(), CHICAGO, [], {})
    assert ticket.created_at == datetime(2024, 1, 1, 16, 0, tzinfo=UTC)
    assert ticket.updated_at == datetime(2024, 1, 2, 16, 0, tzinfo=UTC)
    assert "created_at" not in ticket.model_dump()
    assert content_hash(ticket) == content_hash(ticket.model_copy(update={"created_at": None}))
    never_modified = translate.ticket(ticket_record(modified_date=None), UTC_ZONE, [], {})
    assert never_modified.updated_at == never_modified.created_at
    unreadable = translate.ticket(ticket_record(created_date="soon"), UTC_ZONE, [], {})
    assert unreadable.created_at is None and unreadable.updated_at is not None


def test_asset_fields_become_a_mapping():
    asset = translate.asset(
        {"inventory_item_id": 30001, "inventory_type_id": 1, "identifier": "ep-1",
         "customer_id": None, "status": "ACTIVE", "note": "",
         "fields": [{"field_id": 1, "label": "Hostname", "value": "pc-1"}]}
    )  # fmt: skip
    assert asset.fields == {"Hostname": "pc-1"} and asset.customer_id is None


def test_note_marker_round_trip():
    written = markers.mark_note("Rebooted the server.\n", "note-42")
    assert markers.read_note(written) == ("Rebooted the server.", "note-42")
    assert markers.read_note("plain text") == ("plain text", None)


def test_collection_without_records_is_an_invalid_response():
    assert records_of({"ok": True, "has_more": False, "records": []}, "Customers") == ([], False)
    with pytest.raises(VendorError) as caught:
        records_of({"ok": True, "records": None}, "Customers")
    assert caught.value.kind is VendorErrorKind.INVALID_RESPONSE


def test_patches_touch_only_what_differs_and_add_a_missing_service_address():
    record = customer_record()
    assert role_patch(record, "Contoso Ltd", None) == []
    assert role_patch(record, "Fabrikam", None) == [
        {"op": "replace", "path": "/service_address/company_name", "value": "Fabrikam"}
    ]
    bare = customer_record(service_address=None, billing_address=None)
    assert role_patch(bare, "Fabrikam", None) == [
        {"op": "add", "path": "/service_address", "value": {"company_name": "Fabrikam"}}
    ]
    assert with_field([{"field_id": 1, "label": "A", "value": "x"}], "a", "y") == [
        {"field_id": 1, "label": "A", "value": "y"}
    ]
    assert ticket_status("in work") == "INWORK"
    with pytest.raises(VendorError):
        ticket_status("maybe")
