"""The asset service's rules (pure): identity, reinstalls, skip/park/upsert/retire, write-back."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import UpsertRevioAsset
from revsync.contracts.rmm import RmmEndpoint, RmmEndpointChanged, SetRmmEndpointCustomField
from revsync.decision import Decision, DecisionContext
from revsync.tenancy import SyncSettings

from services.asset import events as E
from services.asset.decide import (
    REVIO_ASSET_ID_FIELD,
    decide_asset,
    decide_upsert_result,
    decide_write_back_result,
    should_write_back,
)
from services.asset.identity import identifier_for, observe_endpoint, usable_serial
from services.asset.state import AssetState, evolve

TENANT = "t-unit"
T0 = datetime(2025, 6, 1, tzinfo=UTC)
ON = SyncSettings(asset_sync_enabled=True, asset_type="7", endpoint_categories=["platform"])
WRITE = ON.model_copy(update={"write_revio_id_to_rmm": True})


def ctx() -> DecisionContext:
    return DecisionContext(TENANT, T0, uuid4())


def endpoint(endpoint_id: str = "ep-1", **fields: object) -> RmmEndpoint:
    values: dict[str, object] = {
        "category": "platform",
        "hostname": "pc1",
        "os": "Windows 11",
        **fields,
    }
    return RmmEndpoint(id=endpoint_id, company_id="rmm-1", **values)  # type: ignore[arg-type]


def change(item: RmmEndpoint, kind: str = "changed", minutes: int = 0) -> RmmEndpointChanged:
    return RmmEndpointChanged(
        tenant_id=TENANT,
        kind=kind,
        endpoint=item,
        occurred_at=T0 + timedelta(minutes=minutes),  # type: ignore[arg-type]
    )


def apply(asset: AssetState, decision: Decision | tuple) -> AssetState:
    events = decision.events if isinstance(decision, Decision) else decision
    for event in events:
        asset = evolve(asset, event.type, event.data)
    return asset


def observed(item: RmmEndpoint, identifier: str | None = None, **state: object) -> AssetState:
    asset = AssetState(identifier=identifier or identifier_for(item, None), **state)  # type: ignore[arg-type]
    return apply(asset, observe_endpoint(ctx(), asset, change(item)))


def answer(command: UpsertRevioAsset | SetRmmEndpointCustomField, **ids: str) -> Result:
    return Result.of(command, ResultStatus.OK, ids)


def synced(item: RmmEndpoint, settings: SyncSettings = ON, asset_id: str = "A-1") -> AssetState:
    asset = observed(item)
    decision = decide_asset(ctx(), asset, settings, "1001")
    asset = apply(asset, decision)
    return apply(
        asset,
        decide_upsert_result(
            ctx(), asset, answer(decision.commands[0], asset_id=asset_id), settings
        ),
    )


# --- identity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "usable"),
    [("C02XK1JQJG5J", True), ("", False), (None, False), ("To be filled by O.E.M.", False),
     ("0000000000", False), ("Default string", False), ("N/A", False)],
)  # fmt: skip
def test_placeholder_serial_numbers_do_not_identify_a_machine(serial, usable):
    assert (usable_serial(serial) is not None) == usable


def test_an_asset_is_identified_by_serial_else_endpoint_id_and_keeps_its_identifier():
    assert identifier_for(endpoint(serial_number=" SN-1 "), None) == "SN-1"
    assert identifier_for(endpoint(serial_number="0"), None) == "ep-1"
    assert identifier_for(endpoint(serial_number="SN-LATER"), known="ep-1") == "ep-1"


# --- what becomes of an endpoint -------------------------------------------------------------


def test_an_endpoint_of_a_linked_company_becomes_an_asset_of_the_configured_type():
    asset = observed(endpoint(serial_number="SN-1", endpoint_type="Laptop"))
    decision = decide_asset(ctx(), asset, ON, "1001")
    assert decision.event_types == [E.UPSERT_REQUESTED]
    (upsert,) = decision.commands
    assert isinstance(upsert, UpsertRevioAsset)
    assert (upsert.customer_id, upsert.identifier, upsert.asset_type_id, upsert.status) == (
        "1001",
        "SN-1",
        "7",
        "ACTIVE",
    )
    assert upsert.fields == {
        "hostname": "pc1",
        "category": "platform",
        "endpoint_type": "Laptop",
        "os": "Windows 11",
        "serial_number": "SN-1",
        "rmm_endpoint_id": "ep-1",
    }
    assert decision.events[0].data["rule"] == "endpoint_to_asset"
    assert decide_asset(ctx(), apply(asset, decision), ON, "1001").empty  # not twice


def test_an_unselected_category_is_skipped_once_and_says_why():
    asset = observed(endpoint(category="network"))
    decision = decide_asset(ctx(), asset, ON, "1001")
    assert decision.event_types == [E.SKIPPED] and not decision.commands
    data = decision.events[0].data
    assert (data["rule"], data["category"], data["selected_categories"]) == (
        "category_not_selected",
        "network",
        ["platform"],
    )
    assert decide_asset(ctx(), apply(asset, decision), ON, "1001").empty


def test_without_an_asset_type_nothing_is_created():
    settings = ON.model_copy(update={"asset_type": None})
    decision = decide_asset(ctx(), observed(endpoint()), settings, "1001")
    assert decision.events[0].data["rule"] == "asset_type_not_configured"


def test_an_endpoint_of_an_unlinked_company_is_parked_once():
    asset = observed(endpoint())
    decision = decide_asset(ctx(), asset, ON, None)
    assert decision.event_types == [E.PARKED]
    assert decision.events[0].data == {
        "rule": "company_not_linked",
        "endpoint_id": "ep-1",
        "rmm_company_id": "rmm-1",
    }
    parked = apply(asset, decision)
    assert decide_asset(ctx(), parked, ON, None).empty
    assert decide_asset(ctx(), parked, ON, "1001").event_types == [E.UPSERT_REQUESTED]


def test_a_change_updates_the_asset_by_its_id():
    asset = synced(endpoint(serial_number="SN-1"))
    renamed = apply(
        asset,
        observe_endpoint(
            ctx(), asset, change(endpoint(serial_number="SN-1", hostname="pc2"), minutes=1)
        ),
    )
    decision = decide_asset(ctx(), renamed, ON, "1001")
    (upsert,) = decision.commands
    assert upsert.asset_id == "A-1" and upsert.fields["hostname"] == "pc2"  # type: ignore[attr-defined]
    assert decision.events[0].data["rule"] == "endpoint_changed"


def test_a_relinked_company_moves_the_asset_to_the_new_customer():
    decision = decide_asset(ctx(), synced(endpoint()), ON, "2002")
    assert decision.events[0].data["rule"] == "company_relinked"
    assert decision.commands[0].customer_id == "2002"  # type: ignore[attr-defined]


def test_a_deleted_endpoint_retires_its_asset_and_never_deletes_it():
    asset = synced(endpoint(serial_number="SN-1"))
    gone = apply(
        asset, observe_endpoint(ctx(), asset, change(endpoint(serial_number="SN-1"), "deleted", 1))
    )
    decision = decide_asset(ctx(), gone, ON, "1001")
    assert decision.event_types == [E.RETIRE_REQUESTED]
    (retire,) = decision.commands
    assert (retire.asset_id, retire.status) == ("A-1", "RETIRED")  # type: ignore[attr-defined]
    assert decide_asset(ctx(), apply(gone, decision), ON, "1001").empty


def test_a_deleted_endpoint_without_an_asset_changes_nothing_in_revio():
    asset = observed(endpoint())
    gone = apply(asset, observe_endpoint(ctx(), asset, change(endpoint(), "deleted", 1)))
    decision = decide_asset(ctx(), gone, ON, "1001")
    assert decision.event_types == [E.DELETE_IGNORED] and not decision.commands


# --- reinstalls and ordering ------------------------------------------------------------------


def test_a_reinstalled_agent_is_the_same_asset_following_the_new_endpoint():
    asset = synced(endpoint("ep-old", serial_number="SN-1"))
    events = observe_endpoint(
        ctx(), asset, change(endpoint("ep-new", serial_number="SN-1"), minutes=1)
    )
    assert [e.type for e in events] == [E.REPLACED, E.OBSERVED]
    moved = apply(asset, events)
    decision = decide_asset(ctx(), moved, ON, "1001")
    (upsert,) = decision.commands
    assert upsert.asset_id == "A-1" and upsert.fields["rmm_endpoint_id"] == "ep-new"  # type: ignore[attr-defined]
    after = apply(moved, decision)
    # the old endpoint's deletion, and its later changes, are not followed
    deleted = observe_endpoint(
        ctx(), after, change(endpoint("ep-old", serial_number="SN-1"), "deleted", 2)
    )
    assert [e.type for e in deleted] == [E.OBSERVED, E.DELETE_IGNORED]
    assert apply(after, deleted).endpoint.id == "ep-new"  # type: ignore[union-attr]
    assert (
        observe_endpoint(ctx(), after, change(endpoint("ep-old", serial_number="SN-1"), minutes=3))
        == ()
    )


def test_a_reinstalled_endpoint_gets_the_id_written_while_the_old_ones_write_is_unanswered():
    asset = synced(endpoint("ep-old", serial_number="SN-1"), WRITE)
    assert [p.get("endpoint_id") for p in asset.pending.values()] == ["ep-old"]  # in flight
    moved = apply(
        asset,
        observe_endpoint(ctx(), asset, change(endpoint("ep-new", serial_number="SN-1"), minutes=1)),
    )
    decision = decide_asset(ctx(), moved, WRITE, "1001")
    moved = apply(moved, decision)
    (upsert,) = [c for c in decision.commands if isinstance(c, UpsertRevioAsset)]
    result = decide_upsert_result(ctx(), moved, answer(upsert, asset_id="A-1"), WRITE)
    writes = [
        (c.endpoint_id, c.value)
        for c in (*decision.commands, *result.commands)
        if isinstance(c, SetRmmEndpointCustomField)
    ]
    assert writes == [("ep-new", "A-1")], "written once, to the new endpoint"


def test_an_older_observation_of_the_same_endpoint_is_stale_but_not_of_another():
    asset = observed(endpoint(hostname="new"))
    later = apply(
        asset, observe_endpoint(ctx(), asset, change(endpoint(hostname="newer"), minutes=5))
    )
    (stale,) = observe_endpoint(ctx(), later, change(endpoint(hostname="old"), minutes=1))
    assert stale.data["stale"] and apply(later, (stale,)).endpoint.hostname == "newer"  # type: ignore[union-attr]
    other = observe_endpoint(ctx(), later, change(endpoint("ep-2", hostname="x"), minutes=1))
    assert [e.type for e in other] == [E.REPLACED, E.OBSERVED] and not other[1].data["stale"]


# --- write-back -----------------------------------------------------------------------------


def test_write_back_only_when_enabled_and_rmm_holds_something_else():
    assert should_write_back(WRITE, "A-1", None)
    assert not should_write_back(WRITE, "A-1", "A-1")
    assert not should_write_back(ON, "A-1", None)
    assert not should_write_back(WRITE, None, None)


def test_the_asset_id_is_written_back_once_when_the_asset_is_created():
    asset = observed(endpoint())
    decision = decide_asset(ctx(), asset, WRITE, "1001")
    pending = apply(asset, decision)
    result = decide_upsert_result(
        ctx(), pending, answer(decision.commands[0], asset_id="A-9"), WRITE
    )
    assert result.event_types == [E.RECORDED, E.WRITE_BACK_REQUESTED]
    (write,) = result.commands
    assert isinstance(write, SetRmmEndpointCustomField)
    assert (write.endpoint_id, write.field_name, write.value) == (
        "ep-1",
        REVIO_ASSET_ID_FIELD,
        "A-9",
    )
    written = apply(pending, result)
    assert decide_asset(ctx(), written, WRITE, "1001").empty  # no second write
    done = apply(written, decide_write_back_result(ctx(), written, answer(write)))
    assert done.pending == {} and done.state == "synced"


def test_a_sighting_from_before_the_write_back_landed_asks_for_no_second_write():
    asset = observed(endpoint())
    decision = decide_asset(ctx(), asset, WRITE, "1001")
    pending = apply(asset, decision)
    result = decide_upsert_result(
        ctx(), pending, answer(decision.commands[0], asset_id="A-9"), WRITE
    )
    requested = apply(pending, result)
    (write,) = result.commands
    # the connector reports the endpoint again, read before the write ran: the field is
    # still empty, which is not news
    assert observe_endpoint(ctx(), requested, change(endpoint(), minutes=1)) == ()
    renamed = apply(
        requested, observe_endpoint(ctx(), requested, change(endpoint(os="W12"), minutes=1))
    )
    assert renamed.endpoint is not None and renamed.endpoint.revio_asset_id == "A-9"
    assert E.WRITE_BACK_REQUESTED not in decide_asset(ctx(), renamed, WRITE, "1001").event_types
    landed = answer(write).model_copy(update={"occurred_at": T0 + timedelta(minutes=5)})
    done = apply(renamed, decide_write_back_result(ctx(), renamed, landed))
    assert done.pending == {}
    assert done.written == {
        "endpoint_id": "ep-1",
        "value": "A-9",
        "at": landed.occurred_at.isoformat(),
    }
    # read before the write landed (minute 3), seen after its result: still not news
    assert observe_endpoint(ctx(), done, change(endpoint(os="W12"), minutes=3)) == ()
    # read after it landed and empty (someone cleared the field): written again
    cleared = apply(done, observe_endpoint(ctx(), done, change(endpoint(os="W12"), minutes=6)))
    assert cleared.endpoint is not None and cleared.endpoint.revio_asset_id is None
    assert E.WRITE_BACK_REQUESTED in decide_asset(ctx(), cleared, WRITE, "1001").event_types


def test_with_write_back_off_the_log_says_why_no_id_was_written():
    asset = observed(endpoint())
    decision = decide_asset(ctx(), asset, ON, "1001")
    result = decide_upsert_result(
        ctx(), apply(asset, decision), answer(decision.commands[0], asset_id="A-9"), ON
    )
    assert result.event_types == [E.RECORDED, E.WRITE_BACK_SKIPPED]
    assert result.events[1].data["rule"] == "write_revio_id_to_rmm_off"


def test_a_failed_write_back_is_tried_again_on_the_next_change():
    asset = synced(endpoint(), WRITE)
    (command_id,) = [k for k, p in asset.pending.items() if p["verb"] == E.WRITE_BACK_VERB]
    failed = Result(
        tenant_id=TENANT, system="rmm", entity="endpoint", verb="set_custom_field",
        command_id=command_id, status=ResultStatus.REJECTED, reason="no",
    )  # fmt: skip
    reverted = apply(asset, decide_write_back_result(ctx(), asset, failed))
    assert reverted.endpoint.revio_asset_id is None  # type: ignore[union-attr]
    assert decide_asset(ctx(), reverted, WRITE, "1001").event_types == [E.WRITE_BACK_REQUESTED]


def test_a_failed_upsert_is_retried_on_the_next_change():
    asset = observed(endpoint())
    decision = decide_asset(ctx(), asset, ON, "1001")
    pending = apply(asset, decision)
    refused = Result.of(decision.commands[0], ResultStatus.REJECTED, reason="bad type")
    failed = apply(pending, decide_upsert_result(ctx(), pending, refused, ON))
    assert failed.state == "failed"
    retry = decide_asset(ctx(), failed, ON, "1001")
    assert retry.events[0].data["rule"] == "retry_after_failure"


def two_upserts_in_flight() -> tuple[AssetState, Decision, Decision]:
    """An endpoint upserted, then renamed (pc9) before the first upsert's result came back."""
    asset = observed(endpoint())
    first = decide_asset(ctx(), asset, ON, "1001")
    asset = apply(asset, first)
    asset = apply(
        asset, observe_endpoint(ctx(), asset, change(endpoint(hostname="pc9"), minutes=1))
    )
    second = decide_asset(ctx(), asset, ON, "1001")
    asset = apply(asset, second)
    return asset, first, second


