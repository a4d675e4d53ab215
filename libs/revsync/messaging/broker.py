"""The FastStream NATS broker every service uses, with tracing and metrics middlewares.

Subscribers get the message itself (`durable_subscriber`), so the broker applies no
dependency injection: FastStream's would resolve every context argument in a worker thread
(a thread hop per argument per message)."""

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import CollectorRegistry


def make_broker(
    nats_url: str, metrics: CollectorRegistry | None = None, app_name: str = "revsync"
) -> NatsBroker:
    """A broker that traces every message; with `metrics`, also counts them for Prometheus."""
    middlewares: list[object] = [NatsTelemetryMiddleware()]
    if metrics is not None:
        middlewares.append(NatsPrometheusMiddleware(registry=metrics, app_name=app_name))
    return NatsBroker(
        nats_url,
        middlewares=tuple(middlewares),  # type: ignore[arg-type]
        graceful_timeout=10.0,
        logger=None,
        apply_types=False,
    )
