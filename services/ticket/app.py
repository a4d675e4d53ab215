"""The ticket service's handlers: find the link, load it, decide, commit.

Subscriptions (durable consumers named `ticket-*`, every tenant; `tenant` narrows it):
- `change.<t>.rmm.ticket.*`    -> `on_rmm_ticket`
- `change.<t>.revio.ticket.*`  -> `on_revio_ticket`
- `result.<t>.revio.ticket.*`, `result.<t>.rmm.ticket.*` -> `on_result` (ours only)
"""

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

import asyncpg
from faststream.nats import NatsBroker
from revsync.contracts.base import Message, Result, utc_now
from revsync.contracts.revio import RevioTicketChanged
from revsync.contracts.rmm import RmmTicketChanged
from revsync.contracts.subjects import Subjects
from revsync.db import Conn
from revsync.decision import Decision, DecisionContext, commit_decision
from revsync.eventlog.model import RecordedEvent
from revsync.eventlog.store import EventStore
from revsync.logs import get_logger
from revsync.messaging import DeliveryPolicy, Route, subscribe_routes
from revsync.runtime import ServiceContext
from revsync.tenancy import SyncSettings

from services.ticket import decide, lookups
from services.ticket.projection import TicketLinks
from services.ticket.sightings import Sighting, revio_sighting, rmm_sighting
from services.ticket.state import LinkState, fold, stream_of

log = get_logger(__name__)
SERVICE = "ticket"
DEFAULT_POLICY = DeliveryPolicy()
SettingsFor = Callable[[str], Awaitable[SyncSettings | None]]
Lookup = Callable[[Conn], Awaitable[tuple[str | None, bool]]]


class TicketService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings_for: SettingsFor,
        consumer: str = SERVICE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool, self.settings_for = pool, settings_for
        self.consumer, self.clock = consumer, clock
        self.store = EventStore(pool)
        self.projections = (TicketLinks(),)

    async def _commit(
        self,
        tenant_id: str,
        cause: Message,
        key: str,
        decide_on: Callable[[Conn, LinkState], Awaitable[Decision]],
    ) -> Decision | None:
        async def decide_in(conn: Conn) -> tuple[Decision, list[RecordedEvent]]:
            events = await self.store.read_stream(tenant_id, stream_of(key), conn=conn)
            return await decide_on(conn, fold(key, events)), events

        return await commit_decision(
            self.pool, tenant_id, self.consumer, cause, stream_of(key), decide_in, self.projections
        )

    async def _on_sighting(
        self, change: Message, kind: str, sighting: Sighting, key: str, lookup: Lookup
    ) -> None:
        settings = await self.settings_for(change.tenant_id)
        if settings is None:
            log.warning("ticket of an unknown tenant ignored", tenant_id=change.tenant_id)
            return
        ctx = DecisionContext.of(change, self.clock())

        async def decide_on(conn: Conn, state: LinkState) -> Decision:
            if kind == "deleted":
                return decide.decide_deleted(state, sighting.side, sighting.ticket_id, ctx)
            if state.phase in ("none", "skipped", "failed"):
                counterpart, is_alert = await lookup(conn)
                return decide.decide_new_ticket(
                    state, sighting, counterpart, is_alert, settings, ctx
                )
            return decide.decide_sighting(state, sighting, settings, ctx)

        await self._commit(change.tenant_id, change, key, decide_on)

    async def on_rmm_ticket(self, change: RmmTicketChanged) -> None:
        ticket, tenant_id = change.ticket, change.tenant_id
        if lookups.has_alert_source(ticket):
            return  # the alert service's (checked again below for tickets it already follows)
        async with self.pool.acquire() as conn:
            key = await lookups.link_of_rmm_ticket(conn, tenant_id, ticket)

        async def lookup(conn: Conn) -> tuple[str | None, bool]:
            is_alert = await lookups.is_alert_ticket(conn, tenant_id, ticket)
            if is_alert or ticket.company_id is None:
                return None, is_alert
            return await lookups.linked_customer_for(conn, tenant_id, ticket.company_id), False

        await self._on_sighting(change, change.kind, rmm_sighting(ticket), key, lookup)

    async def on_revio_ticket(self, change: RevioTicketChanged) -> None:
        ticket, tenant_id = change.ticket, change.tenant_id
        async with self.pool.acquire() as conn:
            key = await lookups.link_of_revio_ticket(conn, tenant_id, ticket)

        async def lookup(conn: Conn) -> tuple[str | None, bool]:
            if ticket.customer_id is None:
                return None, False
            return await lookups.linked_company_for(conn, tenant_id, ticket.customer_id), False

        await self._on_sighting(change, change.kind, revio_sighting(ticket), key, lookup)

    async def on_result(self, result: Result) -> None:
        if result.entity != "ticket" or not result.issued_to(self.consumer):
            return  # the alert service's ticket commands: dropped unread
        async with self.pool.acquire() as conn:
            key = await lookups.link_of_command(conn, result.tenant_id, result.command_id)
        if key is None:
            return  # another service's command
        ctx = DecisionContext.of(result, self.clock())

        async def decide_on(conn: Conn, state: LinkState) -> Decision:
            if result.verb == "create":
                return decide.decide_create_result(state, result, ctx)
            return decide.decide_command_result(state, result, ctx)

        await self._commit(result.tenant_id, result, key, decide_on)


def register(
    broker: NatsBroker,
    service: TicketService,
    name: str = SERVICE,
    tenant: str = "*",
    policy: DeliveryPolicy = DEFAULT_POLICY,
    workers: int = 8,
) -> None:
    """Attach the durable subscribers (`tenant` narrows them, for tests)."""
    routes = [
        Route("rmm-tickets", Subjects.filter("change", tenant, "rmm", "ticket"),
              RmmTicketChanged, service.on_rmm_ticket),
        Route("revio-tickets", Subjects.filter("change", tenant, "revio", "ticket"),
              RevioTicketChanged, service.on_revio_ticket),
        Route("revio-results", Subjects.filter("result", tenant, "revio", "ticket"), Result,
              service.on_result),
        Route("rmm-results", Subjects.filter("result", tenant, "rmm", "ticket"), Result,
              service.on_result),
    ]  # fmt: skip
    subscribe_routes(broker, name, routes, policy, workers)


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    service = TicketService(ctx.pool, ctx.tenants.settings_for, consumer=ctx.name)
    register(ctx.broker, service, name=ctx.name, policy=ctx.delivery_policy())
    return []
