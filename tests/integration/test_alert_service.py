"""The alert service through its handlers on real NATS JetStream and PostgreSQL: changes and
results published as the connectors would, commands read back from the COMMANDS stream."""

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import AddRevioJournalEntry, CreateRevioTicket, UpdateRevioTicket
from revsync.contracts.rmm import RmmAlert, RmmAlertChanged, RmmEndpoint
from revsync.devservers import DevServers
from revsync.eventlog import EventStore, NewEvent
from revsync.messaging import make_broker, publish
from revsync.projection import replay
from revsync.tenancy import SyncSettings
from revsync.tenant_store import TenantCache, TenantStore
from revsync.unit_of_work import UnitOfWork

from services.alert.app import AlertService, follow_company_links, register
from services.alert.projection import AlertTickets
from services.asset import events as asset_events
from services.asset.projections import Assets
from tests.integration.round_trips import counted_round_trips
from tests.integration.service_harness import (
    FAST,
    Harness,
    link_company,
    publish_again,
    save_tenant,
    settings_reader,
    unique_name,
)

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
SETTINGS = SyncSettings(
    sync_alerts=True,
    min_alert_severity="High",
    auto_close_on_alert_clear=True,
    alert_ticket_type="RMM Alert",
)


def raised(
    tenant: str,
    endpoint: str = "ep-1",
    condition: str = "cpu",
    at: float = 0,
    kind: str = "raised",
    severity: str = "High",
    company: str = "co-1",
    ticket: str | None = None,
    summary: str | None = None,
) -> RmmAlertChanged:
    return RmmAlertChanged(
        tenant_id=tenant,
        kind=kind,  # type: ignore[arg-type]
        alert=RmmAlert(
            ticket_id=ticket or f"rt-{endpoint}-{condition}",
            endpoint_id=endpoint,
            company_id=company,
            condition_id=condition,
            severity=severity,  # type: ignore[arg-type]
            summary=summary or f"{condition} on {endpoint}",
            status_category="Closed" if kind == "cleared" else "New",
            updated_at=T0 + timedelta(seconds=at),
        ),
    )


@pytest.fixture
async def alert_service(
    servers: DevServers, pool: asyncpg.Pool, js: JetStreamContext, tenant: str
) -> AsyncIterator[tuple[Harness, AlertService, str]]:
    await save_tenant(pool, tenant, SETTINGS)
    await link_company(pool, tenant, "cust-1", "co-1")
    name = unique_name("alert")
    service = AlertService(pool, settings_reader(pool), consumer=name)
    broker = make_broker(servers.nats_url)
    register(broker, service, name=name, tenant=tenant, policy=FAST, workers=16)
    harness = Harness(broker, pool, js, tenant)
    yield harness, service, name
    await harness.stop()


async def observe_endpoint(
    pool: asyncpg.Pool, tenant_id: str, endpoint_id: str, hostname: str, identifier: str
) -> None:
    """Record an RMM endpoint the way the asset service does: an `EndpointObserved` decision
    on `asset:<identifier>`, folded into `assets` and `asset_endpoints`."""
    endpoint = RmmEndpoint(
        id=endpoint_id, company_id="co-1", category="platform", hostname=hostname
    )
    event = NewEvent(
        asset_events.OBSERVED,
        {
            "kind": "seen",
            "endpoint": endpoint.model_dump(mode="json"),
            "observed_at": T0.isoformat(),
            "sync_run_id": None,
            "stale": False,
            "superseded": False,
        },
    )
    async with UnitOfWork(pool, tenant_id, consumer="asset", actor="test") as uow:
        await uow.append(asset_events.asset_stream(identifier), [event], projections=[Assets()])


async def drained(harness: Harness, name: str) -> None:
    await harness.drained("CHANGES", [f"{name}-alerts", f"{name}-revio-tickets"])
    await harness.drained("RESULTS", [f"{name}-results"])


async def test_duplicate_and_concurrent_raises_make_one_create_per_condition(alert_service):
    harness, _, name = alert_service
    await harness.start()
    first = raised(harness.tenant_id)
    repeats = [raised(harness.tenant_id, at=i) for i in range(1, 20)]
    await asyncio.gather(
        publish(harness.js, first),
        *(publish_again(harness.js, first) for _ in range(5)),
        *(publish(harness.js, r) for r in repeats),
    )
    await drained(harness, name)

    commands = await harness.commands.drain()
    assert len([c for c in commands if isinstance(c, CreateRevioTicket)]) == 1
    events = await harness.events("alert")
    assert [e.type for e in events].count("AlertTicketRequested") == 1
    assert all(e.type in ("AlertTicketRequested", "AlertRepeated") for e in events)


