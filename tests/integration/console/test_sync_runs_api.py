"""`/api/sync-runs`: a durable server-side job, started once, reporting progress per entity
kind (seen / decided / total) until done, and resuming after a restart without double
counting."""

import asyncio
from uuid import UUID, uuid4

import asyncpg
import httpx
from nats.js import JetStreamContext
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import ListRevioEverything
from revsync.contracts.rmm import (
    ListRmmEverything,
    RmmCompany,
    RmmCompanyChanged,
    RmmEndpoint,
    RmmEndpointChanged,
)
from revsync.devservers import DevServers
from revsync.eventlog import EventStore
from revsync.messaging import publish

from services.console.consumers import ConsoleConsumers, SeenCounter
from services.console.deps import Console
from services.console.sync_progress import load_progress
from tests.integration.console.support import (
    Accounts,
    fake_connectors,
    small_world,
    wait_until,
)
from tests.integration.console.tenant_rows import add_tenant


async def test_starting_a_run_records_it_and_sends_both_listings_once(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    console: Console,
    js: JetStreamContext,
    running: ConsoleConsumers,
):
    tap = await js.pull_subscribe(f"cmd.{configured.tenant}.*.listing.start", stream="COMMANDS")
    answer = await api.post("/api/sync-runs", json={"kind": "initial"}, headers=admin)

    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["phase"] == "listing" and run["kind"] == "initial"
    started = await EventStore(console.pool).read_stream(configured.tenant, f"sync-run:{run['id']}")
    assert [e.type for e in started] == ["SyncRunStarted"]
    assert started[0].metadata["actor"] == f"admin-{configured.tenant}"
    sent = await tap.fetch(10, timeout=3.0)
    try:
        more = await tap.fetch(10, timeout=0.5)
    except TimeoutError:
        more = []
    await tap.unsubscribe()
    subjects = sorted(m.subject.split(".", 2)[2] for m in [*sent, *more])
    assert subjects == ["revio.listing.start", "rmm.listing.start"]
    for message in [*sent, *more]:
        kind = ListRmmEverything if ".rmm." in message.subject else ListRevioEverything
        assert kind.from_bytes(message.data).run_id == UUID(run["id"])

    again = await api.post("/api/sync-runs", headers=admin)
    assert again.status_code == 409
    assert again.json()["sync_run_id"] == run["id"]
    listed = await api.get("/api/sync-runs", headers=admin)
    assert [r["id"] for r in listed.json()] == [run["id"]]


async def test_a_run_reports_progress_until_done(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
    company: None,
):
    connectors = asyncio.create_task(fake_connectors(js, configured.tenant, small_world()))
    run_id = (await api.post("/api/sync-runs", headers=admin)).json()["id"]

    async def done() -> dict | None:
        run = (await api.get(f"/api/sync-runs/{run_id}", headers=admin)).json()
        return run if run["phase"] == "done" else None

    run = await wait_until(done, within_s=30)
    await connectors

    progress = {p["kind"]: p for p in run["progress"]}
    assert progress["rmm.company"] == {
        "kind": "rmm.company",
        "label": "RMM companies",
        "seen": 5,
        "total": 5,
        "decided": 5,
        "created": 0,  # create mode is off
    }
    assert progress["revio.customer"]["seen"] == 5
    assert progress["revio.customer"]["total"] == 5
    assert progress["revio.customer"]["decided"] == 5
    assert run["eta_seconds"] == 0.0 and run["fraction"] == 1.0
    assert run["listings"] == {
        "rmm": {"status": "ok", "reason": None},
        "revio": {"status": "ok", "reason": None},
    }
    assert run["errors"] == []
    started_again = await api.post("/api/sync-runs", json={"kind": "full"}, headers=admin)
    assert started_again.status_code == 201  # the finished run no longer blocks a new one


