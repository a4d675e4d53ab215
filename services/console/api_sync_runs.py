"""`/api/sync-runs`: start an initial (or full) sync run, follow its progress, cancel it."""

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.console.deps import Ctx, CurrentUser, KnownTenant, Writer, tenant_not_known
from services.console.sync_progress import load_progress
from services.console.sync_runs import ACTIVE_PHASES, RunAlreadyActive, cancel_run, start_run

router = APIRouter(prefix="/api/sync-runs", tags=["sync runs"])


class StartRun(BaseModel):
    kind: Literal["initial", "full"] = "initial"


async def run_json(console: Ctx, tenant: str, run_id: UUID) -> dict[str, Any]:
    async with console.pool.acquire() as conn:
        progress = await load_progress(conn, tenant, run_id)
    if progress is None:
        raise HTTPException(404, f"no sync run {run_id}")
    return progress.as_json(datetime.now(UTC))


async def start(console: Ctx, tenant: str, actor: str, kind: str) -> UUID:
    """Start a run; HTTPException 404 (no tenant) or 409 (disabled, or one is in progress)."""
    found = await console.tenants.load(tenant, with_secrets=False)
    if found is None:
        raise tenant_not_known(tenant)
    if not found.enabled:
        raise HTTPException(409, f"tenant {tenant} is disabled: an operator enables it first")
    try:
        return await start_run(console.pool, tenant, actor, kind)  # type: ignore[arg-type]
    except RunAlreadyActive as running:
        raise HTTPException(
            409, {"message": str(running), "sync_run_id": str(running.run_id)}
        ) from None


@router.post("", status_code=201, summary="Start a sync run (durable: runs server-side)")
async def post_run(
    principal: Writer, tenant: KnownTenant, console: Ctx, body: StartRun | None = None
) -> Any:
    try:
        run_id = await start(console, tenant, principal.username, (body or StartRun()).kind)
    except HTTPException as error:
        if error.status_code == 409 and isinstance(error.detail, dict):
            return JSONResponse({"detail": error.detail["message"], **error.detail}, 409)
        raise
    return await run_json(console, tenant, run_id)


async def listed_run(conn: Any, tenant: str, row: Any) -> dict[str, Any]:
    """One run of the list: as stored once it ended; while in progress (normally the one run
    of the tenant, so the only one read further), with the phase its detail shows (`writing`
    while only the writes of its decisions wait)."""
    run = {
        "id": str(row["run_id"]),
        "kind": row["kind"],
        "phase": row["phase"],
        "started_at": row["started_at"].isoformat(),
        "started_by": row["started_by"],
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
    }
    if row["phase"] in ACTIVE_PHASES:
        progress = await load_progress(conn, tenant, row["run_id"])
        if progress is not None:  # read anew: it may have ended meanwhile
            run["phase"] = progress.shown_phase()
            run["finished_at"] = progress.finished_at.isoformat() if progress.finished_at else None
    return run


@router.get("", summary="Recent sync runs, newest first (one in progress with its live phase)")
async def list_runs(_: CurrentUser, tenant: KnownTenant, console: Ctx) -> list[dict[str, Any]]:
    async with console.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT run_id, kind, phase, started_at, started_by, finished_at FROM sync_runs"
            " WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 50",
            tenant,
        )
        return [await listed_run(conn, tenant, row) for row in rows]


@router.get("/{run_id}", summary="Phase, progress per entity kind (seen/decided/total), ETA")
async def get_run(run_id: UUID, _: CurrentUser, tenant: KnownTenant, console: Ctx) -> Any:
    return await run_json(console, tenant, run_id)


@router.post("/{run_id}/cancel", summary="Abandon a run in progress")
async def cancel(run_id: UUID, principal: Writer, tenant: KnownTenant, console: Ctx) -> Any:
    await run_json(console, tenant, run_id)  # 404 for a run this tenant does not have
    if not await cancel_run(console.pool, tenant, run_id, principal.username):
        raise HTTPException(409, f"sync run {run_id} is not in progress")
    return await run_json(console, tenant, run_id)
