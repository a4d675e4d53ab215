"""The RMM connector's anti-corruption layer: vendor JSON -> contracts, contracts -> vendor
bodies, markers, paging links and rate-limit buckets (pure, no I/O)."""

from datetime import UTC, datetime

import httpx
import pytest
from revsync.contracts.rmm import CreateRmmCompany, CreateRmmTicket, RmmSite
from revsync.vendor import VendorErrorKind

from services.cwrmm_connector import markers, translate, vendor_bodies
from services.cwrmm_connector import translate_tickets as tt
from services.cwrmm_connector.client.limits import BucketLimits
from services.cwrmm_connector.client.paging import next_link

SITE = {
    "id": "s1",
    "name": "Main Office",
    "description": "HQ\nRev.io address ID: 77",
    "company": {"id": "c1", "name": "Acme"},
    "primaryAddress": {
        "addressLine1": "1 Main St",
        "locality": "Tampa",
        "administrativeArea": "FL",
        "postCode": "33601",
        "countryCode": "US",
        "country": "United States",
    },
    "primaryPhoneNumber": {"nationalNumber": "+1 555-0100", "countryCode": "1"},
}
COMPANY = {
    "id": "c1",
    "name": "Acme",
    "description": "Rev.io ID: 42",
    "activityStatus": {"id": "a0", "name": "Inactive", "activeFlag": False},
    "partnerId": "p",
}
TICKET = {
    "id": "t1",
    "number": "1001",
    "summary": "Printer offline",
    "description": "It is off\nRev.io ticket ID: 9",
    "status": {"id": "st-closed", "name": "Closed"},
    "priority": {"id": "p1", "name": "High"},
    "serviceBoard": {"id": "b1", "name": "Help Desk"},
    "source": {"id": "src", "name": "Manual"},
    "company": {"id": "c1"},
    "site": {"id": "s1"},
    "assets": [{"id": "e1"}],
    "updatedAt": "2025-05-24T16:49:32Z",
    "version": 3,
}
ALERT = {
    **TICKET,
    "source": {"id": "src-a", "name": "Alert"},
    "priority": {"id": "p0", "name": "P1 - Critical"},
    "extendedAttributes": [
        {"id": "x1", "name": "alertId", "value": "al-1"},
        {"id": "x2", "name": "conditionId", "value": "disk-space-low"},
    ],
}


def test_company_carries_its_sites_sorted_and_its_activity_flag():
    other = {**SITE, "id": "s0", "name": "Annex"}
    company = translate.company(COMPANY, [translate.site(SITE), translate.site(other)])
    assert company.id == "c1" and company.name == "Acme" and company.active is False
    assert [s.id for s in company.sites] == ["s0", "s1"]
    assert company.description == "Rev.io ID: 42"


def test_company_without_activity_status_is_active():
    assert translate.company({"id": "c", "name": "N"}, []).active is True


def test_company_external_ids_are_the_external_id_values_of_its_id_mappings():
    mapping = {"id": "m1", "companyId": "c1", "productId": "p", "productInstanceId": "i"}
    doc = {
        **COMPANY,
        "externalIds": [
            {**mapping, "externalId": "10001"},
            {**mapping, "id": "m2", "externalId": "PSA-7"},
            {**mapping, "id": "m3", "externalId": " 10001 "},  # the same id again
        ],
    }
    assert translate.company(doc, []).external_ids == ("10001", "PSA-7")
    assert translate.company(COMPANY, []).external_ids == ()


@pytest.mark.parametrize(
    "external_ids",
    [
        None,
        "10001",
        {"externalId": "10001"},
        ["10001", None, 7, [], {}, {"externalId": ""}, {"externalId": 10001}, {"id": "m"}],
    ],
)
def test_malformed_external_ids_are_skipped_not_fatal(external_ids):
    company = translate.company({**COMPANY, "externalIds": external_ids}, [])
    assert (company.id, company.external_ids) == ("c1", ())


def test_well_formed_external_ids_survive_malformed_neighbours():
    doc = {**COMPANY, "externalIds": ["x", None, {"externalId": 5}, {"externalId": "10001"}]}
    assert translate.company(doc, []).external_ids == ("10001",)


def test_site_address_fields_are_renamed_into_the_contract():
    site = translate.site(SITE)
    assert (site.address_line_1, site.city, site.state, site.postal_code, site.country) == (
        "1 Main St", "Tampa", "FL", "33601", "US",
    )  # fmt: skip
    assert site.company_id == "c1" and site.phone == "+1 555-0100"