async def test_create_names_its_issuer_and_a_result_for_another_issuer_is_dropped_unread(
    alert_service,
):
    harness, _, name = alert_service
    await harness.start()
    await publish(harness.js, raised(harness.tenant_id))
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    assert create.issuer == name  # stamped by the unit of work

    # the same command id answered to another service: not looked at, not decided on
    foreign = create.model_copy(update={"issuer": "ticket"})
    await publish(harness.js, Result.of(foreign, ResultStatus.OK, {"ticket_id": "R-9"}))
    await drained(harness, name)
    assert "AlertTicketLinked" not in [e.type for e in await harness.events("alert")]

    answer = Result.of(create, ResultStatus.OK, {"ticket_id": "R-1"})
    assert answer.issuer == name
    await publish(harness.js, answer)
    (linked,) = await harness.wait_for_event("alert", "AlertTicketLinked")
    assert linked.data["revio_ticket_id"] == "R-1"


async def test_repeat_is_a_journal_entry_and_clear_auto_closes(alert_service):
    harness, _, name = alert_service
    await harness.start()
    tenant = harness.tenant_id
    await publish(harness.js, raised(tenant, severity="Critical"))
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    assert (create.customer_id, create.ticket_type) == ("cust-1", "RMM Alert")
    assert create.rmm_ticket_id == "rt-ep-1-cpu"

    await publish(harness.js, Result.of(create, ResultStatus.OK, {"ticket_id": "R-77"}))
    await harness.wait_for_event("alert", "AlertTicketLinked")
    await publish(harness.js, raised(tenant, at=60, kind="updated"))
    (journal,) = await harness.commands.wait_for(AddRevioJournalEntry, 1)
    assert journal.ticket_id == "R-77"
    await publish(harness.js, raised(tenant, at=120, kind="cleared"))
    (close,) = await harness.commands.wait_for(UpdateRevioTicket, 1)
    assert (close.ticket_id, close.custom_status) == ("R-77", "auto-closed")
    # no asset recorded for ep-1 in this tenant: named by its RMM id
    assert "\nEndpoint: ep-1\n" in create.description
    assert close.resolution == (
        "Auto-closed by revsync: the RMM alert cpu on ep-1 cleared at 2025-03-01 02:02:00 UTC."
    )

    await drained(harness, name)
    row = await harness.pool.fetchrow(
        "SELECT state, count, revio_ticket_id FROM alert_tickets WHERE tenant_id = $1", tenant
    )
    assert dict(row) == {"state": "closed", "count": 2, "revio_ticket_id": "R-77"}
    assert len(harness.commands.of(CreateRevioTicket)) == 1
    await assert_replay_rebuilds_the_same_rows(harness.pool, tenant)


async def test_ticket_and_its_auto_close_name_the_hostname_the_asset_service_recorded(
    alert_service,
):
    harness, _, name = alert_service
    await harness.start()
    tenant = harness.tenant_id
    # ep-9 is the asset's current endpoint; ep-8 an endpoint id it had before a reinstall
    await observe_endpoint(harness.pool, tenant, "ep-8", "GRAN-LT-000", identifier="SN-1")
    await observe_endpoint(harness.pool, tenant, "ep-9", "GRAN-LT-001", identifier="SN-1")
    await publish(harness.js, raised(tenant, endpoint="ep-9", summary="Disk C: is 97% full"))
    await publish(
        harness.js, raised(tenant, endpoint="ep-8", condition="mem", summary="Memory above 90%")
    )
    creates = await harness.commands.wait_for(CreateRevioTicket, 2)
    (disk,) = [c for c in creates if c.rmm_ticket_id == "rt-ep-9-cpu"]
    (mem,) = [c for c in creates if c.rmm_ticket_id == "rt-ep-8-mem"]
    assert disk.title == "[High] Disk C: is 97% full on GRAN-LT-001"
    assert "\nEndpoint: GRAN-LT-001 (RMM id ep-9)\n" in disk.description
    assert mem.title == "[High] Memory above 90% on GRAN-LT-001"
    assert "\nEndpoint: GRAN-LT-001 (RMM id ep-8)\n" in mem.description
    requested = await harness.wait_for_event("alert", "AlertTicketRequested", 2)
    assert {e.data["endpoint_hostname"] for e in requested} == {"GRAN-LT-001"}

    await publish(harness.js, Result.of(disk, ResultStatus.OK, {"ticket_id": "R-88"}))
    await harness.wait_for_event("alert", "AlertTicketLinked")
    await publish(harness.js, raised(tenant, endpoint="ep-9", at=90, kind="cleared"))
    (close,) = await harness.commands.wait_for(UpdateRevioTicket, 1)
    assert (close.ticket_id, close.custom_status) == ("R-88", "auto-closed")
    assert close.resolution == (
        "Auto-closed by revsync: the RMM alert cpu on GRAN-LT-001 cleared at"
        " 2025-03-01 02:01:30 UTC."
    )
    await drained(harness, name)
    assert harness.commands.of(AddRevioJournalEntry) == []
    await assert_replay_rebuilds_the_same_rows(harness.pool, tenant)


