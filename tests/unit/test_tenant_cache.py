"""`TenantCache`: a tenant's settings are read once and kept, `forget` drops one tenant (or
all), and a load that a change overtook is answered but not kept."""

import asyncio
from typing import Any

from revsync.eventlog.model import RecordedEvent
from revsync.tenancy import SyncSettings, Tenant
from revsync.tenant_store import TenantCache, TenantStore, changes_tenant

HOUR = 3600.0


class FakeStore(TenantStore):
    """The tenants as saved; counts loads; a load can be held at `gate`."""

    def __init__(self, *tenants: Tenant) -> None:
        super().__init__(pool=None)  # type: ignore[arg-type]
        self.saved = {tenant.id: tenant for tenant in tenants}
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self, tenant_id: str, with_secrets: bool = True) -> Tenant | None:
        self.loads += 1
        found = self.saved.get(tenant_id)
        if self.gate is not None:
            await self.gate.wait()
        return found


def tenant(tenant_id: str, minimum: str = "High", enabled: bool = True) -> Tenant:
    settings = SyncSettings(sync_alerts=True, min_alert_severity=minimum)
    return Tenant(id=tenant_id, name=tenant_id, enabled=enabled, settings=settings)


def event(stream: str, type_: str = "SettingsChanged") -> RecordedEvent:
    data: dict[str, Any] = {}
    return RecordedEvent(1, "t1", stream, 1, type_, data, {}, None, 0.0, 1)  # type: ignore[arg-type]


async def test_settings_are_read_once_and_kept() -> None:
    store = FakeStore(tenant("t1"))
    cache = TenantCache(store, ttl_s=HOUR)
    for _ in range(5):
        settings = await cache.settings_for("t1")
        assert settings is not None and settings.min_alert_severity == "High"
    assert store.loads == 1


async def test_an_entry_is_read_again_after_its_time_to_live() -> None:
    store = FakeStore(tenant("t1"))
    cache = TenantCache(store, ttl_s=0.0)
    await cache.settings_for("t1")
    await cache.settings_for("t1")
    assert store.loads == 2


async def test_a_forgotten_tenant_is_read_again_and_the_others_are_kept() -> None:
    store = FakeStore(tenant("t1"), tenant("t2"))
    cache = TenantCache(store, ttl_s=HOUR)
    await cache.settings_for("t1")
    await cache.settings_for("t2")
    store.saved["t1"] = tenant("t1", enabled=False)
    cache.forget("t1")
    assert await cache.settings_for("t1") is None  # disabled: no settings
    assert await cache.settings_for("t2") is not None
    assert store.loads == 3


async def test_forgetting_every_tenant_reads_each_again() -> None:
    store = FakeStore(tenant("t1"), tenant("t2"))
    cache = TenantCache(store, ttl_s=HOUR)
    await cache.settings_for("t1")
    await cache.settings_for("t2")
    cache.forget()
    await cache.settings_for("t1")
    await cache.settings_for("t2")
    assert store.loads == 4


async def test_a_load_overtaken_by_a_change_is_answered_but_not_kept() -> None:
    store = FakeStore(tenant("t1", "High"))
    store.gate = asyncio.Event()
    cache = TenantCache(store, ttl_s=HOUR)
    loading = asyncio.create_task(cache.settings_for("t1"))
    await asyncio.sleep(0)
    store.saved["t1"] = tenant("t1", "Low")
    cache.forget("t1")  # the change is heard while the load (of the old row) is in flight
    store.gate.set()
    assert (await loading).min_alert_severity == "High"  # type: ignore[union-attr]
    settings = await cache.settings_for("t1")
    assert settings is not None and settings.min_alert_severity == "Low"
    assert store.loads == 2


def test_settings_and_lifecycle_events_change_a_tenant_and_others_do_not() -> None:
    assert changes_tenant(event("settings"))
    assert changes_tenant(event("tenant", "TenantDisabled"))
    assert not changes_tenant(event("alert:ep-1:cpu", "AlertTicketRequested"))
    assert not changes_tenant(event("company-link:42", "CompanyLinked"))
