"""`RevioApi`: the Rev.io billing REST API v1 behind one class, speaking normalized contracts.

Watchers and handlers use only this class's methods, never vendor JSON; an implementation
for Rev.io's newer PSA API (`api.psarev.io`, JWT from an API key, camelCase, `{"data": ...}`)
would provide the same methods.
"""

from zoneinfo import ZoneInfo

import asyncpg
from revsync.tenancy import RevioConnection
from revsync.vendor import SharedRateLimiter

from services.revio_connector.client.hooks import RevioHooks
from services.revio_connector.client.http import RevioHttp, make_client, revio_limit
from services.revio_connector.client.reads import RevioReads
from services.revio_connector.client.writes import RevioWrites


class RevioApi(RevioReads, RevioWrites, RevioHooks):
    def __init__(self, tenant_id: str, http: RevioHttp, zone: ZoneInfo) -> None:
        self.tenant_id, self.http, self.zone = tenant_id, http, zone
        self._type_names = None

    async def check_credentials(self) -> None:
        """`GET /v1/SystemStatus`: raises a classified error unless the credentials work."""
        await self.http.get("SystemStatus", "SystemStatus")

    async def aclose(self) -> None:
        await self.http.client.aclose()


def connect(
    tenant_id: str,
    connection: RevioConnection,
    limiter_pool: asyncpg.Pool | None,
    *,
    zone: str = "UTC",
    timeout_s: float = 30.0,
    per_minute: int = 500,
    per_day: int = 150_000,
) -> RevioApi:
    """The API of one tenant's Rev.io account, with its own client and shared limiter."""
    limiter = SharedRateLimiter(limiter_pool, tenant_id, "revio") if limiter_pool else None
    limit = revio_limit(per_minute, per_day)
    http = RevioHttp(tenant_id, make_client(connection, timeout_s), limiter, limit)
    return RevioApi(tenant_id, http, ZoneInfo(zone))
