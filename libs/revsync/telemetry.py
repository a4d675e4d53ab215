"""One call sets up OpenTelemetry for a process.

Traces go to the OTLP/HTTP collector in `OTEL_EXPORTER_OTLP_ENDPOINT` (Jaeger accepts OTLP on
4318); with it unset, spans are still created (so trace ids reach the event log and the logs)
but exported nowhere. httpx calls become child spans, and so do asyncpg queries when the
spans are exported; FastStream's NATS
middleware (see messaging.broker) carries the context across NATS in `traceparent` headers;
what revsync publishes itself (connectors' changes, the outbox relay) goes through
`producer_span`, and a connector's poll is a `span` of its own, the root of the traces of the
changes it finds.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

_configured = False
TRACER = "revsync"


def setup_telemetry(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the tracer provider once per process and instrument httpx and asyncpg."""
    global _configured
    current = trace.get_tracer_provider()
    if _configured and isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    if otlp_endpoint:  # a span per SQL statement doubles the client's CPU per query: only
        AsyncPGInstrumentor().instrument()  # worth it when someone can look at them
    _configured = True
    return provider


@contextmanager
def span(name: str, **attributes: str) -> Iterator[Span]:
    """An internal span, current inside the block (e.g. `span("rmm poll tickets")`)."""
    with trace.get_tracer(TRACER).start_as_current_span(name, attributes=attributes) as current:
        yield current


@contextmanager
def producer_span(
    subject: str, message_id: str, parent: Mapping[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """A PRODUCER span for publishing one message to `subject`, child of the current span or,
    with `parent`, of the trace context in those headers (an outbox row's); yields the
    headers that make the consumer's span its child."""
    context = propagate.extract(dict(parent)) if parent is not None else None
    attributes = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation": "publish",
        "messaging.message.id": message_id,
    }
    with trace.get_tracer(TRACER).start_as_current_span(
        f"{subject} publish", context=context, kind=SpanKind.PRODUCER, attributes=attributes
    ):
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield headers