@pytest.mark.parametrize(
    ("document", "missing"), [({"name": "no id"}, "id"), ({"id": "c"}, "name")]
)
def test_a_company_missing_required_fields_is_untranslatable_with_its_payload(document, missing):
    with pytest.raises(translate.Untranslatable) as raised:
        translate.company(document, [])
    assert raised.value.kind is VendorErrorKind.INVALID_RESPONSE
    assert raised.value.message.startswith(missing)
    assert raised.value.payload == repr(document)


def test_endpoint_serial_comes_from_system_then_bios_and_hostname_from_device_name():
    doc = {
        "endpointID": "e1",
        "deviceName": "ACME-WS-01",
        "friendlyName": "Reception PC",
        "endpointType": "Desktop",
        "os": {"product": "Windows 11 Pro"},
        "bios": {"serialNumber": "BIOS-1"},
    }
    endpoint = translate.endpoint(doc, "platform", "c1", "s1")
    assert (endpoint.hostname, endpoint.serial_number, endpoint.os) == (
        "ACME-WS-01", "BIOS-1", "Windows 11 Pro",
    )  # fmt: skip
    with_system = {**doc, "system": {"serialNumber": "SYS-1"}}
    assert translate.endpoint(with_system, "platform", "c1", "s1").serial_number == "SYS-1"


def test_endpoint_groups_of_a_listing_page_name_company_and_site():
    page = {"network": [{"companyID": "c1", "siteID": "s1", "endpoints": [{"endpointID": "e"}]}]}
    assert list(translate.endpoint_groups(page, "network")) == [("c1", "s1", [{"endpointID": "e"}])]
    assert list(translate.endpoint_groups(page, "cloud")) == []
    with pytest.raises(translate.Untranslatable):
        list(translate.endpoint_groups({"cloud": {"not": "a list"}}, "cloud"))


def test_ticket_with_status_category_notes_and_the_revio_ticket_id_marker():
    notes = [
        tt.note({"id": "n2", "detail": "second", "createdAt": "2025-05-25T10:00:00Z"}),
        tt.note(
            {
                "id": "n1",
                "detail": markers.note_text("from Rev.io", "rn-5"),
                "createdAt": "2025-05-24T10:00:00Z",
            }
        ),
    ]
    ticket = tt.ticket(TICKET, "Closed", notes)
    assert ticket.status_category == "Closed" and ticket.priority == "High"
    assert ticket.updated_at == datetime(2025, 5, 24, 16, 49, 32, tzinfo=UTC)
    assert ticket.revio_ticket_id == "9" and ticket.endpoint_ids == ("e1",)
    assert [(n.id, n.text, n.written_by_revsync) for n in ticket.notes] == [
        ("n1", "from Rev.io", True),
        ("n2", "second", False),
    ]


def test_revio_ticket_id_in_extended_attributes_wins():
    doc = {**TICKET, "extendedAttributes": [{"name": "revioTicketId", "value": "77"}]}
    assert tt.ticket(doc, "New").revio_ticket_id == "77"


def test_alert_ticket_becomes_an_alert_with_severity_condition_and_alert_id():
    assert tt.is_alert(ALERT, "alert") and not tt.is_alert(TICKET, "Alert")
    alert = tt.alert(ALERT, "Closed")
    assert (alert.severity, alert.condition_id, alert.alert_id) == (
        "Critical", "disk-space-low", "al-1",
    )  # fmt: skip
    assert (alert.endpoint_id, alert.company_id, alert.site_id) == ("e1", "c1", "s1")
    assert alert.status_category == "Closed"


def test_alert_without_condition_id_falls_back_to_its_ticket():
    doc = {**ALERT, "extendedAttributes": []}
    assert tt.alert(doc, "New").condition_id == "ticket:t1"


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("High", "High"), ("info", "Info"), ("P2 - Medium", "Medium"), ("Urgent", "Medium"),
     (None, "Medium")],
)  # fmt: skip
def test_severity_is_read_from_the_priority_name(priority, severity):
    assert tt.severity(priority) == severity


def test_unknown_status_category_is_new():
    assert tt.status_category("Archived") == "New"
    assert tt.status_category("InProgress") == "InProgress"


