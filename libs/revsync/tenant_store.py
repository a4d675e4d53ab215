"""Saving and loading tenants: settings as events, secrets encrypted beside them; and the
cache of tenants' settings that services decide with.

A tenant's lifecycle (created, disabled, enabled) is recorded on its `tenant` stream, with the
actor, in the same transaction as the `tenants` row it changes."""

import time
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import SecretStr

from revsync.contracts.settings import settings_changes
from revsync.db import Conn
from revsync.eventlog.model import NO_STREAM, ConcurrencyError, NewEvent, RecordedEvent
from revsync.projection import Projection
from revsync.secrets_box import SecretBox
from revsync.tenancy import SyncSettings, Tenant
from revsync.unit_of_work import UnitOfWork

SETTINGS_STREAM = "settings"
LIFECYCLE_STREAM = "tenant"
CREATED, DISABLED, ENABLED = "TenantCreated", "TenantDisabled", "TenantEnabled"
SECRET_FIELDS = {
    "rmm.client_secret": ("rmm", "client_secret"),
    "revio.password": ("revio", "password"),
    "revio.subscription_key": ("revio", "subscription_key"),
}


def public_config(tenant: Tenant) -> dict[str, Any]:
    """The tenant as it may be logged, stored in the event log and returned by the API."""
    secret_parts: dict[str, set[str]] = {}
    for section, name in SECRET_FIELDS.values():
        secret_parts.setdefault(section, set()).add(name)
    return tenant.model_dump(mode="json", exclude=secret_parts)  # type: ignore[arg-type]


def _secrets_of(tenant: Tenant) -> dict[str, str]:
    found = {}
    for key, (section, name) in SECRET_FIELDS.items():
        value: SecretStr | None = getattr(getattr(tenant, section), name)
        if value is not None and value.get_secret_value():
            found[key] = value.get_secret_value()
    return found


class TenantExists(Exception):
    """A tenant of that id exists already."""


class UnknownTenant(Exception):
    """No tenant of that id exists."""


class TenantStore:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox | None = None) -> None:
        self.pool = pool
        self._box = box

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox()
        return self._box

    async def save(self, tenant: Tenant, actor: str) -> list[str]:
        """Record the settings (an event naming the settings that changed, old -> new, and the
        secrets that changed, never their values: `revsync.contracts.settings`), update the
        tenants projection and store the new secrets, in one transaction. Returns what changed,
        by name (settings, then secrets); a save that changes nothing records nothing: []."""
        async with UnitOfWork(self.pool, tenant.id, consumer="console", actor=actor) as uow:
            return await self._save_in(uow, tenant)

    async def create(self, tenant: Tenant, actor: str) -> list[str]:
        """Save a new tenant and record its creation; TenantExists if the id is taken."""
        try:
            async with UnitOfWork(self.pool, tenant.id, consumer="console", actor=actor) as uow:
                taken = await uow.conn.fetchval(
                    "SELECT 1 FROM tenants WHERE tenant_id = $1", tenant.id
                )
                if taken:
                    raise TenantExists(tenant.id)
                created = NewEvent(CREATED, {"name": tenant.name, "enabled": tenant.enabled})
                await uow.append(LIFECYCLE_STREAM, [created], expected_version=NO_STREAM)
                return await self._save_in(uow, tenant)
        except (ConcurrencyError, asyncpg.UniqueViolationError):
            raise TenantExists(tenant.id) from None

    async def set_enabled(self, tenant_id: str, enabled: bool, actor: str) -> bool:
        """Disable or enable the tenant (an event with the actor, and the `tenants` row);
        returns whether anything changed. UnknownTenant if there is no such tenant."""
        async with UnitOfWork(self.pool, tenant_id, consumer="console", actor=actor) as uow:
            current = await uow.conn.fetchval(
                "SELECT enabled FROM tenants WHERE tenant_id = $1 FOR UPDATE", tenant_id
            )
            if current is None:
                raise UnknownTenant(tenant_id)
            if current == enabled:
                return False
            lifecycle = NewEvent(ENABLED if enabled else DISABLED, {})
            await uow.append(LIFECYCLE_STREAM, [lifecycle], projections=[TENANTS])
        return True

    async def _save_in(self, uow: UnitOfWork, tenant: Tenant) -> list[str]:
        secrets = _secrets_of(tenant)  # only new ones: a tenant to save holds no stored secret
        config = public_config(tenant)
        before = await uow.conn.fetchval(
            "SELECT config FROM tenants WHERE tenant_id = $1 FOR UPDATE", tenant.id
        )
        changes = settings_changes(before, config)
        if before is not None and not changes and not secrets:
            return []
        data: dict[str, Any] = {"config": config, "secrets_changed": sorted(secrets)}
        if before is not None:  # a first save has none: `config` says it all
            data["changes"] = [change.model_dump(mode="json") for change in changes]
        changed = NewEvent("SettingsChanged", data)
        await uow.append(SETTINGS_STREAM, [changed], projections=[TENANTS])
        for key, value in secrets.items():
            await uow.conn.execute(
                "INSERT INTO tenant_secrets (tenant_id, name, ciphertext) VALUES ($1, $2, $3)"
                " ON CONFLICT (tenant_id, name) DO UPDATE SET ciphertext = excluded.ciphertext,"
                " updated_at = now()",
                tenant.id,
                key,
                self.box.seal(value),
            )
        return [change.field for change in changes] + sorted(secrets)

    async def load(self, tenant_id: str, with_secrets: bool = True) -> Tenant | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT config FROM tenants WHERE tenant_id = $1", tenant_id)
            if row is None:
                return None
            data = row["config"]
            if with_secrets:
                for secret in await conn.fetch(
                    "SELECT name, ciphertext FROM tenant_secrets WHERE tenant_id = $1", tenant_id
                ):
                    section, name = SECRET_FIELDS[secret["name"]]
                    data[section][name] = self.box.open(secret["ciphertext"])
        return Tenant.model_validate(data)

    async def list_ids(self, enabled_only: bool = True) -> list[str]:
        query = "SELECT tenant_id FROM tenants" + (" WHERE enabled" if enabled_only else "")
        async with self.pool.acquire() as conn:
            return [r["tenant_id"] for r in await conn.fetch(query + " ORDER BY tenant_id")]


