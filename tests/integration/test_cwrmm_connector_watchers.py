"""RMM watchers against the sandbox, with real NATS and PostgreSQL: a change surfaces as
exactly one change event, nothing unchanged is reported, the connector's own writes do not
echo, alerts are raised/updated/cleared, reconciliation finds deletions and missed updates,
sync-run listings carry totals, and replicas never poll the same resource together."""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from uuid import uuid4

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.connector import Watermarks
from revsync.contracts.rmm import (
    AddRmmTicketNote,
    CloseRmmTicket,
    CreateRmmSite,
    ListRmmEverything,
    RmmAlertChanged,
    RmmCompanyChanged,
    RmmEndpointChanged,
    RmmSite,
    RmmTicketChanged,
    SetRmmEndpointCustomField,
    UpdateRmmCompany,
)
from revsync.tenant_store import TenantStore

from services.cwrmm_connector import polls
from services.cwrmm_connector.observe import UNTRANSLATABLE
from services.cwrmm_connector.supervisor import Supervisor
from services.sandbox.common import clock
from services.sandbox.common.clock import FakeClock
from services.sandbox.common.faults import FaultRule
from services.sandbox.cwrmm import alert_model, ticket_model
from tests.integration.cwrmm_connector_support import (
    Connector,
    RmmTenant,
    Sandbox,
    changes,
    make_connector,
    make_tenant,
    rmm_sandbox_fixture,  # noqa: F401
)
from tests.integration.round_trips import counted_round_trips

HUMAN = {"id": "someone"}


@pytest.fixture(autouse=True)
def no_faults_left(rmm_sandbox: Sandbox) -> Iterator[None]:
    yield
    rmm_sandbox.control.faults.clear()


async def poll_all(connector: Connector, rounds: int = 1) -> None:
    handle = await connector.handle()
    for _ in range(rounds):
        await polls.companies(handle)
        await polls.endpoints(handle)
        await polls.tickets(handle, "Alert")


async def started(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
    **rules: object,
) -> tuple[RmmTenant, Connector, int]:
    """A tenant, its connector, and the number of change events of its first full poll."""
    rmm = await make_tenant(pool, rmm_sandbox, tenant, **rules)
    connector = await make_connector(pool, js, tenant)
    await poll_all(connector)
    return rmm, connector, len(await changes(js, tenant, wait_s=0.2))


def alert_item(rmm: RmmTenant, condition: str, summary: str) -> dict:
    """A High alert on the tenant's first endpoint, as `POST /v2/alerts` takes it."""
    record = next(iter(rmm.store.endpoints.values()))
    return {
        "company_id": record["companyID"],
        "site_id": record["siteID"],
        "endpoint_id": record["document"]["endpointID"],
        "condition_id": condition,
        "alertDetails": {"severity": "High", "summary": summary},
    }


def manual_ticket(rmm: RmmTenant) -> dict:
    return next(t for t in rmm.store.tickets.values() if t["source"]["name"] != "Alert")


