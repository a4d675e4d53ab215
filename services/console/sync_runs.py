"""Sync runs: a durable, server-side job per tenant, recorded on a `sync-run:<id>` stream.

- Starting a run is one unit of work: `SyncRunStarted` + the `ListRmmEverything` and
  `ListRevioEverything` commands in the outbox, so the start is durable and never sent twice.
  At most one run per tenant is in progress (a unique index on the projection refuses a
  second start in the same transaction).
- Each connector answers its listing command with a result; the console records it as
  `SyncRunListingFinished` (the run moves to `deciding` when both listed, to `failed` when one
  could not). The console's monitor then appends `SyncRunCompleted` (see sync_progress.py).
- `SyncRunCancelled` abandons a run (e.g. a connector that is not running).

Events: SyncRunStarted{run_id, kind, rmm_command_id, revio_command_id, started_by},
SyncRunListingFinished{run_id, system, status, reason, external_ids},
SyncRunCompleted{run_id, counts, rule}, SyncRunCancelled{run_id, reason}.
"""

from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
from revsync.contracts.revio import ListRevioEverything
from revsync.contracts.rmm import ListRmmEverything
from revsync.db import Conn
from revsync.eventlog import NO_STREAM, NewEvent, RecordedEvent
from revsync.projection import Projection
from revsync.unit_of_work import UnitOfWork

CATEGORY = "sync-run"
ACTIVE_PHASES = ("listing", "deciding")
SYSTEMS = ("rmm", "revio")
RunKind = Literal["initial", "full"]


def stream_of(run_id: UUID | str) -> str:
    return f"{CATEGORY}:{run_id}"


class RunAlreadyActive(Exception):
    def __init__(self, run_id: UUID) -> None:
        super().__init__(f"sync run {run_id} is still in progress")
        self.run_id = run_id


class SyncRunsProjection(Projection):
    name = "sync-runs"
    tables = ("sync_runs",)
    categories = (CATEGORY,)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        data, tenant, at = event.data, event.tenant_id, event.recorded_at
        run_id = UUID(data["run_id"])
        if event.type == "SyncRunStarted":
            await conn.execute(
                "INSERT INTO sync_runs (tenant_id, run_id, version, kind, phase, started_at,"
                " started_by, rmm_command_id, revio_command_id, updated_at)"
                " VALUES ($1, $2, $3, $4, 'listing', $5, $6, $7, $8, $5)"
                " ON CONFLICT (tenant_id, run_id) DO NOTHING",
                tenant,
                run_id,
                event.version,
                data.get("kind", "initial"),
                at,
                data.get("started_by", "system"),
                UUID(data["rmm_command_id"]),
                UUID(data["revio_command_id"]),
            )
            return
        await self._update(conn, event, run_id)

    async def _update(self, conn: Conn, event: RecordedEvent, run_id: UUID) -> None:
        data = event.data
        sets, args = ["version = $3", "updated_at = $4"], [event.version, event.recorded_at]
        if event.type == "SyncRunListingFinished":
            listing = {data["system"]: {"status": data["status"], "reason": data.get("reason")}}
            args.append(listing)
            sets.append(f"listings = listings || ${len(args) + 2}::jsonb")
            if data["status"] != "ok":
                error = [{"system": data["system"], "message": data.get("reason") or "failed"}]
                args.append(error)
                sets.append(f"errors = errors || ${len(args) + 2}::jsonb")
                sets.append(
                    "phase = CASE WHEN phase IN ('listing', 'deciding') THEN 'failed' ELSE phase"
                    " END, finished_at = CASE WHEN phase IN ('listing', 'deciding') THEN $4"
                    " ELSE finished_at END"
                )
            else:
                sets.append(
                    "phase = CASE WHEN phase = 'listing' AND (listings || $5::jsonb)"
                    " ?& array['rmm', 'revio'] AND NOT EXISTS (SELECT 1 FROM"
                    " jsonb_each(listings || $5::jsonb) l WHERE l.value ->> 'status' <> 'ok')"
                    " THEN 'deciding' ELSE phase END"
                )
        elif event.type == "SyncRunCompleted":
            args.append(data.get("counts"))
            sets.append(f"counts = ${len(args) + 2}::jsonb, phase = 'done', finished_at = $4")
        elif event.type == "SyncRunCancelled":
            args.append(data.get("reason") or "cancelled")
            sets.append(
                "phase = 'cancelled', finished_at = $4, errors = errors ||"
                f" jsonb_build_array(jsonb_build_object('message', ${len(args) + 2}::text))"
            )
        else:
            return
        await conn.execute(
            f"UPDATE sync_runs SET {', '.join(sets)}"
            " WHERE tenant_id = $1 AND run_id = $2 AND version < $3",
            event.tenant_id,
            run_id,
            *args,
        )


