"""One tenant's Rev.io side in this process: its API client (own limiter), observer, and the
asset type its assets are inventory items of."""

import time
from dataclasses import dataclass, field

import asyncpg
from nats.js import JetStreamContext
from revsync.logs import get_logger
from revsync.tenancy import Tenant

from services.revio_connector.client.api import RevioApi, connect
from services.revio_connector.observe import Observer
from services.revio_connector.settings import RevioConnectorSettings

log = get_logger(__name__)
_UNRESOLVED = "?"
RETRY_MISSING_TYPE_S = 600.0


@dataclass
class TenantRuntime:
    tenant: Tenant
    api: RevioApi
    observer: Observer
    settings: RevioConnectorSettings
    _asset_type: str | None = field(default=_UNRESOLVED)
    _resolved_at: float = 0.0

    @classmethod
    def create(
        cls,
        tenant: Tenant,
        settings: RevioConnectorSettings,
        pool: asyncpg.Pool,
        limiter_pool: asyncpg.Pool | None,
        js: JetStreamContext,
    ) -> "TenantRuntime":
        api = connect(
            tenant.id,
            tenant.revio,
            limiter_pool,
            zone=settings.revio_time_zone,
            timeout_s=settings.revio_http_timeout_s,
            per_minute=settings.revio_rate_per_minute,
            per_day=settings.revio_rate_per_day,
        )
        return cls(tenant, api, Observer(tenant.id, pool, js), settings)

    def configured_asset_type(self) -> str | None:
        """The tenant's asset type setting, else the connector's default; None: no assets."""
        if not self.tenant.settings.asset_sync_enabled:
            return None
        return self.tenant.settings.asset_type or self.settings.revio_asset_type

    async def asset_type_id(self) -> str | None:
        """The inventory type id of the tenant's assets (looked up once by name; a type
        not found is looked for again after a while)."""
        missing_for = time.monotonic() - self._resolved_at
        if self._asset_type == _UNRESOLVED or (
            self._asset_type is None and missing_for > RETRY_MISSING_TYPE_S
        ):
            configured = self.configured_asset_type()
            resolved = await self.api.asset_type_id(configured) if configured else None
            if configured and resolved is None:
                log.warning(
                    "asset type not found in Rev.io; assets are not watched",
                    tenant_id=self.tenant.id,
                    asset_type=configured,
                )
            self._asset_type, self._resolved_at = resolved, time.monotonic()
        return self._asset_type

    async def aclose(self) -> None:
        await self.api.aclose()
