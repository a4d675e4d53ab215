"""The Rev.io sandbox app: `create_app(world)` serves account `integration@SANDBOX:sandbox`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.sandbox.common import SandboxControl
from services.sandbox.revio import (
    addresses,
    billing,
    customers,
    inventory,
    journals,
    openapi,
    system,
    ticket_lookups,
    tickets,
    webhooks,
)
from services.sandbox.revio.account_specs import AccountSpec, build_account
from services.sandbox.revio.auth import client_code_of
from services.sandbox.revio.control import RevioAccountsBackend, revio_control_router
from services.sandbox.revio.errors import install_error_handlers
from services.sandbox.revio.notifier import DeliveryPolicy, WebhookNotifier
from services.sandbox.revio.paths import CanonicalPaths
from services.sandbox.revio.ratelimit import RevioRateLimits
from services.sandbox.revio.sandbox import RevioSandbox
from services.sandbox.seed import World, generate_world

DEFAULT_DELIVERY = DeliveryPolicy()
REVIO_LIMITS = RevioRateLimits()  # 500 a minute, 150,000 a day
VENDOR_ROUTERS = (
    system,
    customers,
    addresses,
    billing,
    tickets,
    journals,
    ticket_lookups,
    inventory,
    webhooks,
    openapi,
)
"""Modules whose `router` serves the vendor surface (and `/openapi.json`)."""


def revio_error_body(status: int, message: str) -> dict[str, Any]:
    return {"ok": False, "message": message}


def create_app(
    world: World | None = None,
    *,
    seed: int = 1,
    size: str | int = "demo",
    client_code: str = "SANDBOX",
    username: str = "integration",
    password: str = "sandbox",
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    delivery_policy: DeliveryPolicy = DEFAULT_DELIVERY,
    limits: RevioRateLimits = REVIO_LIMITS,
    rate_limits_enabled: bool = True,
) -> FastAPI:
    """The Rev.io sandbox with one account, its customers from `world` (or `seed`, `size`).

    More accounts come through `POST /_sandbox/accounts`. `app.state.control` is the
    `SandboxControl` (request log, faults, rate-limit switch, snapshots); `app.state.revio`
    the `RevioSandbox` (accounts, webhook notifier). `webhook_transport` reroutes the
    sandbox's outgoing webhook requests (tests).
    """
    sandbox = RevioSandbox(
        notifier=WebhookNotifier(webhook_transport, delivery_policy), limits=limits
    )
    account = AccountSpec(client_code=client_code, username=username, password=password)
    sandbox.add_account(build_account(account, world or generate_world(seed, size)))
    control = SandboxControl(
        RevioAccountsBackend(sandbox),
        lambda request: client_code_of(request.headers),
        error_body=revio_error_body,
        rate_limits_enabled=rate_limits_enabled,
    )
    sandbox.rate_limiting = control.rate_limits

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.notifier.aclose()

    app = FastAPI(
        title="Rev.io sandbox", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.revio = sandbox
    app.state.control = control
    install_error_handlers(app)

    for module in VENDOR_ROUTERS:
        app.include_router(module.router)
    app.include_router(revio_control_router(sandbox))
    control.install(app)
    app.add_middleware(CanonicalPaths)
    return app
