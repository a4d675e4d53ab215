"""The connector process: command subscribers, one watcher per tenant, and (optionally) an
outbox relay publishing the command results, on the shared service runtime (health,
metrics, graceful stop)."""

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from revsync.connector.rmm_tokens import open_bucket
from revsync.outbox import OutboxRelay
from revsync.runtime import ServiceContext, serve
from revsync.secrets_box import SecretBox

from services.cwrmm_connector.client.token_store import KvTokenStore
from services.cwrmm_connector.handlers import CommandHandlers
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.supervisor import Supervisor
from services.cwrmm_connector.tenants import TenantRegistry


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    settings = cast(ConnectorSettings, ctx.settings)
    tokens = KvTokenStore(await open_bucket(ctx.js), SecretBox())
    registry = TenantRegistry(ctx.pool, ctx.js, tokens, settings)
    CommandHandlers(registry, ctx.pool, settings).register(ctx.broker)
    background: list[Coroutine[Any, Any, None]] = [Supervisor(registry, settings).run()]
    if settings.rmm_run_outbox_relay:
        background.append(OutboxRelay(ctx.pool, ctx.js).run())
    return background


def main() -> None:
    settings = ConnectorSettings()
    asyncio.run(serve(settings.service_name, setup, settings))
