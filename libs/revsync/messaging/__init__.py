"""JetStream wiring: streams, the broker, publishing, durable subscribers with DLQ."""

from revsync.messaging.broker import make_broker
from revsync.messaging.fairness import TenantSlots
from revsync.messaging.publish import publish
from revsync.messaging.streams import ensure_streams
from revsync.messaging.subscriber import (
    DeliveryPolicy,
    Route,
    durable_subscriber,
    subscribe_routes,
)

__all__ = [
    "DeliveryPolicy",
    "Route",
    "TenantSlots",
    "durable_subscriber",
    "ensure_streams",
    "make_broker",
    "publish",
    "subscribe_routes",
]
