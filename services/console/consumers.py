"""The console's consumers (durable, shared by console replicas):

- `seen` changes of every entity -> per-run counts in `sync_run_seen` (once per message id,
  through the inbox);
- the connectors' listing results -> `SyncRunListingFinished` on the run.
"""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from pydantic import ConfigDict
from revsync.contracts import revio, rmm
from revsync.contracts.base import Change, Message, Result
from revsync.logs import get_logger
from revsync.messaging import DeliveryPolicy, durable_subscriber
from revsync.messaging.subscriber import consumer_name
from revsync.unit_of_work import UnitOfWork

from services.console.sync_runs import record_listing

log = get_logger(__name__)
SEEN_WORKERS = 4


class SeenChange(Message):
    """Any change, read leniently: only the envelope, the kind and the run's fields."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
    kind: str
    sync_run_id: UUID | None = None
    total: int | None = None
    endpoint: dict[str, Any] | None = None  # endpoints are listed (and totalled) by category


def counted_as(change: Any, kind: str) -> str:
    """The row a `seen` change counts in: its kind, or for endpoints kind and category (each
    category is listed, and totalled, on its own)."""
    endpoint = getattr(change, "endpoint", None)
    category = endpoint.get("category") if isinstance(endpoint, dict) else None
    category = category or getattr(endpoint, "category", None)
    return f"{kind}:{category}" if category else kind


def change_classes() -> list[type[Change]]:
    """Every change contract, in a fixed order (their system and entity name the subjects)."""
    found: list[type[Change]] = []
    for module in (rmm, revio):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Change) and value is not Change:
                found.append(value)
    return sorted(found, key=lambda c: (c.system, c.entity))


async def count_seen(pool: asyncpg.Pool, consumer: str, change: Any, kind: str) -> None:
    if change.kind != "seen" or change.sync_run_id is None:
        return
    async with UnitOfWork(pool, change.tenant_id, consumer=consumer, cause=change) as uow:
        if uow.already_processed:
            return
        await uow.conn.execute(
            "INSERT INTO sync_run_seen AS s (tenant_id, run_id, kind, seen, total)"
            " VALUES ($1, $2, $3, 1, $4) ON CONFLICT (tenant_id, run_id, kind) DO UPDATE"
            " SET seen = s.seen + 1, total = coalesce(excluded.total, s.total),"
            " updated_at = now()",
            change.tenant_id,
            change.sync_run_id,
            counted_as(change, kind),
            change.total,
        )


class ConsoleConsumers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        service: str = "console",
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.pool, self.service = pool, service
        self.policy = policy or DeliveryPolicy()
        self.seen_consumers: list[str] = []

    def register(self, broker: NatsBroker) -> None:
        for change in change_classes():
            self._register_seen(broker, change.system, change.entity)
        for system in ("rmm", "revio"):
            durable_subscriber(
                broker,
                service=self.service,
                name=f"listing-{system}",
                subject=f"result.*.{system}.listing.start",
                model=Result,
                handler=self.on_listing_result,
                policy=self.policy,
            )

    def _register_seen(self, broker: NatsBroker, system: str, entity: str) -> None:
        kind, name = f"{system}.{entity}", f"seen-{system}-{entity}"
        inbox = f"{self.service}-seen"

        async def handler(change: SeenChange) -> None:
            await count_seen(self.pool, inbox, change, kind)

        handle: Callable[[Any], Awaitable[None]] = handler
        self.seen_consumers.append(consumer_name(self.service, name))
        durable_subscriber(
            broker,
            service=self.service,
            name=name,
            subject=f"change.*.{system}.{entity}.seen",
            model=SeenChange,
            handler=handle,
            policy=self.policy,
            workers=SEEN_WORKERS,
        )

    async def on_listing_result(self, result: Result) -> None:
        async with UnitOfWork(
            self.pool, result.tenant_id, consumer=f"{self.service}-listing", cause=result
        ) as uow:
            if uow.already_processed:
                return
            run_id = await record_listing(
                result.tenant_id,
                uow,
                result.command_id,
                result.correlation_id,
                result.system,
                result.status.value,
                result.reason,
                result.external_ids,
            )
        if run_id is None:
            log.warning(
                "listing result of no known sync run",
                tenant_id=result.tenant_id,
                command_id=str(result.command_id),
            )

    async def pending(self, js: JetStreamContext) -> int:
        """Changes not yet consumed by the console's counting consumers."""
        total = 0
        for name in self.seen_consumers:
            info = await js.consumer_info("CHANGES", name)
            total += info.num_pending + info.num_ack_pending
        return total
