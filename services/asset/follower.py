"""Following company links in the event log, so parked endpoints sync as soon as their
company links.

`follow_company_links` reads the log from its checkpoint (`asset:company-links`) with a
catch-up subscription and, for every `CustomerLinked` event, decides again for the linked
company's assets. `sweep_parked` (at start and every few minutes) catches anything missed:
a link made while the follower was failing, or before this service first ran.
Every replica follows; their decisions are idempotent (a re-decided asset whose upsert is
already in flight decides nothing).
"""

import asyncio
from uuid import NAMESPACE_URL, uuid5

from revsync.eventlog.store import EventStore
from revsync.eventlog.subscription import CatchUpSubscription, load_checkpoint, save_checkpoint
from revsync.logs import get_logger

from services.asset.handlers import AssetService

log = get_logger(__name__)
LINKED = "CustomerLinked"
LINK_CATEGORY = "company-link"
SAVE_EVERY = 1_000
# Parked endpoints wait for their company's link; a fraction of a second more costs nothing,
# and reading the log once per interval instead of after every append in the system (every
# service's decisions notify) costs far less: at 50 alerts/s this follower woke ~150 times a
# second to read events that were not links.
FOLLOW_INTERVAL_S = 0.25

_PARKED_NOW_LINKED = """
SELECT DISTINCT a.tenant_id, a.rmm_company_id, l.revio_customer_id
FROM assets a JOIN company_links l ON l.tenant_id = a.tenant_id
    AND l.rmm_company_id = a.rmm_company_id AND l.state = 'linked'
WHERE a.state = 'parked'
ORDER BY 1, 2
"""


async def _revisit(
    service: AssetService, tenant_id: str, company_id: str, customer_id: str, seed: str
) -> None:
    for attempt in range(1, 4):
        try:
            await service.on_company_linked(
                tenant_id, company_id, customer_id, uuid5(NAMESPACE_URL, seed)
            )
            return
        except Exception as error:
            if attempt == 3:  # the periodic sweep tries again
                log.error(
                    "parked assets not revisited after a link",
                    tenant_id=tenant_id,
                    rmm_company_id=company_id,
                    error=f"{type(error).__name__}: {error}",
                )
                return
            await asyncio.sleep(0.2 * attempt)


async def sweep_parked(service: AssetService) -> int:
    rows = await service.pool.fetch(_PARKED_NOW_LINKED)
    for row in rows:
        tenant_id, company_id, customer_id = (
            row["tenant_id"],
            row["rmm_company_id"],
            row["revio_customer_id"],
        )
        await _revisit(
            service,
            tenant_id,
            company_id,
            customer_id,
            f"sweep:{tenant_id}:{company_id}:{customer_id}",
        )
    return len(rows)


async def sweep_periodically(service: AssetService, interval_s: float = 300.0) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await sweep_parked(service)
        except Exception as error:
            log.error("sweep of parked assets failed", error=f"{type(error).__name__}: {error}")


async def follow_company_links(
    service: AssetService, store: EventStore, checkpoint: str = "asset:company-links"
) -> None:
    async with store.pool.acquire() as conn:
        position = await load_checkpoint(conn, checkpoint)
    await sweep_parked(service)
    unsaved = 0
    following = CatchUpSubscription(store, after=position, live_interval_s=FOLLOW_INTERVAL_S)
    async for event in following:
        if event.type == LINKED and event.stream.split(":", 1)[0] == LINK_CATEGORY:
            customer_id = event.stream.split(":", 1)[1]
            await _revisit(
                service, event.tenant_id, event.data["rmm_company_id"], customer_id, str(event.id)
            )
            unsaved = SAVE_EVERY
        unsaved += 1
        if unsaved >= SAVE_EVERY:
            async with store.pool.acquire() as conn:
                await save_checkpoint(conn, checkpoint, event.position)
            unsaved = 0