async def test_burst_of_repeats_gives_at_most_two_journal_entries_and_the_exact_count(
    alert_service,
):
    harness, _, name = alert_service
    await harness.start()
    tenant = harness.tenant_id
    await publish(harness.js, raised(tenant))
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    await publish(harness.js, Result.of(create, ResultStatus.OK, {"ticket_id": "R-5"}))
    await harness.wait_for_event("alert", "AlertTicketLinked")

    # each repeat on its own RMM ticket, so that none is stale whatever the delivery order
    burst = [raised(tenant, at=i, kind="updated", ticket=f"rt-{i}") for i in range(1, 31)]
    await asyncio.gather(*(publish(harness.js, change) for change in burst))
    await drained(harness, name)
    (first,) = await harness.commands.wait_for(AddRevioJournalEntry, 1)
    await publish(harness.js, Result.of(first, ResultStatus.OK))
    _, combined = await harness.commands.wait_for(AddRevioJournalEntry, 2)
    await publish(harness.js, Result.of(combined, ResultStatus.OK))
    await harness.wait_for_event("alert", "AlertJournalWritten", 2)
    await drained(harness, name)

    assert len(harness.commands.of(AddRevioJournalEntry)) == 2
    assert "29 more time(s) since occurrence 2 (now occurrence 31)" in combined.text
    row = await harness.pool.fetchrow(
        "SELECT state, count, fold FROM alert_tickets WHERE tenant_id = $1", tenant
    )
    assert (row["state"], row["count"]) == ("open", 31)
    fold = json.loads(row["fold"]) if isinstance(row["fold"], str) else row["fold"]
    assert (fold["deferred_repeats"], fold["journal_command_id"]) == (0, None)
    await assert_replay_rebuilds_the_same_rows(harness.pool, tenant)


async def assert_replay_rebuilds_the_same_rows(pool: asyncpg.Pool, tenant: str) -> None:
    queries = [
        "SELECT * FROM alert_tickets WHERE tenant_id = $1 ORDER BY alert_key",
        "SELECT * FROM alert_commands WHERE tenant_id = $1 ORDER BY command_id",
    ]
    before = [[dict(r) for r in await pool.fetch(q, tenant)] for q in queries]
    await replay(pool, [AlertTickets()])
    after = [[dict(r) for r in await pool.fetch(q, tenant)] for q in queries]
    changed = [
        (table, key, row_before.get(key), row_after.get(key))
        for table, rows_before, rows_after in zip(queries, before, after, strict=True)
        for row_before, row_after in zip(rows_before, rows_after, strict=False)
        for key in row_before
        if row_before.get(key) != row_after.get(key)
    ]
    changed = [
        (table, key, {k: (a.get(k), b.get(k)) for k in a if a.get(k) != b.get(k)})
        if isinstance(a, dict) and isinstance(b, dict)
        else (table, key, a, b)
        for table, key, a, b in changed
    ]
    assert after == before and before[1], changed


async def test_low_alert_with_minimum_high_sends_nothing_and_records_one_skip(alert_service):
    harness, _, name = alert_service
    await harness.start()
    tenant = harness.tenant_id
    await publish(harness.js, raised(tenant, severity="Low"))
    await publish(harness.js, raised(tenant, severity="Low", kind="seen"))
    await drained(harness, name)

    events = await harness.events("alert")
    assert [e.type for e in events] == ["AlertSkipped"]
    assert {k: events[0].data[k] for k in ("reason", "severity", "minimum")} == {
        "reason": "below_threshold",
        "severity": "Low",
        "minimum": "High",
    }
    assert await harness.commands.drain() == []


async def test_unlinked_alert_is_parked_then_ticketed_when_the_company_links(alert_service):
    harness, service, name = alert_service
    tenant = harness.tenant_id
    follower = follow_company_links(service, EventStore(harness.pool), f"{name}:links")
    await harness.start(follower)
    await publish(harness.js, raised(tenant, company="co-2"))
    (parked,) = await harness.wait_for_event("alert", "AlertParked")
    assert (parked.data["reason"], parked.data["company_id"]) == ("company_not_linked", "co-2")
    await drained(harness, name)
    assert await harness.commands.drain() == []
    state, reason = await harness.pool.fetchrow(
        "SELECT state, reason FROM alert_tickets WHERE tenant_id = $1", tenant
    )
    assert (state, reason) == ("parked", "company_not_linked")

    await link_company(harness.pool, tenant, "cust-2", "co-2")
    (requested,) = await harness.wait_for_event("alert", "AlertTicketRequested")
    assert requested.data["trigger"] == "company_linked"
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    assert create.customer_id == "cust-2"


