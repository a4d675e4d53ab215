"""The one way a revsync service consumes a JetStream subject.

`durable_subscriber` always gives: a durable pull consumer named after the service (replicas
share it, which is how a service scales out), FastStream's NACK_ON_ERROR ack policy, a
bounded number of attempts with a growing delay between them, and, when the attempts are
exhausted or the message cannot be parsed, a copy in the DLQ stream that says why. Nothing is
dropped silently: every message ends acknowledged after handling, or in the DLQ.

A connector's command subscriber also answers a command it dead-letters
(`answer_dead_letters`): the issuing service gets a failed `Result` (status `unavailable`, the
reason starting "dead-lettered") and decides on it as on any refusal, visibly, instead of
waiting for the command for ever. A person's later retry from the DLQ may still succeed: its
`Result` then follows the failed one, under the same command id.

Fairness between tenants (ARCHITECTURE section 8). A subscriber with several workers also
bounds, per tenant, the messages this process handles at once (`tenant_max_in_flight`, by
default half the workers; one `TenantSlots` may be shared by several subscribers). A message
whose tenant is at its bound gives its worker back at once and:
- waits in the tenant's line in this process (up to `tenant_line_most` per tenant), kept
  alive with `in_progress` more often than `ack_wait`, and runs as soon as one of the
  tenant's slots is released, with no delay and no redelivery: a tenant's backlog runs at
  its bound's full pace and costs the server nothing more. The subscriber acknowledges by
  hand (AckPolicy.MANUAL) for this: a waiting message leaves the handler unacknowledged;
- or, when its line is full, is NAKed with a short delay that doubles with each delivery
  (jittered, at most `defer_most_s`); or, once the tenant's recent pace is known, with the
  time until its turn is near: its tenant's line and the messages turned away before it
  run first (`TenantSlots.come_back_in_s`, up to `defer_longest_s`). It comes back later,
  possibly to another replica, and a big backlog costs about one deferral per message.
Nothing waits while holding a worker (the stall this prevents), and what waits in memory is
bounded. If the process dies, the waiting messages are simply delivered again.

A deferral is not an attempt, yet JetStream counts it in `num_delivered`. So:
- the consumer of a fair subscriber has no `max_deliver` of its own (JetStream would
  otherwise silently stop delivering a message deferred too often); this code alone decides
  on the DLQ, from `attempts = num_delivered - deferrals`;
- each deferral is recorded, before the NAK, in the `revsync_deferrals` key-value bucket
  (`<consumer>.<stream sequence>`), which every replica shares: the message may come back to
  any of them. It is read only when `num_delivered` alone could mean a DLQ or a longer
  backoff, i.e. on a failure or past `max_deliver` deliveries, so a quiet system never
  touches it;
- whatever goes wrong errs towards counting a deferral as an attempt (a deferral that could
  not be recorded, a key expired after a day): at worst a message reaches the DLQ early,
  where it can be replayed; it is never lost, and a message that crashes its handler every
  time still reaches the DLQ after `max_deliver` attempts.
Deferred messages stay "ack pending" on the server: a fair consumer allows
`max_ack_pending` (20,000 by default) of them, so that a storm of one tenant does not fill
the window that the other tenants' new messages need.
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from uuid import uuid5

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from nats.errors import Error as NatsError
from nats.js import JetStreamContext as JsClient
from nats.js.api import ConsumerConfig
from pydantic import ValidationError

from revsync.contracts.base import Command, Message, Result, ResultStatus
from revsync.contracts.subjects import Subjects
from revsync.logs import get_logger
from revsync.messaging.fairness import (
    DEFERRED,
    Deferrals,
    TenantSlots,
    default_tenant_bound,
    deferral_delay,
)
from revsync.messaging.publish import publish

log = get_logger(__name__)
M = TypeVar("M", bound=Message)
REASON_HEADER = "Revsync-Dead-Letter-Reason"
UNLIMITED = -1


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how patiently a message is retried before it is dead-lettered, and how
    much of a subscriber one tenant may use (`tenant_max_in_flight`; None: half the
    workers)."""

    max_deliver: int = 8
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
    ack_wait_s: float = 30.0
    tenant_max_in_flight: int | None = None
    defer_s: float = 0.25
    # long enough that a tenant's big backlog is not re-delivered dozens of times per message
    # (each deferral is a NAK and a KV write), short enough to refill free slots quickly
    defer_most_s: float = 15.0
    # a deferral waits for its turn to be near, at most this: a pace measured while the
    # tenant was slow (at 15 min, a 10,000-client run's company service sat idle waiting
    # for messages it had sent away when it was busy) must not idle it for long
    defer_longest_s: float = 120.0
    max_ack_pending: int = 20_000
    tenant_line_most: int = 500  # messages of a tenant at its bound waiting in this process

    def delay_after(self, deliveries: int) -> float:
        return self.backoff_s[min(deliveries, len(self.backoff_s)) - 1]