async def set_enabled_row(conn: Conn, tenant_id: str, enabled: bool, at: datetime) -> None:
    """The `tenants` row after a TenantDisabled/TenantEnabled (its column and its config)."""
    await conn.execute(
        "UPDATE tenants SET enabled = $2,"
        " config = jsonb_set(config, '{enabled}', to_jsonb($2::boolean)),"
        " updated_at = $3 WHERE tenant_id = $1",
        tenant_id,
        enabled,
        at,
    )


class TenantsProjection(Projection):
    """`tenants` rows folded from `SettingsChanged` and the lifecycle's `TenantDisabled` /
    `TenantEnabled` (secrets stay in `tenant_secrets`). The store folds its own events
    through it as it appends them, and replay folds the log through it: one fold, so a
    rebuilt row is the row the store wrote (its `updated_at` is the event's `recorded_at`)."""

    name = "tenants"
    tables = ("tenants",)
    categories = (SETTINGS_STREAM, LIFECYCLE_STREAM)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        if event.type in (DISABLED, ENABLED):
            await set_enabled_row(conn, event.tenant_id, event.type == ENABLED, event.recorded_at)
            return
        if event.type != "SettingsChanged":
            return
        config = event.data["config"]
        await conn.execute(
            "INSERT INTO tenants (tenant_id, name, enabled, config, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET"
            " name = excluded.name, enabled = excluded.enabled, config = excluded.config,"
            " updated_at = excluded.updated_at",
            event.tenant_id,
            config["name"],
            config.get("enabled", True),
            config,
            event.recorded_at,
        )


TENANTS = TenantsProjection()


def changes_tenant(event: RecordedEvent) -> bool:
    """Whether the event changes what `TenantStore.load` gives: its settings or lifecycle."""
    return event.stream in (SETTINGS_STREAM, LIFECYCLE_STREAM)


class TenantCache:
    """Tenants' public configuration (no secrets) for decisions, read once and kept `ttl_s`.

    A process that follows the event log hears of every change of a tenant (`changes_tenant`)
    and `forget`s it; it may then keep entries much longer (`ttl_s` is only a safety net), so
    a change takes effect as soon as it is heard, and a process serving many tenants does
    not read each of them again every few seconds."""

    def __init__(self, store: TenantStore, ttl_s: float = 2.0) -> None:
        self.store, self.ttl_s = store, ttl_s
        self._cache: dict[str, tuple[float, Tenant | None]] = {}
        self._generation = 0  # moves on every `forget`: a load it overtook is not kept

    async def get(self, tenant_id: str) -> Tenant | None:
        hit = self._cache.get(tenant_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        generation = self._generation
        tenant = await self.store.load(tenant_id, with_secrets=False)
        if generation == self._generation:  # else it may be older than a change just heard
            self._cache[tenant_id] = (time.monotonic(), tenant)
        return tenant

    async def settings_for(self, tenant_id: str) -> SyncSettings | None:
        """The sync settings of an enabled tenant; None for an unknown or disabled one."""
        tenant = await self.get(tenant_id)
        return tenant.settings if tenant and tenant.enabled else None

    def forget(self, tenant_id: str | None = None) -> None:
        """Drop one tenant's entry (None: every entry); a load in flight is not kept."""
        self._generation += 1
        if tenant_id is None:
            self._cache.clear()
        else:
            self._cache.pop(tenant_id, None)
