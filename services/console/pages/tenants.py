"""The tenant picker of operators (who see every tenant)."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from revsync.contracts.subjects import validate_tenant_id

from services.console.deps import CurrentUser, form_fields, get_console
from services.console.pages.html import esc, page, post_form

router = APIRouter(include_in_schema=False)


@router.get("/tenants")
async def tenants_page(request: Request, principal: CurrentUser) -> Response:
    if not principal.is_operator:
        return RedirectResponse("/", status_code=303)
    console = get_console(request)
    ids = await console.tenants.list_ids(enabled_only=False)
    rows = "".join(
        f"<li>{post_form(principal, '/tenants/select', t, 'secondary', {'tenant': t})}</li>"
        for t in ids
    )
    body = (
        f"<div class='card'><p>Choose the tenant to look at.</p><ul>{rows or '<li>none yet</li>'}"
        "</ul></div><div class='card'><h2>New tenant</h2><form method='post'"
        " action='/tenants/select'>"
        f"<input type='hidden' name='csrf_token' value='{esc(principal.csrf_token)}'>"
        "<div class='field'><label for='f-tenant'>Tenant id</label><div class='help'>Lowercase"
        " letters, digits, '-' or '_'; the wizard then configures it.</div>"
        "<input type='text' id='f-tenant' name='tenant'></div>"
        "<button type='submit'>Configure</button></form></div>"
    )
    return page("Tenants", body, principal, tenant=principal.selected_tenant)


@router.post("/tenants/select")
async def select_tenant(request: Request, principal: CurrentUser) -> Response:
    if not principal.is_operator:
        raise HTTPException(403, "only operators switch tenants")
    chosen = ((await form_fields(request)).get("tenant") or [""])[0].strip()
    try:
        validate_tenant_id(chosen)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    console = get_console(request)
    await console.users.select_tenant(principal.token_hash, chosen)
    known = await console.tenants.load(chosen, with_secrets=False)
    return RedirectResponse("/" if known else "/wizard/initial", status_code=303)