async def test_first_poll_reports_everything_once(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, _, first = await started(pool, js, tenant, rmm_sandbox)
    kinds = Counter((type(c).__name__, c.kind) for c in await changes(js, tenant))
    assert kinds[("RmmCompanyChanged", "changed")] == len(rmm.store.companies)
    assert kinds[("RmmEndpointChanged", "changed")] == len(rmm.store.endpoints)
    alerts = sum(n for (name, _), n in kinds.items() if name == "RmmAlertChanged")
    tickets = kinds[("RmmTicketChanged", "changed")]
    assert alerts + tickets == len(rmm.store.tickets) and first == sum(kinds.values())


async def test_unchanged_objects_produce_no_change_events_over_several_polls(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    notes_read = rmm.calls().get("GET /api/platform/v1/service/ticketing/tickets/{id}/notes", 0)

    await poll_all(connector, rounds=3)

    assert len(await changes(js, tenant, wait_s=0.2)) == first
    notes_now = rmm.calls().get("GET /api/platform/v1/service/ticketing/tickets/{id}/notes", 0)
    assert notes_now == notes_read, "notes are read only for tickets that changed"


async def test_a_change_in_rmm_surfaces_as_exactly_one_change_event(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    company = next(iter(rmm.store.companies.values()))
    company["name"] = "Renamed By A Technician"
    ticket = manual_ticket(rmm)
    operations = [{"op": "replace", "path": "/summary", "value": "Edited in RMM"}]
    ticket_model.patch_ticket(rmm.store, ticket, operations, HUMAN)

    await poll_all(connector, rounds=3)

    new = (await changes(js, tenant))[first:]
    assert [(type(c), c.kind) for c in new if isinstance(c, RmmCompanyChanged)] == [
        (RmmCompanyChanged, "changed")
    ]
    assert [c.company.name for c in new if isinstance(c, RmmCompanyChanged)] == [
        "Renamed By A Technician"
    ]
    assert [c.ticket.summary for c in new if isinstance(c, RmmTicketChanged)] == ["Edited in RMM"]
    assert len(new) == 2


async def test_the_connectors_own_writes_are_not_reported_back(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    handlers = connector.handlers()
    company_id = next(iter(rmm.store.companies))
    endpoint_id = next(iter(rmm.store.endpoints))
    ticket_id = manual_ticket(rmm)["id"]
    site = RmmSite(id="", company_id=company_id, name="Warehouse", city="Tampa")
    for command in [
        UpdateRmmCompany(tenant_id=tenant, company_id=company_id, name="Renamed By Revsync"),
        CreateRmmSite(tenant_id=tenant, company_id=company_id, revio_address_id="a1", site=site),
        SetRmmEndpointCustomField(
            tenant_id=tenant, endpoint_id=endpoint_id, field_name="Rev.io asset", value="77"
        ),
        AddRmmTicketNote(tenant_id=tenant, ticket_id=ticket_id, text="Synced", source_note_id="n1"),
        CloseRmmTicket(tenant_id=tenant, ticket_id=ticket_id),
    ]:
        await handlers.handle(command)

    await poll_all(connector, rounds=2)

    assert rmm.store.companies[company_id]["name"] == "Renamed By Revsync"
    assert len(await changes(js, tenant, wait_s=0.2)) == first, "an own write echoed back"
    outcomes = await pool.fetch("SELECT status FROM command_outcomes WHERE tenant_id = $1", tenant)
    assert [row["status"] for row in outcomes] == ["ok"] * 5


async def test_notes_written_by_revsync_are_flagged_and_people_s_notes_are_not(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    ticket = manual_ticket(rmm)
    note = AddRmmTicketNote(
        tenant_id=tenant, ticket_id=ticket["id"], text="From Rev.io", source_note_id="rn-1"
    )
    await connector.handlers().handle(note)
    person = {
        "id": "n-person",
        "ticketId": ticket["id"],
        "detail": "Called the customer",
        "visibility": 1,
        "createdAt": "2099-01-01T00:00:00Z",
        "createdBy": "tech",
    }
    rmm.store.notes[ticket["id"]].append(person)
    ticket_model.touch(ticket, HUMAN)

    await poll_all(connector)

    (change,) = [c for c in (await changes(js, tenant))[first:] if isinstance(c, RmmTicketChanged)]
    assert [(n.text, n.written_by_revsync) for n in change.ticket.notes] == [
        ("From Rev.io", True),
        ("Called the customer", False),
    ]


async def test_alerts_are_raised_updated_and_cleared(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    item = alert_item(rmm, "cpu-high", "CPU above 95%")
    handle = await connector.handle()
    seen: list[RmmAlertChanged] = []

    async def step() -> None:
        await polls.tickets(handle, "Alert")
        await polls.tickets(handle, "Alert")  # a second poll reports nothing more
        seen[:] = [c for c in (await changes(js, tenant))[first:] if isinstance(c, RmmAlertChanged)]

    alert_model.raise_alert(rmm.store, item)
    with counted_round_trips() as trips:  # the poll that finds the alert raised
        await polls.tickets(handle, "Alert")
    await step()
    worse = {"severity": "Critical", "summary": "CPU at 100%"}
    alert_model.raise_alert(rmm.store, {**item, "alertDetails": worse})
    await step()
    alert_model.clear_alert(rmm.store, item)
    await step()

    assert [(c.kind, c.alert.severity, c.alert.status_category) for c in seen] == [
        ("raised", "High", "New"),
        ("updated", "Critical", "New"),
        ("cleared", "Critical", "Closed"),
    ]
    assert {(c.alert.condition_id, c.alert.endpoint_id) for c in seen} == {
        ("cpu-high", item["endpoint_id"])
    }
    assert len({c.alert.alert_id for c in seen}) == 1
    # one read of the hashes of the tickets' notes and one of the alerts', none for an empty
    # kind (no manual ticket changed); their recorded hashes and the new watermark, one write
    # each: six round trips with the watermark's read and the rate limiter's slot
    hash_reads = [t for t in trips if t.startswith("SELECT object_id, hash FROM object_hashes")]
    assert len(hash_reads) == 2 and len(trips) == 6, "\n".join(trips)


async def test_an_alert_raised_again_within_the_same_timestamp_is_reported_again(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    """The same alert raised twice with the same details and the same `updatedAt` (the RMM
    stamps to the millisecond; here its clock stands still) is two observations: the ticket's
    `version` moved, so the second is reported as `updated`, not taken for the first."""
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    item = alert_item(rmm, "disk-full", "Disk C: is 97% full")
    handle = await connector.handle()
    clock.set_source(FakeClock(time.time()))
    try:
        alert_model.raise_alert(rmm.store, item)
        await polls.tickets(handle, "Alert")
        alert_model.raise_alert(rmm.store, item)
        await polls.tickets(handle, "Alert")
        await polls.tickets(handle, "Alert")  # and nothing more
    finally:
        clock.reset()

    seen = [c for c in (await changes(js, tenant))[first:] if isinstance(c, RmmAlertChanged)]
    assert [(c.kind, c.alert.version) for c in seen] == [("raised", 1), ("updated", 2)]
    assert seen[0].alert.updated_at == seen[1].alert.updated_at


async def test_reconciliation_reports_deletions_and_what_polling_missed(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    gone = next(i for i, r in rmm.store.endpoints.items() if r["category"] == "network")
    rmm.store.remove_endpoint(gone)
    ticket = manual_ticket(rmm)
    ticket["summary"] = "Changed without moving updatedAt"  # invisible to the watermark
    ticket["version"] += 1
    await polls.tickets(await connector.handle(), "Alert")
    assert len(await changes(js, tenant, wait_s=0.2)) == first

    assert await connector.watcher().run_if_due("reconcile", force=True)

    new = (await changes(js, tenant))[first:]
    deleted = [c for c in new if isinstance(c, RmmEndpointChanged)]
    assert [(c.kind, c.endpoint.id, c.endpoint.category) for c in deleted] == [
        ("deleted", gone, "network")
    ]
    assert [c.ticket.summary for c in new if isinstance(c, RmmTicketChanged)] == [
        "Changed without moving updatedAt"
    ]
    await poll_all(connector)
    assert len(await changes(js, tenant, wait_s=0.2)) == first + 2


async def test_a_sync_run_listing_emits_seen_for_everything_with_totals(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    run_id = uuid4()
    await connector.handlers().handle(ListRmmEverything(tenant_id=tenant, run_id=run_id))

    assert await connector.watcher().run_if_due("listings")
    assert not await connector.watcher().run_if_due("listings"), "a listing runs once"

    seen = [c for c in (await changes(js, tenant))[first:] if c.kind == "seen"]
    assert {c.sync_run_id for c in seen} == {run_id}
    by_type = Counter(type(c).__name__ for c in seen)
    totals = {(type(c).__name__, c.total) for c in seen}
    companies, endpoints = len(rmm.store.companies), len(rmm.store.endpoints)
    assert by_type["RmmCompanyChanged"] == companies
    assert ("RmmCompanyChanged", companies) in totals
    assert by_type["RmmEndpointChanged"] == endpoints
    assert by_type["RmmTicketChanged"] + by_type["RmmAlertChanged"] == len(rmm.store.tickets)
    listing = rmm.calls()
    assert listing["GET /api/platform/v1/company/companies"] == 2  # first poll + listing


async def test_two_replicas_never_poll_the_same_resource_together(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    connector = await make_connector(pool, js, tenant)
    rmm_sandbox.control.faults.replace(
        [FaultRule(path_prefix="/api/platform/v1/company/companies", latency_ms=300)]
    )
    replicas = [connector.watcher("replica-a"), connector.watcher("replica-b")]

    ran = await asyncio.gather(*(r.run_if_due("companies") for r in replicas))
    again = await asyncio.gather(*(r.run_if_due("companies") for r in replicas))

    assert sorted(ran) == [False, True] and again == [False, False]
    assert rmm.calls()["GET /api/platform/v1/company/companies"] == 1


async def test_a_watcher_asks_the_database_whether_a_poll_is_due_only_once_it_may_be(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    connector = await make_connector(pool, js, tenant, rmm_company_poll_interval_s=1.0)
    watcher, other = connector.watcher("replica-a"), connector.watcher("replica-b")
    assert await watcher.run_if_due("companies")

    with counted_round_trips() as trips:
        ticks = [await watcher.run_if_due("companies") for _ in range(5)]
    # the other replica has not polled: it reads the shared mark, which says not due
    assert not await other.run_if_due("companies")
    await asyncio.sleep(1.1)
    again = await other.run_if_due("companies"), await watcher.run_if_due("companies")

    assert ticks == [False] * 5
    assert [t for t in trips if "watermarks" in t] == [], trips
    assert again == (True, False), "the other replica polls; the first then reads its mark"
    assert rmm.calls()["GET /api/platform/v1/company/companies"] == 2


async def test_a_failing_poll_is_logged_and_tried_again_without_ending_the_watcher(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant, asset_sync_enabled=False,
                            sync_alerts=False, sync_manual_tickets=False)  # fmt: skip
    rule = FaultRule(path_prefix="/api/platform/v1/company/sites", malformed_json_rate=1.0)
    rmm_sandbox.control.faults.replace([rule])
    connector = await make_connector(pool, js, tenant, rmm_company_poll_interval_s=0.2)
    running = asyncio.create_task(connector.watcher().run())
    try:
        await asyncio.sleep(1.0)
        assert await changes(js, tenant, wait_s=0.1) == []
        rmm_sandbox.control.faults.clear()
        for _ in range(60):
            if len(await changes(js, tenant, wait_s=0.05)) == len(rmm.store.companies):
                break
            await asyncio.sleep(0.1)
        assert not running.done()
    finally:
        running.cancel()
    assert len(await changes(js, tenant, wait_s=0.1)) == len(rmm.store.companies)
    assert "POST /api/platform/v2/device/categories/{category}/endpoints" not in rmm.calls()


async def test_watermarks_and_hashes_survive_a_restart(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    _, _, first = await started(pool, js, tenant, rmm_sandbox)
    assert await Watermarks(pool, tenant, "rmm").get(polls.TICKET_WATERMARK) is not None

    restarted = await make_connector(pool, js, tenant)
    await poll_all(restarted)

    assert len(await changes(js, tenant, wait_s=0.2)) == first


async def test_new_tenants_are_watched_and_disabled_ones_no_longer(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    await make_tenant(pool, rmm_sandbox, tenant)
    connector = await make_connector(pool, js, tenant)
    supervisor = Supervisor(connector.registry, connector.settings)
    await supervisor.refresh()
    assert set(supervisor.tasks) == {tenant}

    store = TenantStore(pool)
    disabled = (await store.load(tenant)).model_copy(update={"enabled": False})
    await store.save(disabled, actor="test")
    await supervisor.refresh()

    assert supervisor.tasks == {}


async def test_companies_carry_their_external_ids_and_malformed_id_mappings_are_skipped(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm_sandbox: Sandbox
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    reported = {
        c.company.id: c.company
        for c in await changes(js, tenant)
        if isinstance(c, RmmCompanyChanged)
    }
    stamped = {
        company_id: (doc["externalIds"][0]["externalId"],)
        for company_id, doc in rmm.store.companies.items()
        if doc["externalIds"]
    }
    assert stamped  # the seeded near-duplicate carries its Rev.io customer id
    assert {company_id: reported[company_id].external_ids for company_id in stamped} == stamped

    company_id, company = next((i, d) for i, d in rmm.store.companies.items() if i not in stamped)
    good = {"id": "m1", "companyId": company_id, "externalId": "PSA-9", "productId": "psa"}
    company["externalIds"] = ["garbage", {"externalId": None}, good]
    await poll_all(connector)
    (change,) = (await changes(js, tenant))[first:]
    assert isinstance(change, RmmCompanyChanged) and change.company.id == company_id
    assert change.company.external_ids == ("PSA-9",)


async def test_an_untranslatable_object_is_skipped_logged_and_not_taken_for_deleted(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm_sandbox: Sandbox
):
    rmm, connector, first = await started(pool, js, tenant, rmm_sandbox)
    endpoint_id, record = next(iter(rmm.store.endpoints.items()))
    kept = {key: record["document"].pop(key) for key in ("deviceName", "friendlyName")}
    skipped = UNTRANSLATABLE.labels(tenant, "endpoint")

    await polls.endpoints(await connector.handle())
    assert skipped._value.get() == 1
    assert len(await changes(js, tenant, wait_s=0.2)) == first, "nothing reported, not deleted"

    record["document"].update(kept, deviceName="FIXED-NAME")
    await polls.endpoints(await connector.handle())
    (fixed,) = (await changes(js, tenant))[first:]
    assert isinstance(fixed, RmmEndpointChanged) and fixed.kind == "changed"
    assert (fixed.endpoint.id, fixed.endpoint.hostname) == (endpoint_id, "FIXED-NAME")


async def test_two_tenants_with_the_same_ids_never_see_each_others_changes(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm_sandbox: Sandbox
):
    other = f"{tenant}b"
    mine, my_connector, my_first = await started(pool, js, tenant, rmm_sandbox)
    theirs, their_connector, their_first = await started(pool, js, other, rmm_sandbox)
    assert set(mine.store.companies) == set(theirs.store.companies)  # same seed, same ids
    company_id = next(iter(mine.store.companies))
    mine.store.companies[company_id]["name"] = "Only In Mine"

    await poll_all(their_connector)
    await poll_all(my_connector)

    assert len(await changes(js, other, wait_s=0.2)) == their_first
    (change,) = (await changes(js, tenant))[my_first:]
    assert isinstance(change, RmmCompanyChanged) and change.company.id == company_id
    assert theirs.store.companies[company_id]["name"] != "Only In Mine"
