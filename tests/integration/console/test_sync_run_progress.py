"""How a sync run's progress is read: the objects revsync created during the run counted
apart from the decided ones, and the writes still waiting, with the answers that drain them
(the reading part of `sync_progress`; the rules over it are unit-tested), and the same phase
in the list of runs as in a run's detail. No sync-run monitor runs in this module: a run
waiting for its writes stays in progress."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from revsync.eventlog import EventStore, NewEvent
from revsync.unit_of_work import UnitOfWork

from services.company.events import RMM_CREATED, RUN_MATCHED, link_stream, run_stream
from services.console.sync_progress import RunProgress, load_progress
from services.console.sync_runs import cancel_run, record_listing, start_run
from services.console.sync_writes import COMMAND_EXECUTED
from tests.integration.console.tenant_rows import add_tenant


async def created_in_rmm(pool: asyncpg.Pool, tenant: str, company_id: str) -> None:
    """The company service's record of an RMM company it created, and its row."""
    event = NewEvent(RMM_CREATED, {"command_id": str(uuid4()), "rmm_company_id": company_id})
    await EventStore(pool).append(tenant, link_stream(f"r-{company_id}"), [event])
    await decided_company(pool, tenant, company_id, "created_in_rmm")


async def decided_company(pool: asyncpg.Pool, tenant: str, company_id: str, rule: str) -> None:
    await pool.execute(
        "INSERT INTO rmm_companies (tenant_id, rmm_company_id, state, rule, last_event, version,"
        " folded, updated_at) VALUES ($1, $2, 'linked', $3, 'RmmCompanyClaimed', 1, '{}', now())",
        tenant,
        company_id,
        rule,
    )


async def answered(pool: asyncpg.Pool, tenant: str, *subjects: str) -> None:
    """A connector's answers to commands of these subjects."""
    for subject in subjects:
        executed = NewEvent(
            COMMAND_EXECUTED, {"subject": f"cmd.{tenant}.{subject}", "status": "ok"}
        )
        await EventStore(pool).append(tenant, f"command:{uuid4()}", [executed])


async def waiting(pool: asyncpg.Pool, tenant: str, window_key: str, n: int) -> None:
    for _ in range(n):
        await pool.execute(
            "INSERT INTO command_window (id, tenant_id, window_key, subject, payload)"
            " VALUES (gen_random_uuid(), $1, $2, 'cmd.x', '')",
            tenant,
            window_key,
        )


async def deciding_run(pool: asyncpg.Pool, tenant: str) -> UUID:
    """A run that listed 3 RMM companies and 2 endpoints, and whose companies were matched."""
    run_id = await start_run(pool, tenant, "alice")
    for system in ("rmm", "revio"):
        async with UnitOfWork(pool, tenant, consumer="test") as uow:
            await record_listing(tenant, uow, uuid4(), run_id, system, "ok", None, {})
    await pool.execute(
        "INSERT INTO sync_run_seen (tenant_id, run_id, kind, seen, total)"
        " VALUES ($1, $2, 'rmm.company', 3, 3), ($1, $2, 'rmm.endpoint:platform', 2, 2)",
        tenant,
        run_id,
    )
    matched = NewEvent(RUN_MATCHED, {"sync_run_id": str(run_id), "rule": "listings_complete"})
    await EventStore(pool).append(tenant, run_stream(run_id), [matched])
    for identifier in ("e1", "e2"):
        await pool.execute(
            "INSERT INTO assets (tenant_id, identifier, endpoint_id, state, last_event, version,"
            " folded, updated_at) VALUES ($1, $2, $2, 'synced', 'AssetRecorded', 1, '{}', now())",
            tenant,
            identifier,
        )
    return run_id


async def read(pool: asyncpg.Pool, tenant: str, run_id: UUID) -> RunProgress:
    async with pool.acquire() as conn:
        progress = await load_progress(conn, tenant, run_id)
    assert progress is not None
    return progress


