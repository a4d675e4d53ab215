"""Optimistic concurrency of `UpdateRevioCustomer` (pure): the connector refuses a write
whose fields changed in Rev.io since the sender read them."""

from revsync.contracts.base import ResultStatus
from revsync.vendor import VendorErrorKind

from services.revio_connector.client.bodies import conflict, held_values, stale_fields

RECORD = {
    "customer_id": 12,
    "service_address": {"address_id": 5, "company_name": "Acme Revio Edit", "line_1": "1 Main St",
                        "city": "Tampa", "postal_code": "33601", "country_code": 235},
    "billing_address": {"address_id": 6, "company_name": "Billing name"},
}  # fmt: skip


def test_held_values_are_read_as_the_watchers_read_them():
    held = held_values(RECORD)
    assert held["name"] == "Acme Revio Edit"
    assert (held["line_1"], held["city"], held["country"], held["line_2"]) == (
        "1 Main St", "Tampa", "US", None,
    )  # fmt: skip


def test_a_field_changed_since_the_sender_read_it_is_stale():
    held = held_values(RECORD)
    stale = stale_fields({"name": "Acme, Inc."}, held, {"name": "Acme RMM Edit"})
    assert stale == [("name", "Acme, Inc.", "Acme Revio Edit")]


def test_a_field_holding_what_was_expected_or_what_is_wanted_is_not_stale():
    held = held_values(RECORD)
    assert stale_fields({"name": "Acme Revio Edit"}, held, {"name": "X"}) == []
    assert stale_fields({"name": "Old"}, held, {"name": "Acme Revio Edit"}) == []
    assert stale_fields({"city": "Tampa", "line_2": None}, held, {"city": "Miami"}) == []
    assert stale_fields({}, held, {"name": "X"}) == []


def test_a_conflict_names_the_field_and_both_values_and_is_not_retried():
    error = conflict("12", [("name", "Acme, Inc.", "Acme Revio Edit")])
    assert error.kind is VendorErrorKind.CONFLICT and not error.transient
    assert error.result_status is ResultStatus.CONFLICT
    assert "name is 'Acme Revio Edit' in Rev.io, expected 'Acme, Inc.'" in str(error)
