"""`GET /api/health`: open to anyone (for probes and dashboards); anonymous callers get the
figures summed over all tenants, signed-in users their tenant's."""

from typing import Any

from fastapi import APIRouter, Request

from services.console.deps import (
    NotAuthenticated,
    TenantNeeded,
    authenticated,
    get_console,
    tenant_scope,
)
from services.console.health import health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="Consumer lag, last polls, vendor calls, dead letters")
async def get_health(request: Request) -> dict[str, Any]:
    console = get_console(request)
    tenant: str | None = None
    if request.headers.get("authorization") or request.cookies:
        try:
            principal = await authenticated(request)
            tenant = await tenant_scope(request, principal)
        except (NotAuthenticated, TenantNeeded):
            tenant = None
    return await health(console.pool, console.js, tenant)