PROJECTION = SyncRunsProjection()


async def active_run(conn: Any, tenant_id: str) -> UUID | None:
    value = await conn.fetchval(
        "SELECT run_id FROM sync_runs WHERE tenant_id = $1 AND phase = ANY($2::text[])",
        tenant_id,
        list(ACTIVE_PHASES),
    )
    return value if value is None else UUID(str(value))


async def start_run(
    pool: asyncpg.Pool, tenant_id: str, actor: str, kind: RunKind = "initial"
) -> UUID:
    """Record the start and send both listing commands, in one transaction."""
    run_id = uuid4()
    rmm = ListRmmEverything(tenant_id=tenant_id, run_id=run_id, correlation_id=run_id)
    revio = ListRevioEverything(tenant_id=tenant_id, run_id=run_id, correlation_id=run_id)
    started = NewEvent(
        "SyncRunStarted",
        {
            "run_id": str(run_id),
            "kind": kind,
            "rmm_command_id": str(rmm.message_id),
            "revio_command_id": str(revio.message_id),
            "started_by": actor,
        },
    )
    try:
        async with UnitOfWork(pool, tenant_id, consumer="console", actor=actor) as uow:
            running = await active_run(uow.conn, tenant_id)
            if running is not None:
                raise RunAlreadyActive(running)
            await uow.append(stream_of(run_id), [started], NO_STREAM, projections=[PROJECTION])
            uow.send(rmm)
            uow.send(revio)
    except asyncpg.UniqueViolationError:
        async with pool.acquire() as conn:
            running = await active_run(conn, tenant_id)
        raise RunAlreadyActive(running or run_id) from None
    return run_id


async def cancel_run(pool: asyncpg.Pool, tenant_id: str, run_id: UUID, actor: str) -> bool:
    """Abandon a run in progress; False when it is not in progress."""
    async with UnitOfWork(pool, tenant_id, consumer="console", actor=actor) as uow:
        row = await uow.conn.fetchrow(
            "SELECT version, phase FROM sync_runs WHERE tenant_id = $1 AND run_id = $2 FOR UPDATE",
            tenant_id,
            run_id,
        )
        if row is None or row["phase"] not in ACTIVE_PHASES:
            return False
        event = NewEvent("SyncRunCancelled", {"run_id": str(run_id), "reason": f"by {actor}"})
        await uow.append(stream_of(run_id), [event], row["version"], projections=[PROJECTION])
    return True


async def record_listing(
    tenant_id: str,
    uow: UnitOfWork,
    command_id: UUID,
    correlation_id: UUID,
    system: str,
    status: str,
    reason: str | None,
    external_ids: dict[str, str],
) -> UUID | None:
    """Within `uow`: record a connector's listing result on its run; the run id, or None
    for a result of no run of this tenant."""
    row = await uow.conn.fetchrow(
        "SELECT run_id FROM sync_runs WHERE tenant_id = $1"
        " AND ($2 IN (rmm_command_id, revio_command_id) OR run_id = $3)",
        tenant_id,
        command_id,
        correlation_id,
    )
    if row is None:
        return None
    run_id = UUID(str(row["run_id"]))
    event = NewEvent(
        "SyncRunListingFinished",
        {
            "run_id": str(run_id),
            "system": system,
            "status": status,
            "reason": reason,
            "external_ids": external_ids,
        },
    )
    await uow.append(stream_of(run_id), [event], projections=[PROJECTION])
    return run_id
