"""The company service's message handlers: thin, each one unit of work.

- a Rev.io customer changed -> record it; a linked pair is brought in sync; an unlinked
  customer is matched (or, while its own sync run or, for a poll's observation, any sync
  run of the tenant is still listing, left for that run's batch);
- an RMM company changed -> the same from the other side (recorded on the customer's stream
  when linked, on `rmm-company:<id>` otherwise);
- a command result -> the creation completes a pending link (created company or customer ->
  linked, with its sites), a created site is mapped, a failure is recorded and undone.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg
from revsync.command_window import DEFAULT_WINDOW, CommandWindow
from revsync.contracts.base import Result, utc_now
from revsync.contracts.revio import RevioCustomerChanged
from revsync.contracts.rmm import RmmCompanyChanged
from revsync.decision import DecisionContext
from revsync.eventlog.model import ConcurrencyError
from revsync.logs import get_logger
from revsync.tenancy import SyncSettings
from revsync.unit_of_work import UnitOfWork

from services.company.decide import observe
from services.company.flows import match_customer, match_rmm_company
from services.company.reconcile import reconcile
from services.company.results import (
    revio_customer_created,
    rmm_company_created,
    site_created,
    update_done,
)
from services.company.store import CompanyTx, Retry, peek_link, peek_rmm

log = get_logger(__name__)
SettingsFor = Callable[[str], Awaitable[SyncSettings | None]]
Body = Callable[[CompanyTx, bool], Awaitable[None]]
RETRYABLE = (ConcurrencyError, Retry, asyncpg.DeadlockDetectedError, asyncpg.UniqueViolationError)
ATTEMPTS = 5


async def in_transaction(
    pool: asyncpg.Pool,
    tenant_id: str,
    consumer: str,
    cause: Result | RevioCustomerChanged | RmmCompanyChanged | None,
    body: Body,
    actor: str = "system",
    window: CommandWindow | None = None,
) -> None:
    """Run `body` in a unit of work, again from fresh state (and with the exclusive matching
    lock) when the state changed under it; the last failure is raised (redelivery).
    `window`: the service's command window (None: commands go straight to the outbox, as a
    person's manual operation should, not behind a sync run's bulk)."""
    exclusive = False
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with UnitOfWork(
                pool, tenant_id, consumer, cause=cause, actor=actor, window=window
            ) as uow:
                if uow.already_processed:
                    return
                await body(CompanyTx(uow), exclusive)
                return
        except RETRYABLE:
            if attempt == ATTEMPTS:
                raise
            exclusive = True
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)


class CompanyService:
    """`window`: the company commands of one tenant in flight at once, per connector (a
    sync run's matching decides thousands at once; see `revsync.command_window`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings_for: SettingsFor,
        consumer: str = "company",
        window: CommandWindow = DEFAULT_WINDOW,
    ):
        self.pool, self.settings_for, self.consumer = pool, settings_for, consumer
        self.window = window

    async def _decide(
        self,
        tenant_id: str,
        cause: Result | RevioCustomerChanged | RmmCompanyChanged,
        body: Body,
    ) -> None:
        await in_transaction(self.pool, tenant_id, self.consumer, cause, body, window=self.window)

    async def _settings(self, tenant_id: str, what: str) -> SyncSettings | None:
        settings = await self.settings_for(tenant_id)
        if settings is None:
            log.warning(
                "message for an unknown or disabled tenant ignored",
                tenant_id=tenant_id,
                message=what,
            )
        return settings

    async def _lock_unless_linked(
        self, tx: CompanyTx, linked: bool, run: object, exclusive: bool
    ) -> UUID | None:
        """Take the matching lock for an unlinked record: shared while a sync run it can be
        left to is still listing (`run_to_wait_for`; the record is only recorded now),
        exclusive otherwise. Returns the run it is left to, None when it is matched now.
        A run that matched while this waited for the lock means matching now: again, with
        the exclusive lock."""
        if linked:
            return None
        waits_for = None if exclusive else await tx.run_to_wait_for(run)
        await tx.lock_matching(shared=waits_for is not None)
        if waits_for is not None and await tx.run_matched(waits_for):
            raise Retry
        return waits_for

    async def on_customer(self, change: RevioCustomerChanged) -> None:
        settings = await self._settings(change.tenant_id, "customer change")
        if settings is None:
            return
        customer = change.customer
        run = change.sync_run_id

        async def body(tx: CompanyTx, exclusive: bool) -> None:
            ctx = DecisionContext.of(change, utc_now())
            peeked = await peek_link(tx.conn, tx.tenant_id, customer.id)
            linked = peeked is not None and peeked.state == "linked"
            waits_for = await self._lock_unless_linked(tx, linked, run, exclusive)
            link = await tx.link(customer.id)
            if (link.state == "linked") != linked:
                raise Retry
            snapshot = {"customer": customer.model_dump(mode="json")}
            seen = observe(ctx, change, snapshot, link.observed_at, left_for_run=waits_for)
            link = await tx.record_link(link, (seen,))
            if seen.data["stale"]:
                return
            if link.state == "linked":
                await tx.record_link(link, reconcile(ctx, link, settings))
                return
            if not link.open or waits_for is not None:
                return  # being created, deleted, or left for a sync run's batch
            await match_customer(tx, ctx, link, settings)

        await self._decide(change.tenant_id, change, body)

    async def on_rmm_company(self, change: RmmCompanyChanged) -> None:
        settings = await self._settings(change.tenant_id, "company change")
        if settings is None:
            return
        company = change.company
        run = change.sync_run_id
        snapshot = {"company": company.model_dump(mode="json")}

        async def body(tx: CompanyTx, exclusive: bool) -> None:
            ctx = DecisionContext.of(change, utc_now())
            peeked = await peek_rmm(tx.conn, tx.tenant_id, company.id)
            owner = peeked.revio_customer_id if peeked and peeked.state == "linked" else None
            waits_for = await self._lock_unless_linked(tx, owner is not None, run, exclusive)
            rmm = await tx.rmm(company.id)
            if (rmm.revio_customer_id if rmm.state == "linked" else None) != owner:
                raise Retry
            if owner is not None:
                link = await tx.link(owner)
                if link.state != "linked" or link.rmm_company_id != company.id:
                    raise Retry
                seen = observe(ctx, change, snapshot, link.rmm_observed_at, revio_customer_id=owner)
                link = await tx.record_link(link, (seen,))
                if not seen.data["stale"]:
                    await tx.record_link(link, reconcile(ctx, link, settings))
                return
            seen = observe(
                ctx,
                change,
                snapshot,
                rmm.observed_at,
                revio_customer_id=None,
                left_for_run=waits_for,
            )
            rmm = await tx.record_rmm(rmm, (seen,))
            if seen.data["stale"] or not rmm.open or waits_for is not None:
                return  # a sync run's batch matches it
            await match_rmm_company(tx, ctx, rmm, settings)

        await self._decide(change.tenant_id, change, body)

    async def on_result(self, result: Result) -> None:
        settings = await self._settings(result.tenant_id, "command result")
        if settings is None:
            return

        async def body(tx: CompanyTx, exclusive: bool) -> None:
            found = await tx.command(result.command_id)
            if found is None:
                return  # a result of some other service's command
            stream, verb = found
            key = stream.split(":", 1)[1]
            ctx = DecisionContext.of(result, utc_now())
            if verb == "rmm.company.create":
                await rmm_company_created(tx, ctx, key, result, settings)
            elif verb == "revio.customer.create":
                await revio_customer_created(tx, ctx, key, result, settings)
            elif verb == "rmm.site.create":
                await site_created(tx, ctx, key, result)
            else:
                await update_done(tx, ctx, key, stream, verb, result)

        await self._decide(result.tenant_id, result, body)


__all__ = ["CompanyService", "in_transaction"]
