"""`python -m services.console`: the console API and UI on `CONSOLE_PORT` (8080), its
consumers (sync-run progress: `seen` changes and listing results) and the
sync-run monitor, in one process run by the kernel's service runtime."""

from collections.abc import Coroutine
from typing import Any

import uvicorn
from revsync.messaging.backlog import changes_waiting
from revsync.runtime import ServiceContext, serve, serve_http

from services.console.app import create_app
from services.console.auth import Users
from services.console.config import ConsoleSettings
from services.console.consumers import ConsoleConsumers
from services.console.deps import Console
from services.console.mappings import CompanyServiceMappings
from services.console.sync_progress import DECIDING_CONSUMERS, monitor


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    settings = ctx.settings
    assert isinstance(settings, ConsoleSettings)
    password = settings.revsync_admin_password
    await Users(ctx.pool).ensure_bootstrap_admin(
        settings.revsync_admin_user, password.get_secret_value() if password else None
    )
    consumers = ConsoleConsumers(ctx.pool, service=ctx.name)
    consumers.register(ctx.broker)
    console = Console(
        pool=ctx.pool, settings=settings, mappings=CompanyServiceMappings(ctx.pool), js=ctx.js
    )
    http = uvicorn.Config(
        create_app(console),
        host=settings.console_host,
        port=settings.console_port,
        log_level="warning",
        access_log=False,
    )

    async def pending() -> int:
        return await consumers.pending(ctx.js)

    async def behind() -> bool:
        return await changes_waiting(ctx.js, "CHANGES", DECIDING_CONSUMERS)

    return [serve_http(http), monitor(ctx.pool, settings.sync_quiet_s, pending, behind)]


def main() -> None:
    import asyncio

    asyncio.run(serve("console", setup, ConsoleSettings()))


if __name__ == "__main__":
    main()