def consumer_name(service: str, name: str) -> str:
    return f"{service}-{name}"


async def dead_letter(
    js: JsClient, message: NatsMessage, consumer: str, reason: str, attempts: int | None = None
) -> None:
    raw = message.raw_message
    meta = raw.metadata
    headers = {
        **(raw.headers or {}),
        REASON_HEADER: reason[:2000],
        "Revsync-Consumer": consumer,
        "Revsync-Deliveries": str(meta.num_delivered),
        "Revsync-Attempts": str(attempts or meta.num_delivered),
        "Revsync-Original-Subject": raw.subject,
        "Nats-Msg-Id": f"dlq-{consumer}-{meta.sequence.stream}",
    }
    await js.publish(Subjects.dead_letter(raw.subject), raw.data, headers=headers)
    log.error(
        "message dead-lettered",
        consumer=consumer,
        subject=raw.subject,
        deliveries=meta.num_delivered,
        attempts=attempts or meta.num_delivered,
        reason=reason[:500],
    )


async def answer_dead_lettered(js: JsClient, command: Command, reason: str) -> None:
    """Tell the issuer of `command` that it was dead-lettered: a failed Result whose id is
    derived from the command's, so answering again (a crash before the ack) is dropped by
    JetStream's duplicate window and the issuer's inbox."""
    failed = Result.of(command, ResultStatus.UNAVAILABLE, reason=f"dead-lettered: {reason}")
    answer = failed.model_copy(update={"message_id": uuid5(command.message_id, "dead-lettered")})
    await publish(js, answer)


async def the_message(message: NatsMessage) -> NatsMessage:
    """What a subscriber's handler is given: the message itself (body, metadata, ack). The
    broker runs no dependency injection (`make_broker`), which would resolve each context
    argument (the message, the JetStream client) in a worker thread, for every message."""
    return message


