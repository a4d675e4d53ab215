"""Sync-run listings as durable jobs: `ListRmmEverything` records a pending job (answered at
once: the listing has started); the tenant's watcher runs pending jobs under a lease, so a
restart resumes an unfinished listing instead of losing it, and two replicas never run the
same one. A re-run listing re-emits the same message ids (derived from the run id), which
JetStream and every consumer's inbox drop."""

from uuid import UUID

import asyncpg
from revsync.logs import get_logger

from services.cwrmm_connector import polls
from services.cwrmm_connector.tenants import SYSTEM, TenantHandle

log = get_logger(__name__)
PREFIX = "listing:"
PENDING, DONE = "pending", "done"


async def request(conn: asyncpg.Connection, tenant_id: str, run_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO watermarks (tenant_id, system, resource, value) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tenant_id, system, resource) DO NOTHING",
        tenant_id,
        SYSTEM,
        f"{PREFIX}{run_id}",
        PENDING,
    )


async def pending(pool: asyncpg.Pool, tenant_id: str) -> list[UUID]:
    rows = await pool.fetch(
        "SELECT resource FROM watermarks WHERE tenant_id = $1 AND system = $2"
        " AND resource LIKE $3 AND value = $4 ORDER BY updated_at",
        tenant_id,
        SYSTEM,
        f"{PREFIX}%",
        PENDING,
    )
    return [UUID(row["resource"].removeprefix(PREFIX)) for row in rows]


async def run(handle: TenantHandle, run_id: UUID, alert_source: str) -> dict[str, int]:
    """List everything as `seen` changes tagged with `run_id`, then mark the job done."""
    counts = {
        "companies": await polls.companies(handle, run_id),
        "endpoints": await polls.endpoints(handle, run_id),
        "tickets": await polls.tickets(handle, alert_source, run_id=run_id),
    }
    await handle.pool.execute(
        "UPDATE watermarks SET value = $4, updated_at = now()"
        " WHERE tenant_id = $1 AND system = $2 AND resource = $3",
        handle.id,
        SYSTEM,
        f"{PREFIX}{run_id}",
        DONE,
    )
    log.info("RMM listing done", tenant_id=handle.id, run_id=str(run_id), **counts)
    return counts
