"""One call sets up OpenTelemetry for a process.

Traces go to the OTLP/HTTP collector in `OTEL_EXPORTER_OTLP_ENDPOINT` (Jaeger accepts OTLP on
4318); with it unset, spans are still created (so trace ids reach the event log and the logs)
but exported nowhere. httpx and asyncpg calls become child spans; FastStream's NATS
middleware (see messaging.broker) carries the context across NATS in `traceparent` headers.
"""

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


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
    AsyncPGInstrumentor().instrument()
    _configured = True
    return provider
