"""JetStream: raw publish and consume rates, and publishing through our outbox.

Every message is a real command envelope (~220 bytes of JSON) of a tenant of this run alone,
on the COMMANDS stream (declared as the services declare it), with `Nats-Msg-Id` as every
revsync publish has; the run's messages are purged from the stream at the end.
"""

import asyncio
import itertools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from time import perf_counter
from typing import ClassVar

import asyncpg
import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from revsync.contracts import Command
from revsync.db import create_pool
from revsync.messaging import ensure_streams
from revsync.outbox import OutboxRelay
from revsync.unit_of_work import UnitOfWork

from bench.results import Figure

STREAM = "COMMANDS"
ROUNDS = 4


class BenchPing(Command):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "bench"
    verb: ClassVar[str] = "ping"


@dataclass(frozen=True)
class MessagingSizes:
    messages: int = 20_000
    in_flight: int = 256
    fetch_batch: int = 256
    warmup: int = 1_000
    outbox_tx: int = 100

    def scaled(self, scale: float) -> "MessagingSizes":
        return MessagingSizes(
            messages=max(500, round(self.messages * scale)),
            in_flight=self.in_flight,
            fetch_batch=self.fetch_batch,
            warmup=max(100, round(self.warmup * scale)),
            outbox_tx=self.outbox_tx,
        )


Outgoing = tuple[str, bytes, dict[str, str]]


def outgoing(messages: Sequence[BenchPing]) -> list[Outgoing]:
    """Subject, body and headers of each message, made before the clock starts (the relay
    also publishes bodies serialised earlier, when the rows were written)."""
    return [(m.subject, m.to_bytes(), {"Nats-Msg-Id": str(m.message_id)}) for m in messages]


async def publish_raw(js: JetStreamContext, messages: Sequence[Outgoing], window: int) -> float:
    started = perf_counter()
    for first in range(0, len(messages), window):
        await asyncio.gather(
            *(
                js.publish(subject, body, headers=headers)
                for subject, body, headers in messages[first : first + window]
            )
        )
    return perf_counter() - started


async def consume_raw(
    nc: NatsClient, subscription: JetStreamContext.PullSubscription, count: int, batch: int
) -> float:
    received = 0
    started = perf_counter()
    while received < count:
        for message in await subscription.fetch(min(batch, count - received), timeout=10):
            await message.ack()
            received += 1
    await nc.flush()  # every ack has reached the server
    return perf_counter() - started


async def fill_outbox(pool: asyncpg.Pool, tenant: str, count: int, per_tx: int) -> None:
    for first in range(0, count, per_tx):
        async with UnitOfWork(pool, tenant, consumer="bench") as uow:
            for _ in range(min(per_tx, count - first)):
                uow.send(BenchPing(tenant_id=tenant))


async def drain_outbox(relay: OutboxRelay, expected: int) -> float:
    published = 0
    started = perf_counter()
    while batch := await relay.publish_batch():
        published += batch
    seconds = perf_counter() - started
    if published != expected:
        raise RuntimeError(f"relay published {published} rows, {expected} were written")
    return seconds


async def publish_both(
    js: JetStreamContext, pool: asyncpg.Pool, tenant: str, sizes: MessagingSizes
) -> tuple[float, float]:
    """Raw publish and publish through the outbox, in rounds alternating which goes first
    (so load from elsewhere falls on both alike); return each one's summed wall time."""
    relay = OutboxRelay(pool, js)
    await publish_raw(js, outgoing(pings(tenant, sizes.warmup)), sizes.in_flight)  # warm-up
    await fill_outbox(pool, tenant, sizes.warmup, sizes.outbox_tx)
    await drain_outbox(relay, sizes.warmup)
    raw_total = outbox_total = 0.0
    bounds = [sizes.messages * r // ROUNDS for r in range(ROUNDS + 1)]
    for round_, (start, end) in enumerate(itertools.pairwise(bounds)):
        messages = outgoing(pings(tenant, end - start))
        await fill_outbox(pool, tenant, end - start, sizes.outbox_tx)
        raw = partial(publish_raw, js, messages, sizes.in_flight)
        outbox = partial(drain_outbox, relay, end - start)
        if round_ % 2 == 0:
            raw_s = await raw()
            outbox_s = await outbox()
        else:
            outbox_s = await outbox()
            raw_s = await raw()
        raw_total, outbox_total = raw_total + raw_s, outbox_total + outbox_s
    return raw_total, outbox_total


def pings(tenant: str, count: int) -> list[BenchPing]:
    return [BenchPing(tenant_id=tenant) for _ in range(count)]


async def run(
    nats_url: str, database_url: str, sizes: MessagingSizes, log: Callable[[str], None]
) -> list[Figure]:
    tenant = f"bench{secrets.token_hex(4)}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    pool = await create_pool(database_url, max_size=2)
    await ensure_streams(js)
    subscription: JetStreamContext.PullSubscription | None = None
    try:
        log(
            f"jetstream: {sizes.messages} messages published raw ({sizes.in_flight} in flight)"
            f" and through the outbox (rows written in transactions of {sizes.outbox_tx},"
            f" relay drains), {ROUNDS} alternating rounds"
        )
        published, through_outbox = await publish_both(js, pool, tenant, sizes)

        log(f"jetstream: raw consume, pull batches of {sizes.fetch_batch}, ack each")
        subscription = await js.pull_subscribe(
            f"cmd.{tenant}.>",
            durable=f"bench-{tenant}",
            stream=STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1
            ),
        )
        await consume_raw(nc, subscription, sizes.warmup, sizes.fetch_batch)
        consumed = await consume_raw(nc, subscription, sizes.messages, sizes.fetch_batch)
    finally:
        if subscription is not None:
            await subscription.unsubscribe()
            await js.delete_consumer(STREAM, f"bench-{tenant}")
        await js.purge_stream(STREAM, subject=f"cmd.{tenant}.>")
        await pool.close()
        await nc.drain()
    raw_rate = sizes.messages / published
    outbox_rate = sizes.messages / through_outbox
    return [
        Figure(
            "messaging.jetstream_publish.msgs_per_s", "jetstream: raw publish", raw_rate, "msgs/s"
        ),
        Figure(
            "messaging.jetstream_consume.msgs_per_s",
            "jetstream: raw consume (pull, ack)",
            sizes.messages / consumed,
            "msgs/s",
        ),
        Figure(
            "messaging.outbox_publish.msgs_per_s",
            "outbox: publish through relay",
            outbox_rate,
            "msgs/s",
        ),
        Figure(
            "messaging.outbox_publish.ratio_to_raw",
            "outbox: relay / raw publish",
            outbox_rate / raw_rate,
            "x",
        ),
    ]