def durable_subscriber(
    broker: NatsBroker,
    *,
    service: str,
    name: str,
    subject: str,
    model: type[M],
    handler: Callable[[M], Awaitable[None]],
    policy: DeliveryPolicy = DeliveryPolicy(),
    workers: int = 1,
    slots: TenantSlots | None = None,
    answer_dead_letters: bool = False,
) -> None:
    """Register `handler` for `subject` (a filter such as `cmd.*.revio.ticket.create`).

    With `workers > 1` (or explicit `slots`), one tenant's messages are bounded per process
    as the module says; with one worker there is nothing to share and no bound.
    `answer_dead_letters` (commands only): a command dead-lettered after its attempts is
    answered with a failed Result (`answer_dead_lettered`)."""
    if answer_dead_letters and not issubclass(model, Command):
        raise TypeError(f"only commands are answered; {model.__name__} is no Command")
    durable = consumer_name(service, name)
    stream = Subjects.stream_of(subject)
    if slots is None and workers > 1:
        bound = policy.tenant_max_in_flight or default_tenant_bound(workers)
        slots = TenantSlots(bound, durable, policy.tenant_line_most)
    deferrals = Deferrals(durable)
    config = ConsumerConfig(
        durable_name=durable,
        # one spare delivery past the handler's own limit: a message whose handler crashed
        # or timed out on every attempt still reaches the DLQ on that last delivery; a fair
        # consumer has no limit of its own, deferrals are not attempts (module docstring)
        max_deliver=policy.max_deliver + 1 if slots is None else UNLIMITED,
        ack_wait=policy.ack_wait_s,
        max_ack_pending=None if slots is None else policy.max_ack_pending,
    )
    upgraded = False

    async def attempts_of(js: JsClient, message: NatsMessage) -> int:
        """Deliveries of this message that were not fairness deferrals."""
        meta = message.raw_message.metadata
        if slots is None or meta.num_delivered <= 1:
            return meta.num_delivered
        try:
            return meta.num_delivered - await deferrals.count(js, meta.sequence.stream)
        except (NatsError, TimeoutError) as error:
            log.warning(
                "deferrals unknown; every delivery counts", consumer=durable, error=repr(error)
            )
            return meta.num_delivered

    async def unlimit_deliveries(js: JsClient) -> None:
        """A consumer created before fairness existed has a `max_deliver` that deferrals
        would exhaust: lift it (once per process, at the first deferral)."""
        nonlocal upgraded
        upgraded = True
        try:
            info = await js.consumer_info(stream, durable)
            old = info.config
            if old.max_deliver not in (None, UNLIMITED) or (old.max_ack_pending or 0) < (
                policy.max_ack_pending
            ):
                new = replace(old, max_deliver=UNLIMITED, max_ack_pending=policy.max_ack_pending)
                await js.add_consumer(stream, config=new)
                log.info("consumer made fair", consumer=durable, was_max_deliver=old.max_deliver)
        except (NatsError, TimeoutError) as error:
            log.warning("consumer not made fair", consumer=durable, error=repr(error))

    async def defer(message: NatsMessage, js: JsClient, tenant: str) -> None:
        meta = message.raw_message.metadata
        if not upgraded:
            await unlimit_deliveries(js)
        try:
            await deferrals.record(js, meta.sequence.stream, meta.num_delivered)
        except (NatsError, TimeoutError) as error:
            log.warning(
                "fairness deferral not recorded; it will count as an attempt",
                consumer=durable,
                tenant_id=tenant,
                error=repr(error),
            )
        DEFERRED.labels(durable, tenant).inc()
        assert slots is not None  # only a fair subscriber defers
        delay = deferral_delay(
            meta.num_delivered,
            policy.defer_s,
            policy.defer_most_s,
            slots.come_back_in_s(tenant),
            policy.defer_longest_s,
        )
        slots.deferred(tenant, delay)
        await message.nack(delay=delay)

    async def give_up(
        message: NatsMessage, js: JsClient, parsed: M | None, reason: str, attempts: int
    ) -> None:
        await dead_letter(js, message, durable, reason, attempts)
        if answer_dead_letters and parsed is not None:
            await answer_dead_lettered(js, parsed, reason)  # type: ignore[arg-type]

    async def attempt(message: NatsMessage, js: JsClient) -> float | None:
        """Handle one delivery. None: settled (handled, or dead-lettered); else the delay
        after which it must be delivered again."""
        delivered = message.raw_message.metadata.num_delivered
        try:
            parsed = model.from_bytes(message.body)
        except ValidationError as error:
            await dead_letter(js, message, durable, f"malformed {model.__name__}: {error}")
            return None
        if delivered > policy.max_deliver:
            attempts = await attempts_of(js, message)
            if attempts > policy.max_deliver:
                why = f"no outcome after {policy.max_deliver} deliveries (crash or timeout)"
                await give_up(message, js, parsed, why, attempts)
                return None
        try:
            await handler(parsed)
        except Exception as error:
            attempts = await attempts_of(js, message)
            if attempts >= policy.max_deliver:
                why = f"{type(error).__name__}: {error}"
                await give_up(message, js, parsed, why, attempts)
                return None
            log.warning(
                "handler failed; message will be redelivered",
                consumer=durable,
                subject=message.raw_message.subject,
                deliveries=delivered,
                attempts=attempts,
                error=f"{type(error).__name__}: {error}",
            )
            return policy.delay_after(attempts)
        return None

    async def consume_unbounded(message: NatsMessage, js: JsClient) -> None:
        redeliver_in = await attempt(message, js)
        if redeliver_in is not None:
            raise NackMessage(delay=redeliver_in)

    # The fair path acknowledges by hand (AckPolicy.MANUAL): a message that waits in its
    # tenant's line returns from `consume` unacknowledged and is settled when it has run.
    handling = asyncio.Semaphore(max(1, workers))  # what runs at once, waiting lines included
    waiting: dict[int, NatsMessage] = {}  # id -> message in a tenant's line (kept alive)
    running: set[asyncio.Task[None]] = set()
    keep_alive: list[asyncio.Task[None]] = []

    async def run_holding_slot(message: NatsMessage, js: JsClient, tenant: str) -> None:
        assert slots is not None
        try:
            async with handling:
                redeliver_in = await attempt(message, js)
            if redeliver_in is None:
                await message.ack()
            else:
                await message.nack(delay=redeliver_in)
        finally:
            slots.release(tenant)

    def start_waiting(
        message: NatsMessage, js: JsClient, tenant: str, context: contextvars.Context
    ) -> None:
        """Called by `slots.release` with a slot of `tenant` already held for it; runs in
        the message's own context (its trace), not in that of the message that released."""
        waiting.pop(id(message), None)
        task = asyncio.create_task(run_holding_slot(message, js, tenant), context=context)
        running.add(task)
        task.add_done_callback(finished)

    def finished(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(  # not settled: JetStream delivers it again after `ack_wait`
                "message from a tenant's line failed", consumer=durable,
                error=repr(task.exception()),
            )  # fmt: skip

    async def keep_waiting_alive() -> None:
        """Tell JetStream, more often than `ack_wait`, that waiting messages are in hand."""
        every = max(0.5, policy.ack_wait_s / 3)
        while waiting:
            await asyncio.sleep(every)
            for message in list(waiting.values()):
                try:
                    await message.in_progress()
                except (NatsError, TimeoutError) as error:
                    log.warning("waiting message not kept alive", consumer=durable,
                                error=repr(error))  # fmt: skip
        keep_alive.clear()

    async def consume_fairly(message: NatsMessage, js: JsClient) -> None:
        assert slots is not None
        tenant = Subjects.tenant_of(message.raw_message.subject)
        if slots.try_acquire(tenant):
            await run_holding_slot(message, js, tenant)
            return
        context = contextvars.copy_context()  # this delivery's trace, for when it runs
        if slots.wait_for_slot(tenant, lambda: start_waiting(message, js, tenant, context)):
            waiting[id(message)] = message
            if not keep_alive:
                keep_alive.append(asyncio.create_task(keep_waiting_alive()))
            return
        await defer(message, js, tenant)

    handle = consume_unbounded if slots is None else consume_fairly

    async def consume(message: NatsMessage) -> None:
        await handle(message, broker.config.connection_state.stream)

    consume.__name__ = f"consume_{durable.replace('-', '_')}"
    broker.subscriber(  # type: ignore[call-overload]
        subject,
        decoder=the_message,
        stream=JStream(stream, declare=False),
        durable=durable,
        config=config,
        pull_sub=PullSub(batch_size=max(1, workers), timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR if slots is None else AckPolicy.MANUAL,
        **({"max_workers": workers} if workers > 1 else {}),
    )(consume)


@dataclass(frozen=True)
class Route:
    """One subscription of a service: its durable's name, the subject filter, the message
    model and the handler; `workers` overrides the service's number for this route."""

    name: str
    subject: str
    model: type[Message]
    handler: Callable[[Any], Awaitable[None]]
    workers: int | None = None


def subscribe_routes(
    broker: NatsBroker,
    service: str,
    routes: Iterable[Route],
    policy: DeliveryPolicy,
    workers: int,
) -> None:
    """Attach every route of a service as a durable subscriber, all with one policy."""
    for route in routes:
        durable_subscriber(
            broker,
            service=service,
            name=route.name,
            subject=route.subject,
            model=route.model,
            handler=route.handler,
            policy=policy,
            workers=route.workers or workers,
        )
