"""Wiring of the asset service: its durable subscribers and the company-link follower.

Subscribes (durable consumers `asset-<name>`, shared by replicas):
- `change.*.rmm.endpoint.*` -> `AssetService.on_endpoint`
- `result.*.revio.asset.*`, `result.*.rmm.endpoint.*` -> `AssetService.on_result`
and runs `follow_company_links` (parked endpoints sync when their company links), a
periodic sweep of parked endpoints, and the release of asset commands held in their command
window (`revsync.command_window`: per tenant and connector, `ASSET_COMMAND_WINDOW` in flight).
"""

from collections.abc import Coroutine
from typing import Any

from faststream.nats import NatsBroker
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from revsync.command_window import CommandWindowSettings, release_periodically
from revsync.contracts import Result, Subjects
from revsync.contracts.rmm import RmmEndpointChanged
from revsync.messaging import DeliveryPolicy, Route, subscribe_routes
from revsync.runtime import ServiceContext

from services.asset.follower import follow_company_links, sweep_periodically
from services.asset.handlers import AssetService

SERVICE = "asset"
CHANGE_ROUTES = ("rmm-endpoints",)  # their lag holds a quiet sync run back (console)
DEFAULT_POLICY = DeliveryPolicy()


class AssetConfig(CommandWindowSettings):
    model_config = SettingsConfigDict(env_prefix="ASSET_", env_file=".env", extra="ignore")

    workers: int = Field(8, ge=1, description="messages handled at once per subscriber")
    sweep_interval_s: float = Field(300.0, gt=0, description="sweep of parked endpoints")


def register(
    broker: NatsBroker,
    service: AssetService,
    name: str = SERVICE,
    tenant: str = "*",
    policy: DeliveryPolicy = DEFAULT_POLICY,
    workers: int = 8,
) -> None:
    """Attach the durable subscribers (`tenant` narrows them, for tests)."""
    routes = [
        Route(CHANGE_ROUTES[0], Subjects.filter("change", tenant, "rmm", "endpoint"),
              RmmEndpointChanged, service.on_endpoint),
        Route("revio-asset-results", Subjects.filter("result", tenant, "revio", "asset"),
              Result, service.on_result),
        Route("rmm-endpoint-results", Subjects.filter("result", tenant, "rmm", "endpoint"),
              Result, service.on_result),
    ]  # fmt: skip
    subscribe_routes(broker, name, routes, policy, workers)


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    config = AssetConfig()
    service = AssetService(
        ctx.pool, ctx.tenants.settings_for, consumer=ctx.name, window=config.window()
    )
    register(
        ctx.broker,
        service,
        name=ctx.name,
        policy=ctx.delivery_policy(),
        workers=config.workers,
    )
    ctx.ready["company-links"] = True
    return [
        follow_company_links(service, ctx.store),
        sweep_periodically(service, config.sweep_interval_s),
        release_periodically(ctx.pool, ctx.name, service.window),
    ]
