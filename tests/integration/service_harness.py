"""Running a domain service's handlers against real NATS and PostgreSQL, as in production:
its durable subscribers on an in-process broker, the outbox relay publishing what it sends,
and the test acting as the connectors (publishing changes and results)."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from revsync.contracts.base import Command, Message
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioTicket,
    UpdateRevioTicket,
)
from revsync.contracts.rmm import AddRmmTicketNote, CloseRmmTicket, CreateRmmTicket, UpdateRmmTicket
from revsync.eventlog import EventStore, NewEvent, RecordedEvent
from revsync.messaging import DeliveryPolicy
from revsync.outbox import OutboxRelay
from revsync.tenancy import SyncSettings, Tenant
from revsync.tenant_store import TenantCache, TenantStore
from revsync.unit_of_work import UnitOfWork, trace_headers

FAST = DeliveryPolicy(max_deliver=6, backoff_s=(0.05, 0.1, 0.2, 0.5), ack_wait_s=10.0)
COMMAND_TYPES: dict[str, type[Command]] = {
    f"{c.system}.{c.entity}.{c.verb}": c
    for c in (
        CreateRevioTicket,
        UpdateRevioTicket,
        AddRevioJournalEntry,
        CreateRmmTicket,
        UpdateRmmTicket,
        AddRmmTicketNote,
        CloseRmmTicket,
    )
}


def unique_name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


async def save_tenant(pool: asyncpg.Pool, tenant_id: str, settings: SyncSettings) -> None:
    await TenantStore(pool).save(
        Tenant(id=tenant_id, name=f"MSP {tenant_id}", settings=settings), actor="test"
    )


def settings_reader(pool: asyncpg.Pool) -> Callable[[str], Awaitable[SyncSettings | None]]:
    cache = TenantCache(TenantStore(pool), ttl_s=0.2)

    async def settings_for(tenant_id: str) -> SyncSettings | None:
        tenant = await cache.get(tenant_id)
        return tenant.settings if tenant else None

    return settings_for


async def link_company(
    pool: asyncpg.Pool, tenant_id: str, revio_customer_id: str, rmm_company_id: str
) -> None:
    """Link a customer and a company the way the company service records it: a
    `CustomerLinked` decision on `company-link:<customer>`, folded into `company_links`."""
    from services.company.projections import CompanyLinks

    event = NewEvent(
        "CustomerLinked",
        {
            "rule": "manual_link",
            "revio_customer_id": revio_customer_id,
            "rmm_company_id": rmm_company_id,
            "actor": "test",
        },
    )
    async with UnitOfWork(pool, tenant_id, consumer="company", actor="test") as uow:
        await uow.append(f"company-link:{revio_customer_id}", [event], projections=[CompanyLinks()])


async def publish_again(js: JetStreamContext, message: Message) -> None:
    """A second delivery of the very same message (same message id), as after a connector
    crash past its own duplicate window: JetStream stores it twice."""
    headers = {**trace_headers(), "Nats-Msg-Id": f"{message.message_id}-again"}
    await js.publish(message.subject, message.to_bytes(), headers=headers)


class CommandTap:
    """Everything that reached the COMMANDS stream for one tenant, parsed."""

    def __init__(self, js: JetStreamContext, tenant_id: str) -> None:
        self.js, self.tenant_id = js, tenant_id
        self.seen: list[Command] = []
        self._sub: Any = None

    async def start(self) -> "CommandTap":
        self._sub = await self.js.pull_subscribe(
            f"cmd.{self.tenant_id}.>",
            stream="COMMANDS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=300.0),
        )
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    async def drain(self, quiet_s: float = 0.3) -> list[Command]:
        """Read until nothing more arrives for `quiet_s`."""
        while True:
            try:
                batch = await self._sub.fetch(500, timeout=quiet_s)
            except TimeoutError:
                return self.seen
            for raw in batch:
                _, _, route = raw.subject.split(".", 2)
                self.seen.append(COMMAND_TYPES[route].from_bytes(raw.data))
                await raw.ack()

    def of(self, kind: type[Command]) -> list[Any]:
        return [c for c in self.seen if isinstance(c, kind)]

    async def wait_for(self, kind: type[Command], count: int, within_s: float = 10.0) -> list[Any]:
        deadline = asyncio.get_running_loop().time() + within_s
        while len(self.of(kind)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{count} {kind.__name__} expected, got {self.of(kind)}")
            await self.drain(0.1)
        return self.of(kind)


class Harness:
    """A service's subscribers on an in-process broker, an outbox relay, a command tap."""

    def __init__(
        self, broker: NatsBroker, pool: asyncpg.Pool, js: JetStreamContext, tenant_id: str
    ) -> None:
        self.broker, self.pool, self.js, self.tenant_id = broker, pool, js, tenant_id
        self.commands = CommandTap(js, tenant_id)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, *background: Awaitable[None]) -> "Harness":
        await self.broker.start()
        await self.commands.start()
        self._tasks.append(asyncio.create_task(OutboxRelay(self.pool, self.js).run()))
        self._tasks.extend(asyncio.create_task(task) for task in background)  # type: ignore[arg-type]
        return self

    async def stop(self) -> None:
        await self.broker.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.commands.stop()

    async def drained(self, stream: str, durables: list[str], within_s: float = 30.0) -> None:
        """Wait until the consumers have nothing pending and the tenant's outbox is empty."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            infos = [await self.js.consumer_info(stream, d) for d in durables]
            busy = any(i.num_pending or i.num_ack_pending for i in infos)
            outbox = await self.pool.fetchval(
                "SELECT count(*) FROM outbox WHERE tenant_id = $1", self.tenant_id
            )
            if not busy and not outbox:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not drained: {infos}, outbox {outbox}")
            await asyncio.sleep(0.05)

    async def events(self, category: str) -> list[RecordedEvent]:
        return await EventStore(self.pool).read_category(self.tenant_id, category, limit=10_000)

    async def wait_for_event(
        self, category: str, type_: str, count: int = 1, within_s: float = 10.0
    ) -> list[RecordedEvent]:
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            found = [e for e in await self.events(category) if e.type == type_]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{count} {type_} expected, got {len(found)}")
            await asyncio.sleep(0.05)