async def test_companies_created_during_the_run_are_counted_apart_from_the_decided_ones(
    pool: asyncpg.Pool, tenant: str
):
    await created_in_rmm(pool, tenant, "earlier")  # by an earlier run: listed by this one
    run_id = await deciding_run(pool, tenant)
    for company_id in ("c1", "c2"):
        await decided_company(pool, tenant, company_id, "exact_name")
    await created_in_rmm(pool, tenant, "new")  # for a customer no RMM company matched

    progress = await read(pool, tenant, run_id)
    companies = {k.kind: k for k in progress.kinds}["rmm.company"]
    assert (companies.seen, companies.decided, companies.created) == (3, 3, 1)
    assert progress.as_json()["phase"] == "deciding"  # all decided, nothing on its way

    await cancel_run(pool, tenant, run_id, "alice")
    await created_in_rmm(pool, tenant, "after")  # after the run: not its creation
    companies = {k.kind: k for k in (await read(pool, tenant, run_id)).kinds}["rmm.company"]
    assert (companies.decided, companies.created) == (4, 1)
    assert companies.shown_decided == 3


async def company_row(
    pool: asyncpg.Pool, tenant: str, company_id: str, state: str, deleted: bool = False
) -> None:
    await pool.execute(
        "INSERT INTO rmm_companies (tenant_id, rmm_company_id, state, rule, deleted, last_event,"
        " version, folded, updated_at) VALUES ($1, $2, $3, 'some_rule', $4, 'RmmCompanyObserved',"
        " 1, '{}', now())",
        tenant,
        company_id,
        state,
        deleted,
    )


async def link_row(
    pool: asyncpg.Pool,
    tenant: str,
    customer_id: str,
    company_id: str | None,
    deleted: bool = False,
    rmm_deleted: bool = False,
) -> None:
    await pool.execute(
        "INSERT INTO company_links (tenant_id, revio_customer_id, state, rule, rmm_company_id,"
        " deleted, rmm_deleted, last_event, version, folded, updated_at) VALUES ($1, $2,"
        " CASE WHEN $3::text IS NULL THEN 'held' ELSE 'linked' END, 'some_rule', $3, $4, $5,"
        " 'CustomerObserved', 1, '{}', now())",
        tenant,
        customer_id,
        company_id,
        deleted,
        rmm_deleted,
    )


async def test_deleted_objects_are_not_decided_ones(pool: asyncpg.Pool, tenant: str):
    """A customer deleted in Rev.io, an RMM company deleted in RMM (unlinked: its own row
    says so; linked: its link does) and a retired endpoint's asset are in the read models,
    but no listing has them: counted as decided, "all decided" would come true while the
    run's own objects still wait."""
    run_id = await deciding_run(pool, tenant)  # 3 companies listed, 2 endpoints (decided)
    await pool.execute(
        "INSERT INTO sync_run_seen (tenant_id, run_id, kind, seen, total)"
        " VALUES ($1, $2, 'revio.customer', 2, 2)",
        tenant,
        run_id,
    )
    for company_id in ("c1", "c2"):
        await company_row(pool, tenant, company_id, "linked")
    await company_row(pool, tenant, "gone", "unlinked", deleted=True)
    await company_row(pool, tenant, "gone-linked", "linked")  # its row never saw it
    await link_row(pool, tenant, "k1", "c1")
    await link_row(pool, tenant, "k2", "gone-linked", rmm_deleted=True)
    await link_row(pool, tenant, "k3", None, deleted=True)
    await pool.execute(
        "INSERT INTO assets (tenant_id, identifier, endpoint_id, state, last_event, version,"
        " folded, updated_at) VALUES ($1, 'e3', 'e3', 'retired', 'AssetRecorded', 1, '{}', now())",
        tenant,
    )

    progress = await read(pool, tenant, run_id)
    decided = {k.kind: k.decided for k in progress.kinds}
    assert decided == {"revio.customer": 2, "rmm.company": 2, "rmm.endpoint": 2}
    assert not progress.all_decided()  # the third company listed waits

    await company_row(pool, tenant, "c3", "linked")
    assert (await read(pool, tenant, run_id)).all_decided()

    # the linked company seen again: decided once more
    await pool.execute("UPDATE company_links SET rmm_deleted = false WHERE tenant_id = $1", tenant)
    companies = {k.kind: k for k in (await read(pool, tenant, run_id)).kinds}["rmm.company"]
    assert companies.decided == 4