async def test_a_failed_listing_fails_the_run_and_says_why(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
):
    run_id = (await api.post("/api/sync-runs", headers=admin)).json()["id"]
    command = ListRmmEverything(tenant_id=configured.tenant, run_id=UUID(run_id))
    row = await api.get(f"/api/sync-runs/{run_id}", headers=admin)
    assert row.status_code == 200
    stored = await running.pool.fetchval(
        "SELECT rmm_command_id FROM sync_runs WHERE run_id = $1", UUID(run_id)
    )
    failed = Result(
        tenant_id=configured.tenant,
        system="rmm",
        entity="listing",
        verb="start",
        command_id=stored,
        correlation_id=command.run_id,
        status=ResultStatus.REJECTED,
        reason="unauthorized: token refused",
    )
    await publish(js, failed)

    async def failed_run() -> dict | None:
        run = (await api.get(f"/api/sync-runs/{run_id}", headers=admin)).json()
        return run if run["phase"] == "failed" else None

    run = await wait_until(failed_run)
    assert run["errors"] == [{"system": "rmm", "message": "unauthorized: token refused"}]
    assert run["eta_seconds"] is None


async def test_seen_changes_are_counted_once_even_when_redelivered_or_consumed_again(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
    console: Console,
):
    run_id = UUID((await api.post("/api/sync-runs", headers=admin)).json()["id"])
    change = RmmCompanyChanged(
        tenant_id=configured.tenant,
        kind="seen",
        company=RmmCompany(id="x1", name="Only One"),
        sync_run_id=run_id,
        total=3,
    )
    await publish(js, change)
    # the same message again, past JetStream's duplicate window (as after a connector crash)
    again = {"Nats-Msg-Id": f"{change.message_id}-again"}
    await js.publish(change.subject, change.to_bytes(), headers=again)
    # and a restarted console handling it once more
    from services.console.consumers import count_seen

    await count_seen(console.pool, f"{running.service}-seen", change, "rmm.company")

    async def counted() -> dict | None:
        run = (await api.get(f"/api/sync-runs/{run_id}", headers=admin)).json()
        kinds = {p["kind"]: p for p in run["progress"]}
        return kinds.get("rmm.company")

    found = await wait_until(counted)
    await asyncio.sleep(0.5)
    found = await counted()
    assert found is not None
    assert (found["seen"], found["total"]) == (1, 3)


async def test_seen_changes_are_counted_in_batches_each_once_and_a_failed_batch_fails_each(
    console: Console, configured: Accounts, servers: DevServers
):
    run_id, tenant = uuid4(), configured.tenant
    changes = [
        RmmCompanyChanged(
            tenant_id=tenant,
            kind="seen",
            company=RmmCompany(id=f"c{i}", name=f"Company {i}"),
            sync_run_id=run_id,
            total=100,
        )
        for i in range(100)
    ]
    listed = RmmCompanyChanged(
        tenant_id=tenant, kind="changed", company=RmmCompany(id="z", name="Z")
    )
    counter = SeenCounter(console.pool, f"seen-batches-{run_id}", batch_s=0.05, most=40)
    # every change, ten of them twice (redelivered while the first copy waits in its batch)
    await asyncio.gather(*(counter.count(c, "rmm.company") for c in [*changes, *changes[:10]]))
    await counter.count(listed, "rmm.company")  # not a listing's: not counted
    row = await console.pool.fetchrow(
        "SELECT seen, total FROM sync_run_seen WHERE tenant_id = $1 AND run_id = $2"
        " AND kind = 'rmm.company'",
        tenant,
        run_id,
    )
    assert (row["seen"], row["total"]) == (100, 100)
    inbox = await console.pool.fetchval(
        "SELECT count(*) FROM inbox WHERE tenant_id = $1 AND consumer = $2",
        tenant,
        f"seen-batches-{run_id}",
    )
    assert inbox == 100

    closed = await asyncpg.create_pool(servers.database_url, min_size=0, max_size=1)
    await closed.close()
    failing = SeenCounter(closed, "seen-batches-failing", batch_s=0.05)
    outcomes = await asyncio.gather(
        *(failing.count(c, "rmm.company") for c in changes[:3]), return_exceptions=True
    )
    assert all(isinstance(o, asyncpg.InterfaceError) for o in outcomes), outcomes


