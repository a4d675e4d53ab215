"""Direct publishing of a contract message to JetStream, always with `Nats-Msg-Id`.

Domain services do not publish directly: they send through the unit of work's outbox.
Connectors publish observed changes and command results with this.
"""

from nats.js import JetStreamContext
from nats.js.api import PubAck

from revsync.contracts.base import Message
from revsync.unit_of_work import trace_headers


async def publish(
    js: JetStreamContext, message: Message, headers: dict[str, str] | None = None
) -> PubAck:
    all_headers = {**trace_headers(), **(headers or {}), "Nats-Msg-Id": str(message.message_id)}
    return await js.publish(message.subject, message.to_bytes(), headers=all_headers)