def test_marker_lines_are_added_once_and_found_again():
    text = markers.with_line("Customer since 2019", markers.company_marker("42"))
    assert text == "Customer since 2019\nRev.io ID: 42"
    assert markers.with_line(text, markers.company_marker("42")) == text
    assert markers.revio_customer_id(text) == "42"
    assert markers.revio_customer_id("Rev.io ID is unknown") is None
    assert markers.split_note(markers.note_text("hello", "n-1")) == ("hello", "n-1")
    assert markers.split_note("just a note") == ("just a note", None)


def test_company_create_body_carries_the_marker_and_the_inactive_status():
    command = CreateRmmCompany(
        tenant_id="t", revio_customer_id="42", name="Acme", active=False, description="Hi"
    )
    body = vendor_bodies.company_create(command, {"id": "a0", "activeFlag": False})
    assert body == {
        "name": "Acme",
        "description": "Hi\nRev.io ID: 42",
        "activityStatus": {"id": "a0"},
    }


def test_company_patch_replaces_only_what_differs_and_keeps_the_marker():
    ops = vendor_bodies.company_patch(COMPANY, "Acme", "New text", None)
    assert ops == [{"op": "replace", "path": "/description", "value": "New text\nRev.io ID: 42"}]
    assert vendor_bodies.company_patch(COMPANY, "Acme", None, None) == []


def test_site_create_body_has_time_zone_address_and_marker():
    site = RmmSite(id="", company_id="c1", name="Annex", city="Tampa", address_line_1="2 Side St")
    body = vendor_bodies.site_create(site, "77", "(UTC) Coordinated Universal Time", "US")
    assert body["timeZone"] == "(UTC) Coordinated Universal Time"
    assert body["description"] == "Rev.io address ID: 77"
    assert body["primaryAddress"] == {
        "addressLine1": "2 Side St",
        "locality": "Tampa",
        "countryCode": "US",
    }


def test_site_patch_of_an_unchanged_site_is_empty_and_a_new_city_touches_the_address():
    same = translate.site(SITE)
    assert vendor_bodies.site_patch(SITE, same, "US") == []
    moved = same.model_copy(update={"city": "Orlando"})
    (op,) = vendor_bodies.site_patch(SITE, moved, "US")
    assert op["path"] == "/primaryAddress" and op["value"]["locality"] == "Orlando"
    assert op["value"]["country"] == "United States"  # other vendor fields are kept


def test_ticket_create_body_marks_the_revio_ticket_twice():
    command = CreateRmmTicket(
        tenant_id="t", revio_ticket_id="9", company_id="c1", summary="S",
        description="D", board_id="b1", source_id="src",
    )  # fmt: skip
    body = vendor_bodies.ticket_create(command)
    assert body["description"] == "D\nRev.io ticket ID: 9"
    assert body["extendedAttributes"] == [{"name": "revioTicketId", "value": "9"}]
    assert body["serviceBoard"] == {"id": "b1"} and body["company"] == {"id": "c1"}


def test_ticket_patch_sets_a_status_only_when_it_differs():
    closed = {"id": "st-closed", "name": "Closed"}
    assert vendor_bodies.ticket_patch(TICKET, None, None, closed) == []
    new = {"id": "st-new", "name": "New"}
    assert vendor_bodies.ticket_patch(TICKET, "Printer offline", None, new) == [
        {"op": "replace", "path": "/status", "value": new}
    ]


def test_next_link_reads_the_cursor_of_the_next_page_only():
    headers = httpx.Headers(
        {"Link": '</api/x/endpoints?field=os&cursor=500&limit=500>; rel="next"'}
    )
    assert next_link(headers) == {"field": "os", "cursor": "500", "limit": "500"}
    assert next_link(httpx.Headers({"Link": '</x?cursor=0>; rel="prev"'})) is None
    assert next_link(httpx.Headers()) is None


def test_bucket_limits_are_learned_from_the_rate_limits_report():
    limits = BucketLimits(default_calls=35)
    report = {"resources": {"topology": {"partner-topology-clients": {"limit": 500}},
                            "odd": "shape"}}  # fmt: skip
    assert limits.learn(report) == {"partner-topology-clients": 500}
    assert limits.limit_for("partner-topology-clients").calls == 500
    assert limits.limit_for("rate-limit").calls == 35
    assert limits.limit_for("none") is None
    assert BucketLimits(35, enforce=False).limit_for("rate-limit") is None
