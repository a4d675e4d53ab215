"""Fairness between tenants in one subscriber: a tenant flooding slow messages never has more
than its bound in flight, does not stall another tenant, and its deferrals never count toward
the dead-letter queue (real NATS JetStream)."""

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ClassVar

import pytest
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from opentelemetry import trace
from prometheus_client import REGISTRY
from revsync.contracts import Command, Subjects
from revsync.devservers import DevServers
from revsync.messaging import DeliveryPolicy, durable_subscriber, make_broker, publish

FAIR = DeliveryPolicy(
    max_deliver=3,
    backoff_s=(0.05, 0.1),
    ack_wait_s=10.0,
    tenant_max_in_flight=2,
    defer_s=0.1,
    defer_most_s=1.0,
    tenant_line_most=20,  # a line shorter than the flood: both ways of waiting are used
)


class FairPing(Command):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "fairping"
    note: str


@pytest.fixture
async def broker(servers: DevServers) -> AsyncIterator[NatsBroker]:
    instance = make_broker(servers.nats_url)
    yield instance
    await instance.stop()


async def wait_for(predicate, within_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def dead_letter_count(js: JetStreamContext, tenant: str) -> int:
    state = (await js.stream_info("DLQ", subjects_filter=f"dlq.{tenant}.>")).state
    return sum((state.subjects or {}).values())


def subscribe_to_pings(
    broker: NatsBroker,
    service: str,
    tenant: str,
    handler: Callable[[FairPing], Awaitable[None]],
    policy: DeliveryPolicy,
    workers: int,
) -> None:
    """A fair subscriber of this tenant's `FairPing`s, as the service `service`."""
    durable_subscriber(
        broker,
        service=service,
        name="fairping",
        subject=Subjects.command(tenant, "revio", "ticket", "fairping"),
        model=FairPing,
        handler=handler,
        policy=policy,
        workers=workers,
    )


async def test_a_flooding_slow_tenant_does_not_stall_another_and_stays_within_its_bound(
    broker: NatsBroker, js: JetStreamContext
):
    noisy, quiet = f"t{secrets.token_hex(5)}", f"t{secrets.token_hex(5)}"
    service = f"svc{secrets.token_hex(4)}"
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    handled: dict[str, list[str]] = {noisy: [], quiet: []}
    noisy_done_when_quiet_finished: list[int] = []

    async def slow_for_the_noisy_tenant(command: FairPing) -> None:
        tenant = command.tenant_id
        if tenant not in handled:
            return  # another run's message on the shared stream
        running[tenant] += 1
        peak[tenant] = max(peak[tenant], running[tenant])
        try:
            await asyncio.sleep(0.3 if tenant == noisy else 0.01)
        finally:
            running[tenant] -= 1
        handled[tenant].append(command.note)
        if tenant == quiet and len(handled[quiet]) == 5:
            noisy_done_when_quiet_finished.append(len(handled[noisy]))

    durable_subscriber(
        broker,
        service=service,
        name="fairping",
        subject=Subjects.filter("cmd", system="revio", entity="ticket", last="fairping"),
        model=FairPing,
        handler=slow_for_the_noisy_tenant,
        policy=FAIR,
        workers=4,
    )
    await broker.start()
    await asyncio.gather(
        *(publish(js, FairPing(tenant_id=noisy, note=f"a{i}")) for i in range(100))
    )
    for i in range(5):
        await publish(js, FairPing(tenant_id=quiet, note=f"b{i}"))

    await wait_for(lambda: len(handled[quiet]) == 5, within_s=60)
    await wait_for(lambda: len(handled[noisy]) >= 100, within_s=120)
    await asyncio.sleep(0.5)  # a duplicate would show up now

    # the quiet tenant finished while most of the noisy backlog was still waiting
    assert noisy_done_when_quiet_finished[0] < 50
    assert sorted(handled[quiet]) == [f"b{i}" for i in range(5)]
    assert set(handled[noisy]) == {f"a{i}" for i in range(100)}  # none lost
    assert peak[noisy] == 2  # its bound, never more
    assert await dead_letter_count(js, noisy) == 0
    assert await dead_letter_count(js, quiet) == 0
    consumer = f"{service}-fairping"
    deferrals = REGISTRY.get_sample_value(
        "revsync_tenant_deferrals_total", {"consumer": consumer, "tenant": noisy}
    )
    assert deferrals and deferrals > 0
    in_flight = REGISTRY.get_sample_value(
        "revsync_tenant_in_flight", {"bound": consumer, "tenant": noisy}
    )
    assert in_flight == 0


async def test_a_failing_message_of_a_deferred_tenant_is_dead_lettered_after_its_attempts_only(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    """Deferrals push `num_delivered` past `max_deliver`: the handler still gets all its
    attempts before the message goes to the DLQ."""
    attempts: Counter[str] = Counter()

    async def blocks_or_fails(command: FairPing) -> None:
        if command.tenant_id != tenant:
            return
        if command.note.startswith("block"):
            await asyncio.sleep(1.0)
            return
        attempts[command.note] += 1
        raise RuntimeError("Rev.io said no")

    subscribe_to_pings(
        broker,
        f"svc{secrets.token_hex(4)}",
        tenant,
        blocks_or_fails,
        DeliveryPolicy(
            max_deliver=3,
            backoff_s=(0.05,),
            ack_wait_s=10.0,
            tenant_max_in_flight=1,
            defer_s=0.05,
            defer_most_s=0.1,
            tenant_line_most=0,  # no line: every turned-away delivery is a deferral
        ),
        workers=2,
    )
    await broker.start()
    for i in range(4):
        await publish(js, FairPing(tenant_id=tenant, note=f"block{i}"))
    await publish(js, FairPing(tenant_id=tenant, note="fails"))

    await wait_for(lambda: attempts["fails"] >= 3, within_s=30)
    deadline = asyncio.get_running_loop().time() + 10
    while await dead_letter_count(js, tenant) == 0:
        assert asyncio.get_running_loop().time() < deadline, "never dead-lettered"
        await asyncio.sleep(0.1)
    assert attempts["fails"] == 3
    letter = await js.get_last_msg("DLQ", f"dlq.{tenant}.cmd.revio.ticket.fairping")
    headers = letter.headers or {}
    assert headers["Revsync-Attempts"] == "3"
    assert int(headers["Revsync-Deliveries"]) > 3  # the deferrals, which did not count


async def test_a_tenants_backlog_waits_in_line_unacknowledged_and_runs_once_at_its_bound(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    """A backlog shorter than the tenant's line is not deferred at all: each message waits
    in this process (kept alive past `ack_wait`) and runs as soon as a slot frees."""
    service = f"svc{secrets.token_hex(4)}"
    runs: Counter[str] = Counter()
    running, peak = [0], [0]

    async def slow(command: FairPing) -> None:
        if command.tenant_id != tenant:
            return
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            await asyncio.sleep(0.3)
        finally:
            running[0] -= 1
        runs[command.note] += 1

    # the last of 12 messages waits about 1.8 s: past `ack_wait` twice over
    policy = DeliveryPolicy(
        max_deliver=3, ack_wait_s=1.0, tenant_max_in_flight=2, tenant_line_most=50
    )
    subscribe_to_pings(broker, service, tenant, slow, policy, workers=4)
    await broker.start()
    for i in range(12):
        await publish(js, FairPing(tenant_id=tenant, note=f"n{i}"))
    await wait_for(lambda: len(runs) == 12, within_s=30)
    await asyncio.sleep(1.5)  # a redelivery of a message that was not kept alive shows now

    assert runs == Counter({f"n{i}": 1 for i in range(12)}), runs
    assert peak[0] == 2
    consumer = f"{service}-fairping"
    deferred = REGISTRY.get_sample_value(
        "revsync_tenant_deferrals_total", {"consumer": consumer, "tenant": tenant}
    )
    assert not deferred, "the backlog waited in line, it was not deferred"
    info = await js.consumer_info("COMMANDS", consumer)
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_a_message_from_the_line_runs_in_its_own_trace_not_in_the_releasers(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    """A waiting message is started by whichever message releases the slot: it must still
    run in its own delivery's context (trace id from its headers), or its spans and logs
    would be attributed to another message."""
    seen: dict[str, str] = {}

    async def record_trace(command: FairPing) -> None:
        await asyncio.sleep(0.1)
        seen[command.note] = format(trace.get_current_span().get_span_context().trace_id, "032x")

    subscribe_to_pings(
        broker,
        f"svc{secrets.token_hex(4)}",
        tenant,
        record_trace,
        DeliveryPolicy(max_deliver=3, ack_wait_s=10.0, tenant_max_in_flight=1),
        workers=4,
    )
    await broker.start()
    sent: dict[str, str] = {}
    for i in range(6):
        command = FairPing(tenant_id=tenant, note=f"n{i}")
        trace_id = secrets.token_hex(16)
        sent[command.note] = trace_id
        headers = {"Nats-Msg-Id": str(command.message_id),
                   "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}  # fmt: skip
        await js.publish(command.subject, command.to_bytes(), headers=headers)
    await wait_for(lambda: len(seen) == 6, within_s=30)
    assert seen == sent
