"""Helpers of the tracing, scaling and replay e2e tests.

`OtlpReceiver` is a tiny OTLP/HTTP collector run in the test process: it accepts
`POST /v1/traces` (protobuf, optionally gzip) from every service of a stack, decodes each
`ExportTraceServiceRequest` with `opentelemetry-proto` and keeps the spans, so a test can
read whole traces across processes.
"""

import gzip
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from revsync.devservers import free_port

from tests.e2e.stack import E2EStack, E2ETenant, Process

SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer",
              5: "consumer"}  # fmt: skip


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    attributes: dict[str, Any] = field(hash=False, compare=False)
    start_ns: int = field(default=0, compare=False)
    end_ns: int = field(default=0, compare=False)

    def describe(self) -> str:
        return f"{self.service}: {self.name} ({self.kind})"


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which)


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=SPAN_KINDS.get(span.kind, str(span.kind)),
                        service=service,
                        attributes={kv.key: _value(kv.value) for kv in span.attributes},
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                    )
                )
    return spans


class OtlpReceiver:
    """Collects the spans exported to `http://127.0.0.1:<port>/v1/traces`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                spans = decode(body)
                with receiver._lock:
                    receiver._spans.extend(spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "OtlpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self, where: Callable[[Span], bool] = lambda _: True) -> list[Span]:
        with self._lock:
            return [span for span in self._spans if where(span)]

    def trace(self, trace_id: str) -> dict[str, Span]:
        """The spans of one trace, by span id."""
        return {s.span_id: s for s in self.spans(lambda s: s.trace_id == trace_id)}


def ancestry(span: Span, trace: dict[str, Span]) -> Iterator[Span]:
    """`span`, its parent, its parent's parent... as far as the received spans go."""
    current: Span | None = span
    while current is not None:
        yield current
        current = trace.get(current.parent_span_id) if current.parent_span_id else None


def http_url(span: Span) -> str:
    return str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")


def http_method(span: Span) -> str:
    return str(
        span.attributes.get("http.request.method") or span.attributes.get("http.method") or ""
    )


# -- tenants ---------------------------------------------------------------------------------


async def linked_endpoints(tenant: E2ETenant) -> list[tuple[dict[str, Any], str]]:
    """Platform endpoints of companies linked to a Rev.io customer, each with the customer."""
    return await tenant.linked_endpoints()


async def tickets_with(tenant: E2ETenant, customer_id: str, marker: str) -> list[dict[str, Any]]:
    """Rev.io tickets of a customer whose subject or description holds `marker`."""
    tickets = await tenant.revio_all("/Tickets", customer_id=customer_id)
    return [
        t
        for t in tickets
        if marker in (t.get("subject") or "") or marker in (t.get("description") or "")
    ]


# -- processes -------------------------------------------------------------------------------


@contextmanager
def extra_replicas(stack: E2EStack, *names: str) -> Iterator[list[Process]]:
    """One more (ready) replica of each service in `names`; stopped and forgotten afterwards,
    so the stack is left as it was."""
    started: list[Process] = []
    try:
        for name in names:
            started.append(stack.add_replica(name))
        for process in started:
            stack.wait_ready(process)
        yield started
    finally:
        for process in started:
            process.stop()
            stack.processes[process.name].remove(process)


@contextmanager
def stopped(stack: E2EStack, *names: str) -> Iterator[list[Process]]:
    """Every replica of the services in `names` stopped (SIGTERM) for the block, then started
    again and waited for."""
    processes = [p for name in names for p in stack.processes[name] if p.alive()]
    for process in processes:
        process.stop()
    try:
        yield processes
    finally:
        for process in processes:
            process.start()
        for process in processes:
            stack.wait_ready(process)


def handled(metrics_text: str, handler: str) -> int:
    """Messages a process acknowledged after handling on subjects starting with `handler`,
    from FastStream's Prometheus counter in its `/metrics`."""
    total = 0.0
    pattern = re.compile(r"^faststream_received_processed_messages_total\{(.*)\} (\S+)$")
    for line in metrics_text.splitlines():
        found = pattern.match(line)
        if found is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if labels.get("handler", "").startswith(handler) and labels.get("status") == "acked":
            total += float(found.group(2))
    return int(total)
