"""The tenant picker of operators (who see every tenant)."""

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from revsync.contracts.subjects import validate_tenant_id

from services.console.auth import Principal
from services.console.deps import CurrentUser, TenantNeeded, form_fields, get_console, tenant_scope
from services.console.pages.common import page_router
from services.console.pages.html import csrf_input, esc, field, page, post_form, text_input
from services.console.tenants import list_tenants

router = page_router()


def _row(principal: Principal, tenant: dict[str, Any]) -> str:
    tenant_id = tenant["tenant"]
    choose = post_form(principal, "/tenants/select", tenant_id, "secondary", {"tenant": tenant_id})
    state = "" if tenant["enabled"] else ' <span class="tag">disabled</span>'
    return f"<li>{choose} {esc(tenant['name'])}{state}</li>"


TENANT_HELP = (
    "Lowercase letters, digits, '-' or '_'; the wizard then configures it. Its first step"
    " creates it, disabled: it is served once the wizard's last step is done."
)


async def render_tenants(
    request: Request,
    principal: Principal,
    typed: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The picker, and the new tenant form (with what was typed and why it was refused)."""
    console = get_console(request)
    rows = "".join(_row(principal, t) for t in await list_tenants(console.pool))
    tenant_field = field("tenant", "Tenant id", TENANT_HELP, text_input("tenant", typed), error)
    body = (
        f"<div class='card'><p>Choose the tenant to look at.</p><ul>{rows or '<li>none yet</li>'}"
        "</ul></div><div class='card'><h2>New tenant</h2><form method='post'"
        f" action='/tenants/select' id='new-tenant'>{csrf_input(principal)}{tenant_field}"
        "<button type='submit'>Configure</button></form></div>"
    )
    try:
        in_view: str | None = await tenant_scope(request, principal)
    except TenantNeeded:
        in_view = None
    return page("Tenants", body, principal, tenant=in_view, status_code=status_code)


@router.get("/tenants")
async def tenants_page(request: Request, principal: CurrentUser) -> Response:
    if not principal.is_operator:
        return RedirectResponse("/", status_code=303)
    return await render_tenants(request, principal)


@router.post("/tenants/select")
async def select_tenant(request: Request, principal: CurrentUser) -> Response:
    if not principal.is_operator:
        raise HTTPException(403, "only operators switch tenants")
    typed = ((await form_fields(request)).get("tenant") or [""])[0]
    chosen = typed.strip()
    try:
        validate_tenant_id(chosen)
    except ValueError as error:
        return await render_tenants(request, principal, typed, str(error), 422)
    console = get_console(request)
    await console.users.select_tenant(principal.token_hash, chosen)
    known = await console.tenants.load(chosen, with_secrets=False)
    return RedirectResponse("/" if known else "/wizard/initial", status_code=303)
