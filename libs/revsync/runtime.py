"""How every revsync service process starts, runs and stops.

    async def setup(ctx: ServiceContext) -> list[Coroutine]:
        durable_subscriber(ctx.broker, service=ctx.name, ...)   # message handlers
        return [my_background_loop(ctx)]                        # long-running tasks

    if __name__ == "__main__":
        run_service("alert", setup)

The runtime configures logs and tracing, opens the database pool (applying migrations), the
NATS connection and the FastStream broker, declares the streams, serves `/healthz`,
`/readyz` and `/metrics` on `SERVICE_PORT` (when set), and on SIGTERM/SIGINT stops the
broker first (in-flight messages finish or are redelivered) and then everything else.
"""

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import nats
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import REGISTRY, generate_latest
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from revsync.db import create_pool
from revsync.eventlog.migrate import apply_migrations
from revsync.eventlog.store import EventStore
from revsync.logs import configure_logging, get_logger
from revsync.messaging.broker import make_broker
from revsync.messaging.streams import ensure_streams
from revsync.messaging.subscriber import DeliveryPolicy
from revsync.settings import RuntimeSettings
from revsync.telemetry import setup_telemetry
from revsync.tenant_store import TenantCache, TenantStore

if TYPE_CHECKING:
    import uvicorn

log = get_logger(__name__)


class ServiceSettings(RuntimeSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    service_port: int | None = Field(None, description="health and metrics HTTP port")


@dataclass
class ServiceContext:
    name: str
    settings: ServiceSettings
    pool: asyncpg.Pool
    nats: NatsClient
    js: JetStreamContext
    broker: NatsBroker
    store: EventStore
    tenants: TenantCache
    ready: dict[str, bool] = field(default_factory=dict)

    def delivery_policy(self) -> DeliveryPolicy:
        """The retry policy and per-tenant bound of this process's subscribers."""
        return DeliveryPolicy(
            max_deliver=self.settings.max_deliver,
            tenant_max_in_flight=self.settings.tenant_max_in_flight,
        )


Setup = Callable[[ServiceContext], Awaitable[list[Coroutine[Any, Any, None]]]]


async def serve_http(config: "uvicorn.Config") -> None:
    """Serve an HTTP app as a service's task. The service owns SIGINT and SIGTERM: uvicorn
    would take them over and, when two servers of one process stop (the console and its
    health port), hand back the wrong handler. When the task is cancelled (the service stops),
    the server is stopped as uvicorn means it to be (`should_exit`) and waited for: cancelling
    `serve()` itself logs its lifespan task's CancelledError as an ERROR."""
    import uvicorn

    class ServiceServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = ServiceServer(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise


def _health_config(ctx: ServiceContext, port: int) -> "uvicorn.Config":
    """`/healthz`, `/readyz` and `/metrics`, run by `serve_http`."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def healthz(_: Request) -> Response:
        return JSONResponse({"service": ctx.name, "status": "alive"})

    async def readyz(_: Request) -> Response:
        checks = {"nats": ctx.nats.is_connected}
        try:
            await ctx.pool.fetchval("SELECT 1")
            checks["database"] = True
        except (OSError, asyncpg.PostgresError):
            checks["database"] = False
        ok = all(checks.values())
        return JSONResponse({"service": ctx.name, "checks": checks}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type="text/plain; version=0.0.4")

    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )
    # a probe still waiting on a lost database must not hold the stop up
    return uvicorn.Config(
        app, host="0.0.0.0", port=port, log_level="warning", timeout_graceful_shutdown=5
    )


async def start_context(name: str, settings: ServiceSettings) -> ServiceContext:
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
    client = await nats.connect(settings.nats_url, name=name)
    js = client.jetstream()
    await ensure_streams(js, settings.duplicate_window_s, settings.stream_replicas)
    store = EventStore(pool)
    return ServiceContext(
        name=name,
        settings=settings,
        pool=pool,
        nats=client,
        js=js,
        broker=make_broker(settings.nats_url, metrics=REGISTRY, app_name=name),
        store=store,
        tenants=TenantCache(TenantStore(pool)),
    )


async def serve(name: str, setup: Setup, settings: ServiceSettings | None = None) -> None:
    settings = settings or ServiceSettings(service_name=name)
    configure_logging(name, settings.log_level)
    setup_telemetry(name, settings.otel_exporter_otlp_endpoint)
    ctx = await start_context(name, settings)
    background = await setup(ctx)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await ctx.broker.start()
    tasks = [asyncio.create_task(coro) for coro in background]
    log.info("service started", tasks=len(tasks))
    if settings.service_port:
        tasks.append(asyncio.create_task(serve_http(_health_config(ctx, settings.service_port))))
    try:
        await stop.wait()
    finally:
        log.info("service stopping")
        await ctx.broker.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await ctx.nats.drain()
        await ctx.pool.close()


def run_service(name: str, setup: Setup) -> None:
    asyncio.run(serve(name, setup))