def test_an_older_upsert_applied_after_a_newer_one_is_followed_by_the_newer_one_again():
    asset, first, second = two_upserts_in_flight()
    newer = decide_upsert_result(ctx(), asset, answer(second.commands[0], asset_id="A-1"), ON)
    assert newer.event_types == [E.RECORDED, E.WRITE_BACK_SKIPPED]
    asset = apply(asset, newer)
    applied_first = answer(first.commands[0], asset_id="A-1").model_copy(update={"occurred_at": T0})
    assert decide_upsert_result(ctx(), asset, applied_first, ON).event_types == [E.RECORDED]
    older = decide_upsert_result(ctx(), asset, answer(first.commands[0], asset_id="A-1"), ON)
    assert older.event_types == [E.RECORDED, E.UPSERT_REQUESTED]
    (again,) = older.commands
    assert again.fields["hostname"] == "pc9" and again.asset_id == "A-1"  # type: ignore[attr-defined]
    assert older.events[1].data["rule"] == "older_write_landed_last"


def test_the_newest_upserts_result_after_an_older_one_that_landed_last_sends_the_newest_again():
    asset, first, second = two_upserts_in_flight()
    applied_last = answer(first.commands[0], asset_id="A-1")
    older = decide_upsert_result(ctx(), asset, applied_last, ON)
    assert E.UPSERT_REQUESTED not in older.event_types  # nothing newer has landed yet
    asset = apply(asset, older)
    landed_first = answer(second.commands[0], asset_id="A-1").model_copy(
        update={"occurred_at": applied_last.occurred_at - timedelta(seconds=1)}
    )
    newest = decide_upsert_result(ctx(), asset, landed_first, ON)
    assert newest.event_types[:2] == [E.RECORDED, E.UPSERT_REQUESTED]
    (again,) = newest.commands
    assert again.fields["hostname"] == "pc9"  # type: ignore[attr-defined]
    assert newest.events[1].data["rule"] == "older_write_landed_last"
    landed_after = landed_first.model_copy(
        update={"occurred_at": applied_last.occurred_at + timedelta(seconds=1)}
    )
    in_order = decide_upsert_result(ctx(), asset, landed_after, ON)
    assert E.UPSERT_REQUESTED not in in_order.event_types
