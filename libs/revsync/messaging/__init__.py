"""JetStream wiring: streams, the broker, publishing, durable subscribers with DLQ."""

from revsync.messaging.broker import make_broker
from revsync.messaging.fairness import TenantSlots
from revsync.messaging.publish import publish
from revsync.messaging.streams import ensure_streams
from revsync.messaging.subscriber import DeliveryPolicy, durable_subscriber

__all__ = [
    "DeliveryPolicy",
    "TenantSlots",
    "durable_subscriber",
    "ensure_streams",
    "make_broker",
    "publish",
]
