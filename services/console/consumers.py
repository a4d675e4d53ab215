"""The console's consumers (durable, shared by console replicas):

- `seen` changes of every entity -> per-run counts in `sync_run_seen` (once per message id,
  through the inbox), counted in batches (`SeenCounter`): a 10,000-client initial sync lists
  about 100,000 endpoints, and one transaction each cost the console as much CPU as the
  company service's whole matching;
- the connectors' listing results -> `SyncRunListingFinished` on the run.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
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
# messages of a seen consumer in hand at once: each waits for its batch's commit, so this is
# how big a batch can grow (per consumer); one tenant may use all of them (no fairness line:
# a count is cheap, and a listing's changes would otherwise be deferred over and over)
SEEN_WORKERS = 256
SEEN_BATCH_S = 0.2  # a batch is written this long after its first change, or when full
SEEN_BATCH_MOST = 500


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


Counted = tuple[Any, str]  # a seen change and the kind it counts under


async def count_seen_batch(
    pool: asyncpg.Pool, consumer: str, tenant_id: str, batch: Sequence[Counted]
) -> None:
    """Count the `seen` changes of one tenant in one transaction: each message once (the
    inbox claims them together), one upsert per (run, kind)."""
    batch = [(c, k) for c, k in batch if c.kind == "seen" and c.sync_run_id is not None]
    if not batch:
        return
    async with UnitOfWork(pool, tenant_id, consumer=consumer) as uow:
        fresh = {id(c) for c in await uow.claim([change for change, _ in batch])}
        seen: Counter[tuple[UUID, str]] = Counter()
        totals: dict[tuple[UUID, str], int | None] = {}
        for change, kind in batch:
            if id(change) in fresh:
                row = (change.sync_run_id, counted_as(change, kind))
                seen[row] += 1
                totals[row] = change.total if change.total is not None else totals.get(row)
        if not seen:
            return
        rows = sorted(seen)  # one order for every writer of these rows
        await uow.conn.execute(
            "INSERT INTO sync_run_seen AS s (tenant_id, run_id, kind, seen, total)"
            " SELECT $1, r, k, n, t FROM unnest($2::uuid[], $3::text[], $4::int[], $5::int[])"
            " AS u(r, k, n, t) ON CONFLICT (tenant_id, run_id, kind) DO UPDATE"
            " SET seen = s.seen + excluded.seen, total = coalesce(excluded.total, s.total),"
            " updated_at = now()",
            tenant_id,
            [run for run, _ in rows],
            [kind for _, kind in rows],
            [seen[row] for row in rows],
            [totals[row] for row in rows],
        )


async def count_seen(pool: asyncpg.Pool, consumer: str, change: Any, kind: str) -> None:
    await count_seen_batch(pool, consumer, change.tenant_id, [(change, kind)])


class SeenCounter:
    """Collects the `seen` changes the consumers hand it and writes them in batches (at most
    `most`, at most `batch_s` after the first); `count` returns once its change is committed,
    so the message is acknowledged only then, and a failed batch fails each of its messages
    (redelivered, and claimed once)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        consumer: str,
        batch_s: float = SEEN_BATCH_S,
        most: int = SEEN_BATCH_MOST,
    ) -> None:
        self.pool, self.consumer, self.batch_s, self.most = pool, consumer, batch_s, most
        self._batch: list[tuple[Any, str, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def count(self, change: Any, kind: str) -> None:
        if change.kind != "seen" or change.sync_run_id is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.append((change, kind, done))
        if len(self._batch) >= self.most:
            self._write()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.batch_s, self._write)
        await done

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, []
        if batch:
            task = asyncio.create_task(self._commit(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _commit(self, batch: list[tuple[Any, str, asyncio.Future[None]]]) -> None:
        tenants: dict[str, list[tuple[Any, str, asyncio.Future[None]]]] = {}
        for item in batch:
            tenants.setdefault(item[0].tenant_id, []).append(item)
        for tenant_id, items in tenants.items():
            try:
                await count_seen_batch(
                    self.pool, self.consumer, tenant_id, [(c, k) for c, k, _ in items]
                )
            except Exception as error:  # each message fails, and is delivered again
                for _, _, done in items:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, _, done in items:
                if not done.done():
                    done.set_result(None)


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
        self.seen = SeenCounter(pool, f"{service}-seen")

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

        async def handler(change: SeenChange) -> None:
            await self.seen.count(change, kind)

        handle: Callable[[Any], Awaitable[None]] = handler
        self.seen_consumers.append(consumer_name(self.service, name))
        durable_subscriber(
            broker,
            service=self.service,
            name=name,
            subject=f"change.*.{system}.{entity}.seen",
            model=SeenChange,
            handler=handle,
            policy=replace(self.policy, tenant_max_in_flight=SEEN_WORKERS),
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
