"""The connector's HTTP server: Rev.io webhooks, `/metrics`, `/healthz`, `/readyz`."""

import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client import REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.revio_connector.webhooks import WebhookReceiver

Checks = Callable[[], Awaitable[dict[str, bool]]]


def http_app(receiver: WebhookReceiver, checks: Checks) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"service": "revio-connector", "status": "alive"})

    async def readyz(_: Request) -> Response:
        results = await checks()
        ok = all(results.values())
        return JSONResponse({"checks": results}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/webhooks/revio/{tenant_id}/{token}", receiver.receive, methods=["POST"]),
        ]
    )


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the connector decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server(app: Starlette, port: int, host: str = "0.0.0.0") -> Server:
    return Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
