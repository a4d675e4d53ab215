"""The tenants this process serves: one runtime and one watcher task per enabled tenant,
refreshed from the tenant store periodically (a changed tenant is restarted, a disabled or
removed one stopped). Tenants are isolated: each has its own client, limiter and task."""

import asyncio
import contextlib

import asyncpg
from nats.js import JetStreamContext
from revsync.aio import cancel_and_wait
from revsync.connector import Lease, Watermarks
from revsync.logs import get_logger
from revsync.tenant_store import TenantStore

from services.revio_connector.settings import RevioConnectorSettings
from services.revio_connector.tenants import TenantRuntime
from services.revio_connector.watchers import TenantWatcher
from services.revio_connector.webhook_setup import WebhookSetup

log = get_logger(__name__)


class Served:
    def __init__(self, runtime: TenantRuntime, watcher: TenantWatcher) -> None:
        self.runtime, self.watcher = runtime, watcher
        self.task: asyncio.Task[None] | None = None


class TenantRegistry:
    def __init__(
        self,
        settings: RevioConnectorSettings,
        store: TenantStore,
        pool: asyncpg.Pool,
        limiter_pool: asyncpg.Pool,
        js: JetStreamContext,
        holder: str,
        watch: bool = True,
    ) -> None:
        self.settings, self.store, self.pool = settings, store, pool
        self.limiter_pool, self.js, self.holder, self.watch = limiter_pool, js, holder, watch
        self.served: dict[str, Served] = {}
        self._lock = asyncio.Lock()

    async def get(self, tenant_id: str) -> Served | None:
        """The tenant's runtime; loaded at once if it is new since the last refresh."""
        if tenant_id not in self.served:
            await self.refresh([tenant_id])
        return self.served.get(tenant_id)

    async def refresh(self, only: list[str] | None = None) -> None:
        async with self._lock:
            ids = only if only is not None else await self.store.list_ids(enabled_only=True)
            for tenant_id in ids:
                try:
                    tenant = await self.store.load(tenant_id)
                except Exception:
                    log.exception("tenant cannot be loaded; kept as it was", tenant_id=tenant_id)
                    continue
                current = self.served.get(tenant_id)
                if tenant is None or not tenant.enabled:
                    await self._stop(tenant_id)
                elif current is None or current.runtime.tenant != tenant:
                    await self._stop(tenant_id)
                    self._start(TenantRuntime.create(
                        tenant, self.settings, self.pool, self.limiter_pool, self.js
                    ))  # fmt: skip
            if only is None:
                for gone in set(self.served) - set(ids):
                    await self._stop(gone)

    def _start(self, runtime: TenantRuntime) -> None:
        tenant_id = runtime.tenant.id
        watermarks = Watermarks(self.pool, tenant_id, "revio")
        watcher = TenantWatcher(runtime, watermarks, Lease(self.pool, self.holder))
        served = Served(runtime, watcher)
        if self.watch:
            hooks = WebhookSetup(runtime, watermarks, Lease(self.pool, self.holder))
            served.task = asyncio.create_task(watcher.run(on_idle=hooks.maintain))
        self.served[tenant_id] = served
        log.info("tenant served", tenant_id=tenant_id)

    async def _stop(self, tenant_id: str) -> None:
        served = self.served.pop(tenant_id, None)
        if served is None:
            return
        if served.task is not None:
            await cancel_and_wait(served.task)
        with contextlib.suppress(Exception):
            await served.watcher.release()
        await served.runtime.aclose()
        log.info("tenant no longer served", tenant_id=tenant_id)

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("tenant refresh failed; the served tenants are kept")
            await asyncio.sleep(self.settings.revio_tenant_reload_s)

    async def close(self) -> None:
        for tenant_id in list(self.served):
            await self._stop(tenant_id)
