"""Runs one watcher per served tenant: the tenant list is re-read every
`RMM_TENANT_RELOAD_S`, so new tenants start being watched and disabled ones stop, without a
restart. A watcher that ends unexpectedly is logged and started again."""

import asyncio
import os
import socket
import uuid

from revsync.logs import get_logger

from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import TenantRegistry
from services.cwrmm_connector.watchers import TenantWatcher

log = get_logger(__name__)


class Supervisor:
    def __init__(self, registry: TenantRegistry, settings: ConnectorSettings) -> None:
        self.registry, self.settings = registry, settings
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.watchers: dict[str, TenantWatcher] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                await self.refresh()
                await asyncio.sleep(self.settings.rmm_tenant_reload_s)
        finally:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            await self.registry.close()

    async def refresh(self) -> None:
        try:
            wanted = set(await self.registry.served_ids())
        except Exception as error:  # the database is away: keep watching who we watch
            log.warning("tenant list unreadable", error=repr(error))
            wanted = set(self.tasks)
        for tenant_id in sorted(set(self.tasks) - wanted):
            log.info("tenant no longer watched", tenant_id=tenant_id)
            self.tasks.pop(tenant_id).cancel()
            self.watchers.pop(tenant_id, None)
        for tenant_id in sorted(wanted):
            task = self.tasks.get(tenant_id)
            if task is not None and task.done() and not task.cancelled():
                log.error("tenant watcher ended; restarting", tenant_id=tenant_id,
                          error=repr(task.exception()))  # fmt: skip
                task = None
            if task is None:
                watcher = TenantWatcher(self.registry, tenant_id, self.settings, self.holder)
                self.watchers[tenant_id] = watcher
                self.tasks[tenant_id] = asyncio.create_task(watcher.run())
