"""One poll of each resource of one tenant: read, translate, emit what changed.

Companies and endpoints have no "changed since" filter in the API, so each poll is a full
listing (companies: 2 calls; endpoints: one call per 500) and also infers deletions. Tickets
are read by `updatedAt`, ascending, from a durable watermark (inclusive: tickets updated in
the same second are read again, and their unchanged hash keeps them from being re-emitted).
"""

from uuid import UUID

from revsync.connector import Watermarks
from revsync.logs import get_logger

from services.cwrmm_connector import emit, observe
from services.cwrmm_connector.observe_tickets import HEAD, read_tickets
from services.cwrmm_connector.tenants import SYSTEM, TenantHandle

log = get_logger(__name__)
TICKET_WATERMARK = "tickets.updatedAt"


async def companies(handle: TenantHandle, run_id: UUID | None = None) -> int:
    snapshot = await observe.companies(handle)
    if run_id is not None:
        return await emit.seen(handle, "company", snapshot, run_id)
    changed = await emit.changed(handle, "company", snapshot)
    return changed + await emit.deleted(handle, "company", snapshot)


async def endpoints(handle: TenantHandle, run_id: UUID | None = None) -> int:
    categories = handle.tenant.settings.endpoint_categories
    count = 0
    for category, snapshot in (await observe.endpoints(handle, categories)).items():
        await observe.with_field_values(handle, snapshot)
        key = f"endpoint.{category}"
        if run_id is not None:
            count += await emit.seen(handle, key, snapshot, run_id)
            continue
        count += await emit.changed(handle, key, snapshot)
        count += await emit.deleted(handle, key, snapshot)
    return count


def _query(since: str | None) -> dict[str, str]:
    query = {"sortBy": "updatedAt", "sortDir": "asc"}
    return query | ({"updatedAtFrom": since} if since else {})


async def tickets(
    handle: TenantHandle, alert_source: str, full: bool = False, run_id: UUID | None = None
) -> int:
    """Tickets updated since the watermark (`full`: all tickets, watermark untouched)."""
    marks = Watermarks(handle.pool, handle.id, SYSTEM)
    since = None if full or run_id else await marks.get(TICKET_WATERMARK)
    pages = handle.client.tickets(_query(since))
    batch = await read_tickets(handle, pages, alert_source, all_notes=run_id is not None)
    if run_id is not None:
        count = await emit.seen(handle, "ticket", batch.tickets, run_id)
        count += await emit.seen(handle, "alert", batch.alerts, run_id)
    else:
        count = await emit.changed(handle, "ticket", batch.tickets)
        count += await emit.alerts_changed(handle, batch.alerts)
    await handle.hashes(HEAD).put_many(batch.heads)
    if batch.latest and batch.latest != since and not full and run_id is None:
        await marks.set(TICKET_WATERMARK, batch.latest)
    return count
