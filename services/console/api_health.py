"""`GET /api/health`: open to anyone (for probes and dashboards); it answers 200 whenever the
console answers, the report's `status` says `ok` or `degraded` (with `problems`). Anonymous
callers get the overall status and coarse figures summed over all tenants (`for_anyone`:
naming no tenant and no sync run, without the outbox's last error, free text of some tenant's
failure, the console's own vendor calls or the checks' error texts), signed-in users their
tenant's, and an operator who asks `?by_tenant=true` every tenant's consumer lag as well.
Credentials that do not verify are refused (401), never taken for anonymous."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from services.console.deps import Caller, TenantNeeded, get_console, known_tenant, tenant_scope
from services.console.health import health

router = APIRouter(prefix="/api", tags=["health"])
FOR_ANYONE = (
    "status",
    "tenant",
    "checks",
    "problems",
    "warnings",
    "dead_letters",
    "outbox",
    "consumers",
    "command_windows",
    "quota",
    "polls",
)
"""What an anonymous caller sees of a report made without a tenant (whose `problems` and
`warnings` name no tenant)."""


def for_anyone(report: dict[str, Any]) -> dict[str, Any]:
    shown = {key: report[key] for key in FOR_ANYONE if key in report}
    shown["checks"] = {name: value.split(":")[0] for name, value in report["checks"].items()}
    if "outbox" in shown:  # free text of some tenant's failed publish: only the counts
        shown["outbox"] = {**shown["outbox"], "last_error": None}
    return shown


@router.get("/health", summary="Status and problems, consumer lag, last polls, dead letters")
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
    return report if principal is not None else for_anyone(report)
