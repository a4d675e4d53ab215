"""`GET /api/health`: open to anyone (for probes and dashboards); anonymous callers get the
figures summed over all tenants (naming none, and without the outbox's last error, free
text of some tenant's failure), signed-in users their tenant's, and an operator who asks
`?by_tenant=true` every tenant's consumer lag as well. Credentials that do not verify are
refused (401), never taken for anonymous."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from services.console.deps import Caller, TenantNeeded, get_console, known_tenant, tenant_scope
from services.console.health import health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="Consumer lag, last polls, vendor calls, dead letters")
async def get_health(
    request: Request, principal: Caller, by_tenant: bool = False
) -> dict[str, Any]:
    console = get_console(request)
    tenant: str | None = None
    if principal is not None:
        try:
            tenant = await known_tenant(request, await tenant_scope(request, principal))
        except TenantNeeded:  # an operator who names no tenant sees everyone's figures summed
            tenant = None
    if by_tenant and not (principal and principal.is_operator):
        raise HTTPException(403, "only a platform operator sees every tenant's lag")
    report = await health(console.pool, console.js, tenant, every_tenant=by_tenant)
    if principal is None and "outbox" in report:
        # free text of some tenant's failed publish: only the count is for anyone
        report["outbox"]["last_error"] = None
    return report
