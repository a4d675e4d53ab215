"""Each tenant's watcher: one loop per resource, each on its own interval.

Before polling, a loop takes the resource's lease (renewed while it polls) and checks the
shared "last polled" time, so replicas neither poll the same resource of a tenant at the
same time nor more often than its interval between them. A failed poll logs its classified
error and is tried again after a pause; it never ends the loop.

Each tick asks whether every resource is due. A watcher remembers the last polled time it
read or wrote, and while that says "not due" it does not ask the database: another replica's
poll only moves the shared time later. So a tick costs a round trip only for a resource that
may be due (and for the pending listings): at the default 1 s tick, a tenant's four timed
resources cost four queries a second without it, for every tenant served.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from revsync.connector import Lease, Watermarks
from revsync.logs import get_logger
from revsync.telemetry import span
from revsync.tenancy import SyncSettings
from revsync.vendor import VendorError

from services.cwrmm_connector import listings, polls
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import SYSTEM, TenantHandle, TenantRegistry

log = get_logger(__name__)
FAILURE_PAUSE_S = 30.0
Job = Callable[[TenantHandle], Awaitable[object]]


class TenantWatcher:
    def __init__(
        self, registry: TenantRegistry, tenant_id: str, settings: ConnectorSettings, holder: str
    ) -> None:
        self.registry, self.tenant_id, self.settings = registry, tenant_id, settings
        self.lease = Lease(registry.pool, holder)
        self.marks = Watermarks(registry.pool, tenant_id, SYSTEM)
        source = settings.rmm_alert_source
        self.jobs: dict[str, tuple[float, Job]] = {
            "companies": (settings.rmm_company_poll_interval_s, polls.companies),
            "endpoints": (settings.rmm_endpoint_poll_interval_s, polls.endpoints),
            "tickets": (settings.rmm_poll_interval_s, lambda h: polls.tickets(h, source)),
            "reconcile": (settings.rmm_reconcile_interval_s, self._reconcile),
            "listings": (0.0, self._listings),
        }
        self._pause_until: dict[str, float] = {}
        self._polled_at: dict[str, float] = {}  # the shared mark, as last read or written here

    @staticmethod
    def wanted(resource: str, rules: SyncSettings) -> bool:
        if resource == "endpoints":
            return rules.asset_sync_enabled and bool(rules.endpoint_categories)
        if resource == "tickets":
            return rules.sync_alerts or rules.sync_manual_tickets
        return True

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(resource) for resource in self.jobs))

    async def _loop(self, resource: str) -> None:
        while True:
            if time.monotonic() >= self._pause_until.get(resource, 0.0):
                try:
                    await self.run_if_due(resource)
                except VendorError as error:
                    self._failed(resource, error, error.payload)
                except Exception as error:  # a bug or an outage: log it, keep the loop alive
                    self._failed(resource, error, None)
            await asyncio.sleep(self.settings.rmm_tick_s)

    def _failed(self, resource: str, error: Exception, payload: str | None) -> None:
        interval = self.jobs[resource][0]
        self._pause_until[resource] = time.monotonic() + min(max(interval, 1.0), FAILURE_PAUSE_S)
        log.warning(
            "RMM poll failed; will try again",
            tenant_id=self.tenant_id,
            resource=resource,
            error=f"{type(error).__name__}: {error}",
            kind=getattr(getattr(error, "kind", None), "value", None),
            payload=payload,
            exc_info=not isinstance(error, VendorError),
        )

    async def run_if_due(self, resource: str, force: bool = False) -> bool:
        """Poll `resource` now if it is due (or `force`d) and no replica is at it."""
        handle = await self.registry.get(self.tenant_id)
        if handle is None or not self.wanted(resource, handle.tenant.settings):
            return False
        interval, job = self.jobs[resource]
        if not force and not await self._due(resource, interval):
            return False
        async with self._leased(resource) as mine:
            if not mine or (not force and not await self._due(resource, interval)):
                return False
            with span(f"rmm poll {resource}", tenant_id=self.tenant_id):  # the changes' root
                await job(handle)
            await self._mark_polled(resource)
        return True

    async def _due(self, resource: str, interval: float) -> bool:
        if resource == "listings":
            return bool(await listings.pending(self.registry.pool, self.tenant_id))
        known = self._polled_at.get(resource)
        if known is not None and time.time() - known < interval:
            return False  # the shared mark can only be later than what we know
        last = await self.marks.get(f"polled:{resource}")
        if last is None and resource == "reconcile":  # the first polls list everything anyway
            await self._mark_polled("reconcile")
            return False
        if last is None:
            return True
        self._polled_at[resource] = float(last)
        return time.time() - float(last) >= interval

    async def _mark_polled(self, resource: str) -> None:
        now = time.time()
        await self.marks.set(f"polled:{resource}", repr(now))
        self._polled_at[resource] = now

    @contextlib.asynccontextmanager
    async def _leased(self, resource: str) -> AsyncIterator[bool]:
        name, ttl = f"cwrmm:{self.tenant_id}:{resource}", self.settings.rmm_lease_ttl_s
        if not await self.lease.acquire(name, ttl):
            yield False
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(ttl / 3)
                await self.lease.acquire(name, ttl)

        renewing = asyncio.create_task(renew())
        try:
            yield True
        finally:
            renewing.cancel()
            await self.lease.release(name)

    async def _reconcile(self, handle: TenantHandle) -> None:
        """Everything again: companies and endpoints (with deletions), every ticket."""
        await polls.companies(handle)
        if self.wanted("endpoints", handle.tenant.settings):
            await polls.endpoints(handle)
        if self.wanted("tickets", handle.tenant.settings):
            await polls.tickets(handle, self.settings.rmm_alert_source, full=True)

    async def _listings(self, handle: TenantHandle) -> None:
        for run_id in await listings.pending(handle.pool, handle.id):
            await listings.run(handle, run_id, self.settings.rmm_alert_source)
