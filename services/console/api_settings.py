"""`/api/settings`: read, replace (PUT) or change (PATCH) a tenant's settings and
connections, validated against the live systems (a save answers what it changed: `changed`);
the lookups the wizard offers; a check of what is stored."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import JSONResponse

from services.console.deps import Ctx, CurrentUser, KnownTenant, TenantId, Writer
from services.console.settings_doc import FieldError
from services.console.settings_service import (
    check_stored,
    lookups,
    save_settings,
    settings_document,
)

router = APIRouter(prefix="/api/settings", tags=["settings"])
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "refused: one error per field, nothing saved",
        "content": {
            "application/json": {
                "example": {"errors": [{"field": "bill_profile", "message": "..."}]}
            }
        },
    }
}
EXAMPLE = {
    "name": "Acme MSP",
    "create_mode": True,
    "endpoint_categories": ["platform", "network"],
    "min_alert_severity": "High",
    "rmm": {"region": "NA", "client_id": "...", "client_secret": "..."},
    "revio": {"username": "integration", "client_code": "ACME", "password": "..."},
}


def refused(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse({"errors": [e.as_json() for e in errors]}, status_code=422)


@router.get("", summary="The settings and connections (secrets are never returned)")
async def get_settings(_: CurrentUser, tenant: KnownTenant, console: Ctx) -> dict[str, Any]:
    found = await settings_document(console, tenant)
    if found is None:
        raise HTTPException(404, f"tenant {tenant} is not configured yet")
    return found


async def _save(
    console: Ctx, tenant: str, body: Any, actor: str, replace: bool
) -> dict[str, Any] | JSONResponse:
    """The settings as saved, and `changed`: what this save changed, by name (settings and
    secrets; empty: nothing to change, so nothing was recorded)."""
    saved = await save_settings(console, tenant, body, actor, replace=replace)
    if saved.errors:
        return refused(saved.errors)
    found = await settings_document(console, tenant)
    assert found is not None
    return {**found, "changed": saved.changed}


@router.put(
    "",
    summary="Replace the settings (absent settings take their defaults; absent secrets stay);"
    " `changed` names what changed",
    responses=REFUSED,
)
async def put_settings(
    principal: Writer,
    tenant: TenantId,
    console: Ctx,
    body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
) -> Any:
    return await _save(console, tenant, body, principal.username, replace=True)


@router.patch(
    "",
    summary="Change some settings (the rest stay); `changed` names what changed",
    responses=REFUSED,
)
async def patch_settings(
    principal: Writer,
    tenant: TenantId,
    console: Ctx,
    body: Annotated[dict[str, Any], Body(examples=[{"min_alert_severity": "Medium"}])],
) -> Any:
    return await _save(console, tenant, body, principal.username, replace=False)


@router.get("/lookups", summary="Bill profiles, ticket types, boards, sources... as read live")
async def get_lookups(_: CurrentUser, tenant: KnownTenant, console: Ctx) -> dict[str, Any]:
    return await lookups(console, await console.tenants.load(tenant))


@router.get("/check", summary="Check the stored settings against the live systems")
async def check(_: CurrentUser, tenant: KnownTenant, console: Ctx) -> dict[str, Any]:
    errors = await check_stored(console, tenant)
    if errors is None:
        raise HTTPException(404, f"tenant {tenant} is not configured yet")
    return {"ok": not errors, "errors": [e.as_json() for e in errors]}
