"""The one way a revsync service consumes a JetStream subject.

`durable_subscriber` always gives: a durable pull consumer named after the service (replicas
share it, which is how a service scales out), FastStream's NACK_ON_ERROR ack policy, a
bounded number of attempts with a growing delay between them, and, when the attempts are
exhausted or the message cannot be parsed, a copy in the DLQ stream that says why. Nothing is
dropped silently: every message ends acknowledged after handling, or in the DLQ.

Fairness between tenants (ARCHITECTURE section 8). A subscriber with several workers also
bounds, per tenant, the messages this process handles at once (`tenant_max_in_flight`, by
default half the workers; one `TenantSlots` may be shared by several subscribers). A message
whose tenant is at its bound is not waited for: it is NAKed at once with a short delay that
doubles with each delivery (jittered, at most `defer_most_s`), so it gives its worker back
to the other tenants and comes back later, possibly to another replica. Waiting instead
(the message kept `in_progress` in a per-tenant queue) would either hold a worker, which is
the stall this prevents, or park an unbounded number of messages in memory.

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

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import JsClient, NatsMessage
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig
from pydantic import ValidationError

from revsync.contracts.base import Message
from revsync.contracts.subjects import Subjects
from revsync.logs import get_logger
from revsync.messaging.fairness import (
    DEFERRED,
    Deferrals,
    TenantSlots,
    default_tenant_bound,
    deferral_delay,
)

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
    max_ack_pending: int = 20_000

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
) -> None:
    """Register `handler` for `subject` (a filter such as `cmd.*.revio.ticket.create`).

    With `workers > 1` (or explicit `slots`), one tenant's messages are bounded per process
    as the module says; with one worker there is nothing to share and no bound."""
    durable = consumer_name(service, name)
    stream = Subjects.stream_of(subject)
    if slots is None and workers > 1:
        slots = TenantSlots(policy.tenant_max_in_flight or default_tenant_bound(workers), durable)
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
        await message.nack(
            delay=deferral_delay(meta.num_delivered, policy.defer_s, policy.defer_most_s)
        )

    async def attempt(message: NatsMessage, js: JsClient) -> None:
        delivered = message.raw_message.metadata.num_delivered
        if delivered > policy.max_deliver:
            attempts = await attempts_of(js, message)
            if attempts > policy.max_deliver:
                await dead_letter(
                    js,
                    message,
                    durable,
                    f"no outcome after {policy.max_deliver} deliveries (crash or timeout)",
                    attempts,
                )
                return
        try:
            parsed = model.from_bytes(message.body)
        except ValidationError as error:
            await dead_letter(js, message, durable, f"malformed {model.__name__}: {error}")
            return
        try:
            await handler(parsed)
        except Exception as error:
            attempts = await attempts_of(js, message)
            if attempts >= policy.max_deliver:
                await dead_letter(
                    js, message, durable, f"{type(error).__name__}: {error}", attempts
                )
                return
            log.warning(
                "handler failed; message will be redelivered",
                consumer=durable,
                subject=message.raw_message.subject,
                deliveries=delivered,
                attempts=attempts,
                error=f"{type(error).__name__}: {error}",
            )
            raise NackMessage(delay=policy.delay_after(attempts)) from error

    async def consume(message: NatsMessage, js: JsClient) -> None:
        if slots is None:
            await attempt(message, js)
            return
        tenant = Subjects.tenant_of(message.raw_message.subject)
        if not slots.try_acquire(tenant):
            await defer(message, js, tenant)
            return
        try:
            await attempt(message, js)
        finally:
            slots.release(tenant)

    consume.__name__ = f"consume_{durable.replace('-', '_')}"
    broker.subscriber(  # type: ignore[call-overload]
        subject,
        stream=JStream(stream, declare=False),
        durable=durable,
        config=config,
        pull_sub=PullSub(batch_size=max(1, workers), timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR,
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