async def test_a_run_can_be_abandoned(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    run_id = (await api.post("/api/sync-runs", headers=admin)).json()["id"]

    cancelled = await api.post(f"/api/sync-runs/{run_id}/cancel", headers=admin)
    twice = await api.post(f"/api/sync-runs/{run_id}/cancel", headers=admin)

    assert cancelled.status_code == 200
    assert cancelled.json()["phase"] == "cancelled"
    assert twice.status_code == 409
    assert (await api.post("/api/sync-runs", headers=admin)).status_code == 201


async def test_unknown_runs_and_unknown_tenants_are_told_apart(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    no_run = "/api/sync-runs/00000000-0000-0000-0000-000000000000"
    unknown = await api.post("/api/sync-runs", headers=admin)
    await add_tenant(console.pool, tenant)
    missing = await api.get(no_run, headers=admin)

    assert unknown.status_code == 404
    assert unknown.json()["detail"] == f"tenant {tenant!r} is not known"
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no sync run 00000000-0000-0000-0000-000000000000"


async def test_a_run_of_one_tenant_is_invisible_to_another(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    from tests.integration.console.support import bearer

    run_id = (await api.post("/api/sync-runs", headers=admin)).json()["id"]
    other_tenant = await add_tenant(console.pool, f"{configured.tenant}x")
    other = await bearer(console, f"iso-{configured.tenant}", "admin", other_tenant)
    headers = {"Authorization": f"Bearer {other}"}

    assert (await api.get(f"/api/sync-runs/{run_id}", headers=headers)).status_code == 404
    assert (await api.get("/api/sync-runs", headers=headers)).json() == []


async def test_endpoints_are_totalled_over_their_categories_and_decided_by_their_assets(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
    pool: asyncpg.Pool,
):
    run_id = UUID((await api.post("/api/sync-runs", headers=admin)).json()["id"])
    listed = [("e1", "platform", 2), ("e2", "platform", 2), ("e3", "network", 1)]
    for endpoint_id, category, total in listed:
        endpoint = RmmEndpoint(
            id=endpoint_id, company_id="c1", category=category, hostname=endpoint_id
        )
        await publish(
            js,
            RmmEndpointChanged(
                tenant_id=configured.tenant,
                kind="seen",
                endpoint=endpoint,
                sync_run_id=run_id,
                total=total,
            ),
        )

    async def endpoints() -> dict | None:
        run = (await api.get(f"/api/sync-runs/{run_id}", headers=admin)).json()
        found = {p["kind"]: p for p in run["progress"]}.get("rmm.endpoint")
        return found if found and found["seen"] == 3 else None

    found = await wait_until(endpoints)
    assert (found["seen"], found["total"], found["label"]) == (3, 3, "RMM endpoints")
    # no asset service runs here: none decided yet, which "all decided" must wait for (None
    # would mean a kind no service decides on)
    assert found["decided"] == 0

    # the asset service decides: an endpoint the run listed unchanged has no observation
    # naming the run, so the count comes from the assets; one only observed is not decided
    for identifier, state in (("e1", "pending"), ("e2", "skipped"), ("e3", "observed")):
        await pool.execute(
            "INSERT INTO assets (tenant_id, identifier, endpoint_id, state, last_event, version,"
            " folded, updated_at) VALUES ($1, $2, $2, $3, 'EndpointObserved', 1, '{}', now())",
            configured.tenant,
            identifier,
            state,
        )
    run = (await api.get(f"/api/sync-runs/{run_id}", headers=admin)).json()
    found = {p["kind"]: p for p in run["progress"]}["rmm.endpoint"]
    assert (found["seen"], found["decided"]) == (3, 2)

    # a command of the tenant not answered yet (here: held in its window) keeps it waiting
    async with pool.acquire() as conn:
        assert not (await load_progress(conn, configured.tenant, run_id)).commands_waiting
    await pool.execute(
        "INSERT INTO command_window (id, tenant_id, window_key, subject, payload)"
        " VALUES (gen_random_uuid(), $1, 'asset:revio.asset', 'cmd.x', '')",
        configured.tenant,
    )
    async with pool.acquire() as conn:
        assert (await load_progress(conn, configured.tenant, run_id)).commands_waiting
