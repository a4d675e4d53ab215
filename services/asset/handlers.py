"""The asset service's handlers: thin, each one unit of work.

- an RMM endpoint changed -> (nothing at all when `asset_sync_enabled` is off) record it on
  its asset's stream and decide: skip, park, upsert, retire, write back;
- a command result -> record the Rev.io asset id (then write it back) or the failure;
- a company linked (from the event log, see `follower.py`) -> decide again for the
  company's parked endpoints and for assets synced for another customer.

How the asset service learns that a company linked: it follows the event log (category
`company-link`, `CustomerLinked` events) with a catch-up subscription and a checkpoint of
its own; the company service publishes nothing extra for it. While handling an endpoint it
reads the link from the `company_links` projection (see `store.py` for the lock that keeps
the two from missing each other).
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid5

import asyncpg
from revsync.command_window import DEFAULT_WINDOW, CommandWindow
from revsync.contracts.base import Message, Result, utc_now
from revsync.contracts.rmm import RmmEndpointChanged
from revsync.decision import Decision, DecisionContext
from revsync.eventlog.model import ConcurrencyError
from revsync.tenancy import SyncSettings
from revsync.unit_of_work import UnitOfWork

from services.asset import events as E
from services.asset.decide import decide_asset, decide_upsert_result, decide_write_back_result
from services.asset.identity import observe_endpoint
from services.asset.state import fold_onto
from services.asset.store import AssetTx, company_barrier

SettingsFor = Callable[[str], Awaitable[SyncSettings | None]]
Body = Callable[[AssetTx], Awaitable[None]]
ATTEMPTS = 5


async def in_transaction(
    pool: asyncpg.Pool,
    tenant_id: str,
    consumer: str,
    cause: Message | None,
    body: Body,
    window: CommandWindow | None = None,
) -> None:
    """Run `body` in a unit of work, again from fresh state after a concurrent decision on
    the same asset; the last failure is raised (the message is redelivered)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with UnitOfWork(pool, tenant_id, consumer, cause=cause, window=window) as uow:
                if not uow.already_processed:
                    await body(AssetTx(uow))
                return
        except (ConcurrencyError, asyncpg.DeadlockDetectedError):
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)


class AssetService:
    """`window`: the asset commands of one tenant in flight at once, per connector (the
    others wait their turn in the database, see `revsync.command_window`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings_for: SettingsFor,
        consumer: str = "asset",
        window: CommandWindow = DEFAULT_WINDOW,
    ):
        self.pool, self.settings_for, self.consumer = pool, settings_for, consumer
        self.window = window

    async def _decide(self, tenant_id: str, cause: Message | None, body: Body) -> None:
        await in_transaction(self.pool, tenant_id, self.consumer, cause, body, self.window)

    async def on_endpoint(self, change: RmmEndpointChanged) -> None:
        settings = await self.settings_for(change.tenant_id)
        if settings is None or not settings.asset_sync_enabled:
            return  # the asset flow is off: no state change, no API call

        async def body(tx: AssetTx) -> None:
            ctx = DecisionContext.of(change, utc_now())
            endpoint = change.endpoint
            before = await tx.asset_of(endpoint)
            observed = observe_endpoint(ctx, before, change)
            asset = fold_onto(before, observed)
            ignored = any(e.data.get("stale") or e.data.get("superseded") for e in observed)
            if ignored or asset.endpoint is None or asset.endpoint.id != endpoint.id:
                await tx.record(before, observed)  # nothing to decide on: stale, or an
                return  # endpoint this asset no longer follows
            customer = None
            if not asset.endpoint_deleted:
                customer = await tx.linked_customer(asset.endpoint.company_id)
            decision = decide_asset(ctx, asset, settings, customer)
            # the observation and the decision on it, appended together (one round trip)
            await tx.record(before, Decision(observed + decision.events, decision.commands))

        await self._decide(change.tenant_id, change, body)

    async def on_result(self, result: Result) -> None:
        settings = await self.settings_for(result.tenant_id)
        if settings is None:
            return

        async def body(tx: AssetTx) -> None:
            found = await tx.commanded(result.command_id)
            if found is None:
                return  # not a command of ours
            asset, verb = found
            ctx = DecisionContext.of(result, utc_now())
            if verb == E.UPSERT_VERB:
                send = settings.asset_sync_enabled
                decision = decide_upsert_result(ctx, asset, result, settings, send)
            else:
                decision = decide_write_back_result(ctx, asset, result)
            await tx.record(asset, decision)

        await self._decide(result.tenant_id, result, body)

    async def on_company_linked(
        self, tenant_id: str, rmm_company_id: str, customer_id: str, seed: UUID
    ) -> int:
        """Decide again for the company's parked assets (and those synced for another
        customer); returns how many were looked at."""
        settings = await self.settings_for(tenant_id)
        if settings is None or not settings.asset_sync_enabled:
            return 0
        seen = 0

        async def body(tx: AssetTx) -> None:
            nonlocal seen
            await company_barrier(tx.conn, tenant_id, rmm_company_id)
            identifiers = await tx.assets_to_revisit(rmm_company_id, customer_id)
            seen = len(identifiers)
            linked = await tx.linked_customer(rmm_company_id)
            for identifier in identifiers:
                ctx = DecisionContext(tenant_id, utc_now(), uuid5(seed, identifier))
                asset = await tx.asset(identifier)
                await tx.record(asset, decide_asset(ctx, asset, settings, linked))

        await self._decide(tenant_id, None, body)
        return seen