async def test_cached_settings_are_forgotten_as_soon_as_the_follower_sees_them_change(
    alert_service,
):
    harness, _, name = alert_service
    tenant, store = harness.tenant_id, TenantStore(harness.pool)
    tenants = TenantCache(store, ttl_s=3600.0)  # only the follower can make it read again
    service = AlertService(harness.pool, tenants.settings_for, consumer=f"{name}-cached")
    follower = follow_company_links(
        service, EventStore(harness.pool), f"{name}:cached", tenants=tenants
    )
    await harness.start(follower)
    settings = await tenants.settings_for(tenant)
    assert settings is not None and settings.min_alert_severity == "High"

    async def severity() -> str | None:
        settings = await tenants.settings_for(tenant)
        return settings.min_alert_severity if settings else None

    await save_tenant(
        harness.pool, tenant, SETTINGS.model_copy(update={"min_alert_severity": "Low"})
    )
    await until(severity, "Low")
    await store.set_enabled(tenant, False, actor="test")
    await until(severity, None)


async def until(
    read: Callable[[], Awaitable[object]], wanted: object, within_s: float = 10.0
) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while (got := await read()) != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"still {got!r}, not {wanted!r}"
        await asyncio.sleep(0.05)


async def test_storm_of_500_raises_on_100_conditions_gives_exactly_100_creates(alert_service):
    harness, _, name = alert_service
    await harness.start()
    tenant = harness.tenant_id
    rng = random.Random(11)
    storm = [
        raised(tenant, endpoint=f"ep-{i % 25}", condition=f"cond-{i // 25}", at=rng.random() * 60)
        for i in range(100)
        for _ in range(5)
    ]
    rng.shuffle(storm)
    duplicates = rng.sample(storm, 50)
    await asyncio.gather(
        *(publish(harness.js, change) for change in storm),
        *(publish_again(harness.js, change) for change in duplicates),
    )
    await drained(harness, name)

    creates = [c for c in await harness.commands.drain() if isinstance(c, CreateRevioTicket)]
    assert len(creates) == 100
    assert len({c.source_key for c in creates}) == 100
    rows = await harness.pool.fetchval(
        "SELECT count(*) FROM alert_tickets WHERE tenant_id = $1 AND state = 'requested'", tenant
    )
    assert rows == 100


async def test_same_alert_ids_in_two_tenants_never_share_a_ticket(
    alert_service, pool: asyncpg.Pool, js: JetStreamContext, servers: DevServers
):
    harness, service, name = alert_service
    other = unique_name("t")
    await save_tenant(pool, other, SETTINGS)
    await link_company(pool, other, "cust-1", "co-1")
    register(harness.broker, service, name=f"{name}o", tenant=other, policy=FAST, workers=4)
    await harness.start()
    await publish(js, raised(harness.tenant_id))
    await publish(js, raised(other))
    await harness.commands.wait_for(CreateRevioTicket, 1)
    await harness.drained("CHANGES", [f"{name}o-alerts"])
    for tenant_id in (harness.tenant_id, other):
        events = await EventStore(pool).read_category(tenant_id, "alert")
        assert [e.type for e in events] == ["AlertTicketRequested"]
        assert events[0].tenant_id == tenant_id
    assert len(harness.commands.of(CreateRevioTicket)) == 1


async def test_an_alert_and_its_result_cost_few_database_round_trips(alert_service):
    """A new alert is 9 round trips in the alert service (BEGIN, the claim with the writers'
    and stream's locks, the stream, the placement, the append, the row, the command's row,
    the outbox, COMMIT), and its result 8 (the command's alert, then the same without
    placement and outbox). The stream's row is folded from the stream the unit read, not
    looked up again: they were 10 and 9."""
    harness, service, _ = alert_service
    await harness.start()
    tenant = harness.tenant_id
    await service.on_alert(raised(tenant, endpoint="ep-warm"))  # statements prepared
    with counted_round_trips() as on_alert:
        await service.on_alert(raised(tenant, endpoint="ep-2"))
    creates = await harness.commands.wait_for(CreateRevioTicket, 2)
    (create,) = [c for c in creates if c.rmm_ticket_id == "rt-ep-2-cpu"]
    with counted_round_trips() as on_result:
        await service.on_result(Result.of(create, ResultStatus.OK, {"ticket_id": "R-2"}))

    row = await harness.pool.fetchrow(
        "SELECT state, revio_ticket_id FROM alert_tickets WHERE tenant_id = $1"
        " AND endpoint_id = 'ep-2'",
        tenant,
    )
    assert dict(row) == {"state": "open", "revio_ticket_id": "R-2"}
    assert len(on_alert) <= 9, "\n".join(on_alert)
    assert len(on_result) <= 8, "\n".join(on_result)
    await assert_replay_rebuilds_the_same_rows(harness.pool, tenant)