async def test_a_decided_run_is_writing_while_its_commands_wait_with_an_eta_once_answered(
    pool: asyncpg.Pool, tenant: str
):
    await answered(pool, tenant, "rmm.endpoint.set_custom_field")  # before the run
    run_id = await deciding_run(pool, tenant)
    for company_id in ("c1", "c2", "c3"):
        await decided_company(pool, tenant, company_id, "exact_name")
    await waiting(pool, tenant, "asset:rmm.endpoint", 3)
    await waiting(pool, tenant, "company:rmm.site", 1)
    await waiting(pool, tenant, "asset:revio.asset", 2)

    shown = (await read(pool, tenant, run_id)).as_json()
    assert shown["phase"] == "writing"
    assert shown["activity"] == "2 writes to Rev.io waiting, 4 writes to RMM waiting"
    assert shown["writes_waiting"] == {"revio": 2, "rmm": 4}
    assert shown["eta_seconds"] is None  # no answer of the run yet: no rate

    # answers of the run to the kinds waiting (and one to a kind that is not) give the rate
    await answered(pool, tenant, "rmm.endpoint.set_custom_field", "rmm.ticket.update")
    await answered(pool, tenant, "rmm.site.create", "revio.asset.upsert", "revio.asset.upsert")
    progress = await read(pool, tenant, run_id)
    assert {w.system: len(w.answered_at) for w in progress.writes} == {"revio": 2, "rmm": 2}
    # ten seconds after two answers each: one interval in ten seconds, 4 writes to RMM
    later = datetime.now(UTC) + timedelta(seconds=10)
    assert progress.as_json(later)["eta_seconds"] == pytest.approx(40.0, abs=1.0)

    await pool.execute("DELETE FROM command_window WHERE tenant_id = $1", tenant)
    drained = (await read(pool, tenant, run_id)).as_json()
    assert (drained["phase"], drained["activity"], drained["writes_waiting"]) == (
        "deciding",
        None,
        {},
    )


async def test_the_list_shows_a_run_in_progress_in_the_phase_of_its_detail(
    api: httpx.AsyncClient, admin: dict[str, str], pool: asyncpg.Pool, tenant: str
):
    await add_tenant(pool, tenant)
    earlier = await start_run(pool, tenant, "alice")
    await cancel_run(pool, tenant, earlier, "alice")
    run_id = await deciding_run(pool, tenant)
    for company_id in ("c1", "c2", "c3"):
        await decided_company(pool, tenant, company_id, "exact_name")
    await waiting(pool, tenant, "asset:rmm.endpoint", 2)

    async def phases() -> tuple[str, list[tuple[str, str]]]:
        detail = await api.get(f"/api/sync-runs/{run_id}", headers=admin)
        listed = await api.get("/api/sync-runs", headers=admin)
        assert detail.status_code == listed.status_code == 200, (detail.text, listed.text)
        return detail.json()["phase"], [(r["id"], r["phase"]) for r in listed.json()]

    # all decided, the writes still waiting: `writing` in both, though stored as `deciding`
    stored = "SELECT phase FROM sync_runs WHERE tenant_id = $1 AND run_id = $2"
    assert await pool.fetchval(stored, tenant, run_id) == "deciding"
    assert await phases() == ("writing", [(str(run_id), "writing"), (str(earlier), "cancelled")])

    await pool.execute("DELETE FROM command_window WHERE tenant_id = $1", tenant)
    assert await phases() == ("deciding", [(str(run_id), "deciding"), (str(earlier), "cancelled")])
