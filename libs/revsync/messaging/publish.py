"""Direct publishing of a contract message to JetStream, always with `Nats-Msg-Id`.

Domain services do not publish directly: they send through the unit of work's outbox.
Connectors publish observed changes and command results with this.
"""

from nats.js import JetStreamContext
from nats.js.api import PubAck

from revsync.contracts.base import Message
from revsync.telemetry import producer_span


async def publish(
    js: JetStreamContext, message: Message, headers: dict[str, str] | None = None
) -> PubAck:
    """Publish under a PRODUCER span (child of the current one), whose `traceparent` the
    consumer continues."""
    message_id = str(message.message_id)
    with producer_span(message.subject, message_id) as trace_headers:
        all_headers = {**trace_headers, **(headers or {}), "Nats-Msg-Id": message_id}
        return await js.publish(message.subject, message.to_bytes(), headers=all_headers)
