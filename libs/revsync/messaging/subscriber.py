"""The one way a revsync service consumes a JetStream subject.

`durable_subscriber` always gives: a durable pull consumer named after the service (replicas
share it, which is how a service scales out), FastStream's NACK_ON_ERROR ack policy, a
bounded number of deliveries with a growing delay between them, and, when the deliveries are
exhausted or the message cannot be parsed, a copy in the DLQ stream that says why. Nothing is
dropped silently: every message ends acknowledged after handling, or in the DLQ.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import JsClient, NatsMessage
from nats.js.api import ConsumerConfig
from pydantic import ValidationError

from revsync.contracts.base import Message
from revsync.contracts.subjects import Subjects
from revsync.logs import get_logger

log = get_logger(__name__)
M = TypeVar("M", bound=Message)
REASON_HEADER = "Revsync-Dead-Letter-Reason"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how patiently a message is retried before it is dead-lettered."""

    max_deliver: int = 8
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
    ack_wait_s: float = 30.0

    def delay_after(self, deliveries: int) -> float:
        return self.backoff_s[min(deliveries, len(self.backoff_s)) - 1]


def consumer_name(service: str, name: str) -> str:
    return f"{service}-{name}"


async def dead_letter(js: JsClient, message: NatsMessage, consumer: str, reason: str) -> None:
    raw = message.raw_message
    meta = raw.metadata
    headers = {
        **(raw.headers or {}),
        REASON_HEADER: reason[:2000],
        "Revsync-Consumer": consumer,
        "Revsync-Deliveries": str(meta.num_delivered),
        "Revsync-Original-Subject": raw.subject,
        "Nats-Msg-Id": f"dlq-{consumer}-{meta.sequence.stream}",
    }
    await js.publish(Subjects.dead_letter(raw.subject), raw.data, headers=headers)
    log.error(
        "message dead-lettered",
        consumer=consumer,
        subject=raw.subject,
        deliveries=meta.num_delivered,
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
) -> None:
    """Register `handler` for `subject` (a filter such as `cmd.*.revio.ticket.create`)."""
    durable = consumer_name(service, name)
    config = ConsumerConfig(
        durable_name=durable,
        # one spare delivery past the handler's own limit: a message whose handler crashed
        # or timed out on every attempt still reaches the DLQ on that last delivery
        max_deliver=policy.max_deliver + 1,
        ack_wait=policy.ack_wait_s,
    )

    async def consume(message: NatsMessage, js: JsClient) -> None:
        delivered = message.raw_message.metadata.num_delivered
        if delivered > policy.max_deliver:
            await dead_letter(
                js,
                message,
                durable,
                f"no outcome after {policy.max_deliver} deliveries (crash or timeout)",
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
            if delivered >= policy.max_deliver:
                await dead_letter(js, message, durable, f"{type(error).__name__}: {error}")
                return
            log.warning(
                "handler failed; message will be redelivered",
                consumer=durable,
                subject=message.raw_message.subject,
                deliveries=delivered,
                error=f"{type(error).__name__}: {error}",
            )
            raise NackMessage(delay=policy.delay_after(delivered)) from error

    consume.__name__ = f"consume_{durable.replace('-', '_')}"
    broker.subscriber(  # type: ignore[call-overload]
        subject,
        stream=JStream(Subjects.stream_of(subject), declare=False),
        durable=durable,
        config=config,
        pull_sub=PullSub(batch_size=max(1, workers), timeout=1.0),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **({"max_workers": workers} if workers > 1 else {}),
    )(consume)
