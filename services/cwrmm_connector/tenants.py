"""The tenants this process serves, each with its own RMM client (token, limiter, lookups).

Tenant configuration is re-read every `RMM_TENANT_RELOAD_S`; a changed RMM connection gets a
new client. Nothing of one tenant is ever used for another.
"""

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
from nats.js import JetStreamContext
from revsync.connector import ObjectHashes
from revsync.logs import get_logger
from revsync.tenancy import Tenant
from revsync.tenant_store import TenantStore

from services.cwrmm_connector.client import RmmClient
from services.cwrmm_connector.client.token_store import KvTokenStore
from services.cwrmm_connector.lookups import TicketLookups
from services.cwrmm_connector.settings import ConnectorSettings

log = get_logger(__name__)
SYSTEM = "rmm"
CLOSE_GRACE_S = 60.0
RELEARN_LIMITS_S = 60.0


@dataclass
class TenantHandle:
    tenant: Tenant
    client: RmmClient
    lookups: TicketLookups
    pool: asyncpg.Pool
    js: JetStreamContext
    field_ids: dict[str, str] = field(default_factory=dict)  # custom field name -> id
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return self.tenant.id

    def hashes(self, entity: str) -> ObjectHashes:
        return ObjectHashes(self.pool, self.tenant.id, SYSTEM, entity)


def _connection(tenant: Tenant) -> tuple[str, str, str]:
    secret = tenant.rmm.client_secret.get_secret_value() if tenant.rmm.client_secret else ""
    return tenant.rmm.url, tenant.rmm.client_id, secret


class TenantRegistry:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        tokens: KvTokenStore,
        settings: ConnectorSettings,
        store: TenantStore | None = None,
    ) -> None:
        self.pool, self.js, self.tokens, self.settings = pool, js, tokens, settings
        self.store = store or TenantStore(pool)
        self._handles: dict[str, TenantHandle] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # per tenant: one slow tenant stalls no other
        self._closing: set[asyncio.Task[None]] = set()

    async def served_ids(self) -> list[str]:
        wanted = self.settings.served_tenants()
        ids = await self.store.list_ids(enabled_only=True)
        return [i for i in ids if wanted is None or i in wanted]

    def serves(self, tenant_id: str) -> bool:
        wanted = self.settings.served_tenants()
        return wanted is None or tenant_id in wanted

    async def get(self, tenant_id: str) -> TenantHandle | None:
        """The tenant's handle, its configuration at most `RMM_TENANT_RELOAD_S` old; None
        for a tenant that does not exist, is disabled, has no RMM connection yet, or is not
        served here."""
        handle = self._handles.get(tenant_id)
        if (
            handle is None
            or time.monotonic() - handle.loaded_at >= self.settings.rmm_tenant_reload_s
        ):
            async with self._locks.setdefault(tenant_id, asyncio.Lock()):
                handle = await self._reload(tenant_id)
        limits = handle.client.limits if handle else None
        if (
            limits
            and not limits.learned
            and time.monotonic() - limits.attempted_at > RELEARN_LIMITS_S
        ):
            await handle.client.learn_limits()  # type: ignore[union-attr]
        return handle

    async def _reload(self, tenant_id: str) -> TenantHandle | None:
        old = self._handles.get(tenant_id)
        tenant = await self.store.load(tenant_id) if self.serves(tenant_id) else None
        if tenant is None or not tenant.enabled or not tenant.rmm.client_id:
            self._handles.pop(tenant_id, None)
            if old is not None:
                self._close_later(old.client)
            return None
        if old is not None and _connection(old.tenant) == _connection(tenant):
            old.tenant, old.loaded_at = tenant, time.monotonic()
            return old
        client = RmmClient.create(tenant, self.pool, self.tokens, self.settings)
        limits = await client.learn_limits()
        log.info("RMM client ready", tenant_id=tenant_id, url=tenant.rmm.url, limits=limits)
        handle = TenantHandle(tenant, client, TicketLookups(client), self.pool, self.js)
        self._handles[tenant_id] = handle
        if old is not None:
            self._close_later(old.client)
        return handle

    def _close_later(self, client: RmmClient) -> None:
        async def close() -> None:
            await asyncio.sleep(CLOSE_GRACE_S)
            await client.close()

        task = asyncio.get_running_loop().create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        for handle in self._handles.values():
            await handle.client.close()
        self._handles.clear()
