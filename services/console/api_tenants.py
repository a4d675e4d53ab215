"""`/api/tenants`: a tenant's lifecycle. Operators create, list, disable, enable and delete
tenants; a tenant's admin may also export its own event log (JSON lines).

Creation takes a settings document (see settings_doc.py) with the tenant's id in `tenant`,
checked against the live systems like `PUT /api/settings`, and is the one creation every
way of creating a tenant shares (`settings_service.create_tenant`, also behind the wizard).
Every change but deletion is an event on the tenant's `tenant` stream, with the actor;
deletion is logged. Deletion removes the tenant's rows, then purges its messages from NATS
(tenants.py): a purge that fails leaves the rows deleted and says to delete again, and
deleting a tenant whose rows are gone purges what NATS still holds of it; the RMM token
cached for its connection goes too, unless another tenant shares it (tenant_token.py).
Secrets are write-only: no response holds one."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from revsync.contracts.subjects import validate_tenant_id
from revsync.logs import get_logger
from revsync.tenant_store import TenantExists, UnknownTenant

from services.console.api_settings import REFUSED, refused
from services.console.auth import Principal
from services.console.deps import Console, Ctx, CurrentUser
from services.console.settings_doc import FieldError
from services.console.settings_service import create_tenant, settings_document
from services.console.tenant_token import TokenPlan, settle_token, token_plan
from services.console.tenants import (
    DeleteRefused,
    NoSuchTenant,
    PurgeFailed,
    delete_tenant,
    export_events,
    held_messages,
    list_tenants,
    purge_messages,
)

router = APIRouter(prefix="/api/tenants", tags=["tenants"])
log = get_logger(__name__)
EXAMPLE = {
    "tenant": "acme",
    "name": "Acme MSP",
    "create_mode": True,
    "rmm": {"base_url": "https://rmm.example", "client_id": "...", "client_secret": "..."},
    "revio": {
        "base_url": "https://api.revioapi.com/v1",
        "username": "integration",
        "client_code": "ACME",
        "password": "...",
    },
}


def operator(principal: CurrentUser) -> Principal:
    if not principal.is_operator:
        raise HTTPException(403, "only an operator manages tenants")
    return principal


Operator = Annotated[Principal, Depends(operator)]


def _valid(tenant_id: str) -> str:
    try:
        return validate_tenant_id(tenant_id)
    except ValueError as error:
        raise HTTPException(404, f"no tenant {tenant_id!r}: {error}") from None


def _own(principal: Principal, tenant_id: str) -> str:
    """The tenant of the path, if the caller may see it (an operator, or one of its users)."""
    if not principal.is_operator and principal.tenant_id != tenant_id:
        raise HTTPException(403, "this user belongs to another tenant")
    return _valid(tenant_id)


async def _one(console: Console, tenant_id: str) -> dict[str, Any]:
    found = await list_tenants(console.pool, tenant_id)
    if not found:
        raise HTTPException(404, f"no tenant {tenant_id}")
    return found[0]


@router.get("", summary="Tenants (an operator sees all, anyone else their own)")
async def get_tenants(principal: CurrentUser, console: Ctx) -> list[dict[str, Any]]:
    if principal.is_operator:
        return await list_tenants(console.pool)
    return await list_tenants(console.pool, principal.tenant_id)


@router.post(
    "",
    status_code=201,
    summary="Create a tenant with its connections and settings (checked live)",
    responses={**REFUSED, 409: {"description": "a tenant of that id exists"}},
)
async def post_tenant(
    principal: Operator,
    console: Ctx,
    body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
) -> Any:
    tenant_id = body.get("tenant")
    try:
        validate_tenant_id(tenant_id if isinstance(tenant_id, str) else "")
    except ValueError as error:
        return refused([FieldError("tenant", str(error))])
    assert isinstance(tenant_id, str)
    if await console.tenants.load(tenant_id, with_secrets=False) is not None:
        raise HTTPException(409, f"tenant {tenant_id} exists already")
    try:
        created = await create_tenant(console, tenant_id, body, principal.username)
    except TenantExists:
        raise HTTPException(409, f"tenant {tenant_id} exists already") from None
    if created.errors:
        return refused(created.errors)
    return JSONResponse(await settings_document(console, tenant_id), status_code=201)


@router.get("/{tenant_id}", summary="One tenant: enabled, newest event, newest export")
async def get_tenant(tenant_id: str, principal: CurrentUser, console: Ctx) -> dict[str, Any]:
    return await _one(console, _own(principal, tenant_id))


async def _set_enabled(
    console: Console, tenant_id: str, enabled: bool, actor: str
) -> dict[str, Any]:
    try:
        changed = await console.tenants.set_enabled(_valid(tenant_id), enabled, actor)
    except UnknownTenant:
        raise HTTPException(404, f"no tenant {tenant_id}") from None
    if changed:
        log.info("tenant enabled" if enabled else "tenant disabled", tenant_id=tenant_id,
                 actor=actor)  # fmt: skip
    return await _one(console, tenant_id)


@router.post("/{tenant_id}/disable", summary="Stop syncing: no polls, commands or decisions")
async def disable(tenant_id: str, principal: Operator, console: Ctx) -> dict[str, Any]:
    return await _set_enabled(console, tenant_id, False, principal.username)


@router.post("/{tenant_id}/enable", summary="Resume syncing")
async def enable(tenant_id: str, principal: Operator, console: Ctx) -> dict[str, Any]:
    return await _set_enabled(console, tenant_id, True, principal.username)


@router.get(
    "/{tenant_id}/events",
    summary="Export the tenant's event log: every event in global order, as JSON lines",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export(tenant_id: str, principal: CurrentUser, console: Ctx) -> StreamingResponse:
    tenant_id = _own(principal, tenant_id)
    if not principal.is_operator and principal.role != "admin":
        raise HTTPException(403, "only an admin exports the event log")
    await _one(console, tenant_id)
    return StreamingResponse(
        export_events(console.pool, tenant_id, principal.username),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{tenant_id}-events.jsonl"'},
    )


@router.delete(
    "/{tenant_id}",
    summary="Delete a disabled tenant whose log was exported after its last event, and purge"
    " its messages (dead letters included) from NATS",
    responses={
        404: {"description": "no rows and no messages of that tenant"},
        409: {"description": "refused: what to do first"},
        503: {"description": "no rows of it left, and NATS did not answer: try again"},
    },
)
async def delete(
    tenant_id: str, principal: Operator, console: Ctx, dry_run: bool = False
) -> dict[str, Any]:
    """`rows` removed per table, then `messages` purged per stream, and what became of the RMM
    token cached for the tenant's connection (`rmm_token`: tenant_token.py); when the purge
    fails the rows stay deleted and `messages_error` says to delete again. A tenant whose rows
    are gone but whose messages are not (a failed purge, a late message) has them purged
    (`rows` {}). With `dry_run`, nothing is removed: the same checks (409 says what to do
    first), and the rows, messages and token a deletion would remove now."""
    tenant_id, actor = _valid(tenant_id), principal.username
    token = await token_plan(console.pool, tenant_id)  # read before its rows go
    rows: dict[str, int] | None = None
    try:
        rows = await delete_tenant(console.pool, tenant_id, actor, dry_run=dry_run)
    except NoSuchTenant:
        pass
    except DeleteRefused as refusal:
        raise HTTPException(409, str(refusal)) from None
    if dry_run:
        return await _deletion_plan(console, tenant_id, rows, token)
    try:
        messages = await purge_messages(console.js, tenant_id, actor)
    except PurgeFailed as failure:
        if rows is None:
            raise HTTPException(
                503,
                f"no rows of tenant {tenant_id} are left, but whether NATS holds messages of it"
                f" is unknown ({failure}): delete it again once NATS answers",
            ) from None
        return {
            "deleted": tenant_id,
            "rows": rows,
            "messages_error": f"its messages were not purged from NATS ({failure}):"
            f" delete tenant {tenant_id} again once NATS answers, to purge them",
            "rmm_token": await settle_token(console.js, token, tenant_id, actor),
        }
    if rows is None and not any(messages.values()):
        raise HTTPException(404, f"no tenant {tenant_id}")
    answer: dict[str, Any] = {"deleted": tenant_id, "rows": rows or {}, "messages": messages}
    if rows is not None:  # a retry, after the rows went, no longer knows the connection
        answer["rmm_token"] = await settle_token(console.js, token, tenant_id, actor)
    return answer


async def _deletion_plan(
    console: Console, tenant_id: str, rows: dict[str, int] | None, token: TokenPlan | None
) -> dict[str, Any]:
    """What deleting the tenant would remove now (its checks passed)."""
    plan: dict[str, Any] = {"tenant": tenant_id, "dry_run": True, "rows": rows or {}}
    if rows is not None:
        plan["rmm_token"] = await settle_token(console.js, token, tenant_id, "", dry_run=True)
    try:
        plan["messages"] = await held_messages(console.js, tenant_id)
    except PurgeFailed as failure:
        plan["messages_error"] = f"whether NATS holds messages of it is unknown ({failure})"
        return plan
    if rows is None and not any(plan["messages"].values()):
        raise HTTPException(404, f"no tenant {tenant_id}")
    return plan
