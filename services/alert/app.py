"""The alert service's handlers: load state, decide, commit (decision + outbox + inbox).

Subscriptions (durable consumers named `alert-*`, every tenant, `tenants` narrows it):
- `change.<t>.rmm.alert.*`       -> `on_alert`
- `result.<t>.revio.ticket.*`    -> `on_result` (only results of commands we sent)
- `change.<t>.revio.ticket.*`    -> `on_revio_ticket` (only our tickets: closed in Rev.io)
and a follower of the event log: a link made (`CustomerLinked`) -> `on_links_changed`, which
tickets parked alerts whose company is now linked; a change of a tenant's settings or lifecycle ->
its cached settings are forgotten (so they are kept long, and a change is used at once).
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
from faststream.nats import NatsBroker
from revsync.contracts.base import Message, Result, utc_now
from revsync.contracts.revio import RevioTicketChanged
from revsync.contracts.rmm import RmmAlertChanged
from revsync.contracts.subjects import Subjects
from revsync.db import Conn
from revsync.decision import Decision, DecisionContext, commit_decision
from revsync.eventlog.model import Position, RecordedEvent
from revsync.eventlog.store import EventStore
from revsync.eventlog.subscription import CatchUpSubscription, load_checkpoint, save_checkpoint
from revsync.logs import get_logger
from revsync.messaging import DeliveryPolicy, Route, subscribe_routes
from revsync.runtime import ServiceContext
from revsync.tenancy import SyncSettings
from revsync.tenant_store import TenantCache, changes_tenant

from services.alert import decide, lookups
from services.alert.projection import AlertTickets
from services.alert.state import AlertState, alert_key, fold, stream_of

log = get_logger(__name__)
SERVICE = "alert"
LINK_CATEGORY = "company-link"
LINKED = "CustomerLinked"  # the company service's event that makes a link
CHECKPOINT_EVERY = 500
# Parked alerts wait for their company's link; a fraction of a second more costs nothing, and
# reading once per interval instead of after every append in the system costs far less.
FOLLOW_INTERVAL_S = 0.25
# The follower forgets a tenant's settings as soon as it reads their change; this bounds how
# stale they may be when it cannot read (it is restarting, or an open transaction elsewhere
# holds the log's readers back).
SETTINGS_TTL_S = 15.0
DEFAULT_POLICY = DeliveryPolicy()
SettingsFor = Callable[[str], Awaitable[SyncSettings | None]]


class AlertService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings_for: SettingsFor,
        consumer: str = SERVICE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool, self.settings_for, self.consumer, self.clock = (
            pool,
            settings_for,
            consumer,
            clock,
        )
        self.store = EventStore(pool)
        self.projections = (AlertTickets(),)

    async def _commit(
        self,
        tenant_id: str,
        cause: Message | None,
        key: str,
        decide_on: Callable[[Conn, AlertState], Awaitable[Decision]],
    ) -> Decision | None:
        async def decide_in(conn: Conn) -> tuple[Decision, list[RecordedEvent]]:
            events = await self.store.read_stream(tenant_id, stream_of(key), conn=conn)
            return await decide_on(conn, fold(key, events)), events

        return await commit_decision(
            self.pool, tenant_id, self.consumer, cause, stream_of(key), decide_in, self.projections
        )

    async def _placement(
        self, conn: Conn, tenant_id: str, company_id: str | None, endpoint_id: str | None
    ) -> decide.Placement:
        customer, asset, hostname = await lookups.placement_for(
            conn, tenant_id, company_id, endpoint_id
        )
        return decide.Placement(customer, asset, hostname)

    # --- handlers -------------------------------------------------------------------------

    async def on_alert(self, change: RmmAlertChanged) -> None:
        settings = await self.settings_for(change.tenant_id)
        if settings is None:
            log.warning("alert of an unknown tenant ignored", tenant_id=change.tenant_id)
            return
        alert = change.alert
        key = alert_key(alert.endpoint_id, alert.condition_id, alert.ticket_id)
        ctx = DecisionContext.of(change, self.clock())

        async def decide_on(conn: Conn, state: AlertState) -> Decision:
            placement = await self._placement(
                conn, change.tenant_id, alert.company_id, alert.endpoint_id
            )
            return decide.decide_alert(state, change, settings, placement, ctx)

        await self._commit(change.tenant_id, change, key, decide_on)

    async def on_result(self, result: Result) -> None:
        if result.system != "revio" or result.entity != "ticket":
            return
        if not result.issued_to(self.consumer):
            return  # the ticket service's command: dropped unread
        async with self.pool.acquire() as conn:
            key = await lookups.alert_of_command(conn, result.tenant_id, result.command_id)
        if key is None:
            return  # another service's command
        settings = await self.settings_for(result.tenant_id)
        if settings is None:  # a disabled tenant sends nothing more, not even follow-ups
            log.warning("result of an unknown or disabled tenant ignored",
                        tenant_id=result.tenant_id, command_id=str(result.command_id))  # fmt: skip
            return
        ctx = DecisionContext.of(result, self.clock())

        async def decide_on(conn: Conn, state: AlertState) -> Decision:
            if result.verb == "create":
                return decide.decide_create_result(state, result, settings, ctx)
            return decide.decide_command_result(state, result, ctx)

        await self._commit(result.tenant_id, result, key, decide_on)

    async def on_revio_ticket(self, change: RevioTicketChanged) -> None:
        ticket, deleted = change.ticket, change.kind == "deleted"
        if not decide.ticket_is_closed(ticket, deleted):
            return  # only closure matters here
        async with self.pool.acquire() as conn:
            key = await lookups.alert_of_revio_ticket(conn, change.tenant_id, ticket.id)
        if key is None:
            return  # not an alert ticket
        ctx = DecisionContext.of(change, self.clock())

        async def decide_on(conn: Conn, state: AlertState) -> Decision:
            return decide.decide_revio_ticket(state, ticket, ctx, deleted)

        await self._commit(change.tenant_id, change, key, decide_on)

    async def on_links_changed(self, tenant_id: str, seed: UUID) -> int:
        """Ticket the tenant's parked alerts whose company is now linked; return how many
        decisions were taken. Idempotent: an alert no longer parked decides nothing."""
        settings = await self.settings_for(tenant_id)
        if settings is None:
            return 0
        async with self.pool.acquire() as conn:
            keys = await lookups.parked_alerts_now_linked(conn, tenant_id)
        decided = 0
        for key in keys:
            ctx = DecisionContext(tenant_id=tenant_id, now=self.clock(), seed=uuid5(seed, key))

            async def decide_on(
                conn: Conn, state: AlertState, ctx: DecisionContext = ctx
            ) -> Decision:
                placement = await self._placement(
                    conn, tenant_id, state.company_id, state.endpoint_id
                )
                return decide.decide_company_linked(state, settings, placement, ctx)

            decision = await self._commit(tenant_id, None, key, decide_on)
            decided += bool(decision and not decision.empty)
        return decided


# --- following company links ----------------------------------------------------------------


async def follow_company_links(
    service: AlertService,
    store: EventStore,
    checkpoint: str = "alert:company-links",
    retry_s: float = 5.0,
    tenants: TenantCache | None = None,
) -> None:
    """Follow the event log; on each `company-link` event, ticket the tenant's parked alerts
    whose company is now linked; on each change of a tenant, forget its cached settings
    (`tenants`). A failure restarts from the last checkpoint (unparking is idempotent), so no
    link is missed; meanwhile no change is heard, so every cached tenant is forgotten."""
    while True:
        try:
            await _follow_company_links(service, store, checkpoint, tenants)
        except Exception as error:
            log.error("following company links failed; restarting", error=repr(error))
            if tenants is not None:
                tenants.forget()
            await asyncio.sleep(retry_s)


async def _follow_company_links(
    service: AlertService, store: EventStore, checkpoint: str, tenants: TenantCache | None
) -> None:
    async with store.pool.acquire() as conn:
        parked = await lookups.tenants_with_parked_alerts(conn)
        position = await load_checkpoint(conn, checkpoint)
    # links made while this service was down are caught before the follower reaches them
    for tenant_id in parked:
        await service.on_links_changed(tenant_id, uuid5(position_seed(position), tenant_id))
    unsaved = 0
    following = CatchUpSubscription(store, after=position, live_interval_s=FOLLOW_INTERVAL_S)
    async for event in following:
        unsaved += 1
        if tenants is not None and changes_tenant(event):
            tenants.forget(event.tenant_id)
        if is_link_event(event):
            await service.on_links_changed(event.tenant_id, event.id)
        if is_link_event(event) or unsaved >= CHECKPOINT_EVERY:
            async with store.pool.acquire() as conn:
                await save_checkpoint(conn, checkpoint, event.position)
            unsaved = 0


def position_seed(position: Position) -> UUID:
    return uuid5(NAMESPACE_URL, f"revsync:alert:start:{position.tx_id}:{position.global_position}")


def is_link_event(event: RecordedEvent) -> bool:
    """A link made (only `CustomerLinked` makes one; the rest of a link's stream, thousands of
    observations in an initial sync, cannot unpark an alert: looking for parked alerts after
    each cost 7,600 queries at 1,000 clients)."""
    return event.type == LINKED and event.stream.split(":", 1)[0] == LINK_CATEGORY


# --- wiring -----------------------------------------------------------------------------------


def register(
    broker: NatsBroker,
    service: AlertService,
    name: str = SERVICE,
    tenant: str = "*",
    policy: DeliveryPolicy = DEFAULT_POLICY,
    workers: int = 16,
) -> None:
    """Attach the durable subscribers (`tenant` narrows them, for tests)."""
    routes = [
        Route("alerts", Subjects.filter("change", tenant, "rmm", "alert"), RmmAlertChanged,
              service.on_alert),
        Route("results", Subjects.filter("result", tenant, "revio", "ticket"), Result,
              service.on_result),
        Route("revio-tickets", Subjects.filter("change", tenant, "revio", "ticket"),
              RevioTicketChanged, service.on_revio_ticket, workers=max(1, workers // 4)),
    ]  # fmt: skip
    subscribe_routes(broker, name, routes, policy, workers)


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    ctx.tenants.ttl_s = SETTINGS_TTL_S  # the follower below forgets what changes
    service = AlertService(ctx.pool, ctx.tenants.settings_for, consumer=ctx.name)
    register(ctx.broker, service, name=ctx.name, policy=ctx.delivery_policy())
    return [follow_company_links(service, ctx.store, tenants=ctx.tenants)]
