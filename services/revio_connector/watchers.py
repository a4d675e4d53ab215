"""Watching one tenant's Rev.io account: polls, reconciliation, targeted fetches, listings.

- customers and tickets are polled by date watermark (`updated_date` / `modified_date`, read
  again `overlap` behind it, since content hashes make re-reads free of duplicates);
- assets have no date in Rev.io: they are listed in full on their own, slower interval;
- every `reconcile_interval` a resource is listed in full instead, which also reports as
  `deleted` the objects that vanished (each confirmed with a 404 first);
- a lease per (tenant, resource) keeps two replicas from polling the same thing at once;
  watermarks, reconciliation times and hashes live in PostgreSQL and survive restarts.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from revsync.connector import Lease, Watermarks
from revsync.logs import get_logger
from revsync.telemetry import span
from revsync.vendor import VendorError

from services.revio_connector.client.listing import Listing
from services.revio_connector.observe import Entity
from services.revio_connector.tenants import TenantRuntime

log = get_logger(__name__)
Resource = Literal["customers", "tickets", "assets"]
ENTITY: dict[Resource, Entity] = {"customers": "customer", "tickets": "ticket", "assets": "asset"}


class TenantWatcher:
    def __init__(self, runtime: TenantRuntime, watermarks: Watermarks, lease: Lease) -> None:
        self.runtime, self.watermarks, self.lease = runtime, watermarks, lease
        self.config = runtime.settings
        self.tenant_id = runtime.tenant.id
        self.polls: Counter[str] = Counter()  # what this replica did, by resource and kind
        self._due: dict[Resource, float] = {}

    def lease_name(self, resource: str) -> str:
        return f"revio:{self.tenant_id}:{resource}"

    async def run(self, on_idle: Callable[[], Awaitable[None]] | None = None) -> None:
        """Poll forever; a failing step is logged and retried at its next turn."""
        while True:
            for resource in ENTITY:
                if time.monotonic() >= self._due.get(resource, 0.0):
                    await self._guarded(resource)
            if on_idle is not None:
                await on_idle()
            wake = min(self._due.values(), default=time.monotonic())
            await asyncio.sleep(max(0.05, min(wake - time.monotonic(), 5.0)))

    async def _guarded(self, resource: Resource) -> None:
        interval = self.config.revio_poll_interval_s
        if resource == "assets":
            interval = self.config.revio_asset_poll_interval_s
        self._due[resource] = time.monotonic() + interval
        try:
            await self.step(resource)
        except VendorError as error:
            log.warning(
                "Rev.io poll failed; retried at its next turn",
                tenant_id=self.tenant_id,
                resource=resource,
                kind=error.kind.value,
                error=str(error),
                payload=error.payload,
            )
        except Exception:
            log.exception("Rev.io poll crashed", tenant_id=self.tenant_id, resource=resource)

    async def step(self, resource: Resource) -> None:
        """One poll of `resource`, if this replica holds its lease."""
        if resource == "assets" and await self.runtime.asset_type_id() is None:
            return
        if not await self.lease.acquire(self.lease_name(resource), self.config.revio_lease_ttl_s):
            return
        reconciled = await self.watermarks.get(f"{resource}.reconciled")
        age = self.config.revio_reconcile_interval_s
        stale = reconciled is None or _parse(reconciled) < _now() - timedelta(seconds=age)
        full = stale or resource == "assets" or await self.watermarks.get(resource) is None
        with span(f"revio {'reconcile' if full else 'poll'} {resource}", tenant_id=self.tenant_id):
            await (self.reconcile(resource) if full else self.poll(resource))

    async def _list(self, resource: Resource, since: datetime | None) -> Listing:  # type: ignore[type-arg]
        api = self.runtime.api
        if resource == "customers":
            return await api.customers(since)
        if resource == "tickets":
            return await api.tickets(since)
        asset_type = await self.runtime.asset_type_id()
        return await api.assets(asset_type) if asset_type else Listing()

    async def poll(self, resource: Resource) -> int:
        """Objects updated since the watermark (less the overlap); returns changes sent."""
        mark = await self.watermarks.get(resource)
        since = _parse(mark) - timedelta(seconds=self.config.revio_poll_overlap_s) if mark else None
        entity = ENTITY[resource]
        began = await self.runtime.observer.read_begins(entity)
        listing = await self._list(resource, since)
        sent = await self.runtime.observer.changed(entity, listing.objects, began)
        await self._advance(resource, listing, mark)
        self.polls[f"{resource}.poll"] += 1
        return sent

    async def reconcile(self, resource: Resource) -> int:
        """List everything: report what changed, and what vanished as `deleted`."""
        started, entity = _now(), ENTITY[resource]
        observer = self.runtime.observer
        known = await observer.known_ids(entity)
        began = await observer.read_begins(entity)
        listing = await self._list(resource, None)
        sent = await observer.changed(entity, listing.objects, began)
        missing = sorted(known - listing.ids)
        gone = [object_id for object_id in missing if await self._vanished(entity, object_id)]
        if gone:
            sent += await observer.deleted(entity, gone)
        await self._advance(resource, listing, await self.watermarks.get(resource))
        await self.watermarks.set(f"{resource}.reconciled", started.isoformat())
        self.polls[f"{resource}.reconcile"] += 1
        return sent

    async def _vanished(self, entity: Entity, object_id: str) -> bool:
        api = self.runtime.api
        if entity == "customer":
            return await api.customer(object_id) is None
        if entity == "ticket":
            return await api.ticket(object_id) is None
        asset = await api.asset(object_id)
        return asset is None or asset.asset_type_id != await self.runtime.asset_type_id()

    async def _advance(self, resource: Resource, listing: Listing, mark: str | None) -> None:  # type: ignore[type-arg]
        dates = [o.updated_at for o in listing.objects if getattr(o, "updated_at", None)]
        if dates and (mark is None or max(dates) > _parse(mark)):
            await self.watermarks.set(resource, max(dates).isoformat())
        elif mark is None and resource != "assets":
            await self.watermarks.set(resource, _now().isoformat())

    async def refresh(self, entity: Entity, object_id: str) -> int:
        """Fetch one object now (a webhook said it changed) and report it if it did."""
        observer, api = self.runtime.observer, self.runtime.api
        began = await observer.read_begins(entity)
        found = await (api.customer(object_id) if entity == "customer" else api.ticket(object_id))
        if found is None:
            return await observer.deleted(entity, [object_id])
        self.polls[f"{entity}.refresh"] += 1
        return await observer.changed(entity, [found], began)

    async def list_everything(self, run_id: UUID) -> dict[str, int]:
        """A sync run's listing: every object as `seen`, tagged with the run and its total."""
        resources = list(ENTITY)  # listed side by side: one's pauses are another's calls
        found = await asyncio.gather(*(self._list(resource, None) for resource in resources))
        listings = dict(zip(resources, found, strict=True))
        observer = self.runtime.observer
        return {
            resource: await observer.seen(ENTITY[resource], run_id, listing.objects)
            for resource, listing in listings.items()
        }

    async def release(self) -> None:
        for resource in ENTITY:
            await self.lease.release(self.lease_name(resource))


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
