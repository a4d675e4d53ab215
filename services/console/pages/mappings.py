"""Mapping review: suggested and automatic pairs as cards (confirm, reject, unmap, confirm
all), and a search of the unlinked records of either side (Rev.io customers, RMM companies)
to map one by hand: pick it, search the other side, map, confirm. A link whose RMM company
was deleted in RMM says so on its card, and the links tab can show only those."""

from typing import Any
from uuid import UUID

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.console.api_mappings import (
    ManualLink,
    act,
    confirm_all,
    link,
    list_mappings,
    search,
)
from services.console.deps import form_fields
from services.console.pages.common import Page, PageCtx, page_router
from services.console.pages.html import esc, page, post_form, select, url

router = page_router()
TABS = ("suggested", "linked", "held", "rejected", "all")
ACTIONS = {"confirm": "Confirmed", "reject": "Rejected", "unlink": "Unmapped"}
SIDES = {"revio": "Rev.io customer", "rmm": "RMM company"}
UNLINKED = {"revio": "Rev.io customers", "rmm": "RMM companies"}
RMM_DELETED = "RMM company deleted in RMM: unmap it to map the customer to another company"


def _card(ctx: PageCtx, m: dict[str, Any], back: str) -> str:
    buttons = []
    keep = {"back": back}
    if m["state"] == "suggested":
        for number, candidate in enumerate(m["candidates"] or [{"id": m["rmm_company_id"]}]):
            choice = {**keep, "rmm_company_id": str(candidate["id"])}
            label = "Confirm" if number == 0 else f"Confirm {candidate.get('name')}"
            action = f"/mappings/{m['id']}/confirm"
            buttons.append(post_form(ctx.principal, action, label, "", choice))
        buttons.append(
            post_form(ctx.principal, f"/mappings/{m['id']}/reject", "Reject", "secondary", keep)
        )
    if m["state"] == "linked":
        buttons.append(
            post_form(ctx.principal, f"/mappings/{m['id']}/unlink", "Unmap", "danger", keep)
        )
    if m["state"] in ("held", "rejected", "unlinked"):
        target = url("/mappings/link", revio=m["revio_customer_id"], q=m.get("revio_name"))
        buttons.append(f'<a class="button secondary" href="{esc(target)}">Map by hand</a>')
    why = [str(m["rule"]).replace("_", " ")] if m.get("rule") else []
    if m.get("score") is not None:
        why.append(f"similarity {m['score']:.0f}%")
    if m.get("decided_by"):
        why.append(f"by {m['decided_by']}")
    rmm = (
        f"<b>{esc(m.get('rmm_name') or m['rmm_company_id'])}</b>"
        f"<div class='muted'>RMM company {esc(m['rmm_company_id'])}</div>"
        if m.get("rmm_company_id")
        else "<span class='muted'>no RMM company</span>"
    )
    if m.get("rmm_deleted"):
        rmm += f"<div class='problems rmm-deleted'>{RMM_DELETED}</div>"
    deleted = ' data-rmm-deleted="true"' if m.get("rmm_deleted") else ""
    return (
        f'<div class="card mapping" data-mapping="{esc(m["id"])}" data-state="{esc(m["state"])}"'
        f"{deleted}>"
        f'<div class="pair"><div class="side"><b>{esc(m.get("revio_name") or m["id"])}</b>'
        f"<div class='muted'>Rev.io customer {esc(m['revio_customer_id'])}</div></div>"
        f"<div>&harr;</div><div class='side'>{rmm}</div>"
        f"<div><span class='tag'>{esc(m['state'])}</span> <span class='muted'>"
        f"{esc(', '.join(why))}</span></div></div><div class='actions'>{''.join(buttons)}</div>"
        "</div>"
    )


async def _latest_run(ctx: PageCtx) -> UUID | None:
    value = await ctx.console.pool.fetchval(
        "SELECT run_id FROM sync_runs WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1",
        ctx.tenant,
    )
    return None if value is None else UUID(str(value))


@router.get("/mappings")
async def mappings_page(
    ctx: Page,
    state: str = "suggested",
    run: UUID | None = None,
    q: str = "",
    side: str = "",
    done: str | None = None,
    rmm_deleted: bool = False,
) -> Response:
    state = state if state in TABS else "suggested"
    only = "true" if rmm_deleted else None  # only the links whose RMM company was deleted
    back = url("/mappings", state=state, run=run, rmm_deleted=only)
    tabs = "".join(
        f'<a href="{esc(url("/mappings", state=t, run=run))}" class="{"on" if t == state else ""}">'
        f"{esc(t.capitalize())}</a>"
        for t in TABS
    )
    try:
        found = await list_mappings(
            ctx.console, ctx.tenant, None if state == "all" else state, run, rmm_deleted or None
        )
        cards = "".join(_card(ctx, m, back) for m in found) or "<p class='muted'>None.</p>"
    except HTTPException as error:
        found, cards = [], f"<p class='problems'>{esc(error.detail)}</p>"
    cards = _deleted_notice(state, run, rmm_deleted, found) + cards
    latest = run or await _latest_run(ctx)
    bulk = ""
    if state == "suggested" and found and latest:
        bulk = post_form(
            ctx.principal, f"/mappings/confirm-all/{latest}", "Confirm all", "", {"back": back}
        )
    asked = side in UNLINKED
    system = side if asked else "revio"
    results = await _unmatched(ctx, system, q) if q or asked or state == "held" else ""
    body = (
        f'<nav class="steps">{tabs}</nav><div class="actions">{bulk}</div>{cards}'
        "<h2>Unmatched</h2>"
        "<form method='get' action='/mappings' class='card' id='unmatched-search'>"
        f"<input type='hidden' name='state' value='{esc(state)}'>"
        "<div class='field'><label for='f-side'>Search unlinked</label>"
        "<div class='help'>Find a customer or a company nothing was linked to, then map it by"
        " hand. Leave the name empty to list them all.</div>"
        f"{select('side', list(UNLINKED.items()), system, None)}"
        f"<input type='search' id='f-q' name='q' value='{esc(q)}' aria-label='Name'></div>"
        "<button type='submit'>Search</button></form>"
        f"{results}"
    )
    return page("Mappings", body, ctx.principal, "mappings", ctx.tenant, flash=done)


def _deleted_notice(state: str, run: UUID | None, only: bool, found: list[dict[str, Any]]) -> str:
    """How many links shown have an RMM company deleted in RMM, with the way to show only
    them (or all again)."""
    if only:
        everything = url("/mappings", state=state, run=run)
        return (
            "<p class='muted' id='rmm-deleted-notice'>Only the links whose RMM company was"
            f" deleted in RMM. <a href='{esc(everything)}'>Show all</a></p>"
        )
    deleted = sum(1 for m in found if m.get("rmm_deleted"))
    if not deleted:
        return ""
    these = url("/mappings", state=state, run=run, rmm_deleted="true")
    links = "link's RMM company was" if deleted == 1 else "links' RMM companies were"
    return (
        f"<p class='problems' id='rmm-deleted-notice'>{deleted} {links} deleted in RMM."
        f" <a href='{esc(these)}'>Show only these</a></p>"
    )


async def _unmatched(ctx: PageCtx, system: str, q: str) -> str:
    try:
        hits = await search(ctx.console, ctx.tenant, system, q)
    except HTTPException as error:
        return f"<p class='problems'>{esc(error.detail)}</p>"
    rows = []
    for hit in hits:
        target = url("/mappings/link", **{system: hit["id"]}, q=hit["name"])
        rows.append(
            f'<li class="unmatched" data-side="{esc(system)}" data-id="{esc(hit["id"])}">'
            f'{esc(hit["name"])} <span class="muted">({esc(SIDES[system])} {esc(hit["id"])})'
            f'</span> <a class="button secondary" href="{esc(target)}">Map...</a></li>'
        )
    none = f"<p class='muted'>No unlinked {esc(UNLINKED[system])} match.</p>"
    return f"<ul id='unmatched'>{''.join(rows)}</ul>" if rows else none


@router.get("/mappings/link")
async def link_page(
    ctx: Page, revio: str | None = None, rmm: str | None = None, q: str = ""
) -> Response:
    if not revio and not rmm:
        raise HTTPException(400, "name the Rev.io customer (revio=) or the RMM company (rmm=)")
    fixed, other = ("revio", "rmm") if revio else ("rmm", "revio")
    fixed_id = revio or rmm or ""
    name = await _known_name(ctx, fixed, fixed_id)
    hits = await search(ctx.console, ctx.tenant, other, q)
    rows = []
    for hit in hits:
        pair = {fixed: fixed_id, other: hit["id"]}
        target = url("/mappings/link/confirm", **pair)
        score = f" - similarity {hit['score']:.0f}" if hit.get("score") else ""
        rows.append(
            f'<li class="candidate" data-id="{esc(hit["id"])}">{esc(hit["name"])}'
            f' <span class="muted">({esc(hit["id"])}{esc(score)})</span>'
            f' <a class="button" href="{esc(target)}">Map</a></li>'
        )
    body = (
        f"<div class='card'>{esc(SIDES[fixed])} <b id='fixed-name'>{esc(name)}</b>"
        f" <span class='muted'>({esc(fixed_id)})</span></div>"
        f"<form method='get' action='/mappings/link' class='card'>"
        f"<input type='hidden' name='{fixed}' value='{esc(fixed_id)}'>"
        f"<div class='field'><label for='f-q'>Search unlinked {esc(UNLINKED[other])}</label>"
        "<div class='help'>Type part of the name; the best matches come first.</div>"
        f"<input type='search' id='f-q' name='q' value='{esc(q)}'></div>"
        "<button type='submit'>Search</button></form>"
        f"<ul id='candidates'>{''.join(rows) or '<li class=muted>No match.</li>'}</ul>"
    )
    return page("Map by hand", body, ctx.principal, "mappings", ctx.tenant)


@router.get("/mappings/link/confirm")
async def link_confirm_page(ctx: Page, revio: str, rmm: str) -> Response:
    fields = {"revio_customer_id": revio, "rmm_company_id": rmm}
    revio_name = await _known_name(ctx, "revio", revio)
    rmm_name = await _known_name(ctx, "rmm", rmm)
    body = (
        "<div class='card'><div class='pair'>"
        f"<div class='side'><b>{esc(revio_name)}</b>"
        f"<div class='muted'>Rev.io customer {esc(revio)}</div></div><div>&harr;</div>"
        f"<div class='side'><b>{esc(rmm_name)}</b>"
        f"<div class='muted'>RMM company {esc(rmm)}</div></div></div>"
        f"<div class='actions'>{post_form(ctx.principal, '/mappings/link', 'Confirm', '', fields)}"
        f"<a class='button secondary' href='/mappings'>Cancel</a></div></div>"
    )
    return page("Confirm the link", body, ctx.principal, "mappings", ctx.tenant)


@router.post("/mappings/link")
async def link_save(request: Request, ctx: Page) -> Response:
    form = await form_fields(request)
    body = ManualLink(
        revio_customer_id=(form.get("revio_customer_id") or [""])[0],
        rmm_company_id=(form.get("rmm_company_id") or [""])[0],
    )
    _writer(ctx)
    await link(ctx.console, ctx.tenant, body, ctx.principal.username)
    done = f"Linked Rev.io customer {body.revio_customer_id} to RMM company {body.rmm_company_id}"
    return RedirectResponse(url("/mappings", state="linked", done=done), status_code=303)


@router.post("/mappings/confirm-all/{run_id}")
async def confirm_all_save(run_id: UUID, request: Request, ctx: Page) -> Response:
    _writer(ctx)
    back = (await form_fields(request)).get("back", ["/mappings"])[0]
    count = await confirm_all(ctx.console, ctx.tenant, run_id, ctx.principal.username)
    return RedirectResponse(_with_done(back, f"Confirmed {count} mappings"), status_code=303)


@router.post("/mappings/{mapping_id}/{action}")
async def mapping_action(mapping_id: str, action: str, request: Request, ctx: Page) -> Response:
    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action}")
    _writer(ctx)
    form = await form_fields(request)
    back = form.get("back", ["/mappings"])[0]
    choice = next(iter(form.get("rmm_company_id", [])), None) if action != "unlink" else None
    await act(ctx.console, ctx.tenant, mapping_id, action, ctx.principal.username, choice)
    return RedirectResponse(_with_done(back, f"{ACTIONS[action]} {mapping_id}"), status_code=303)


async def _known_name(ctx: PageCtx, system: str, object_id: str) -> str:
    """Its name; a 404 for what the company service does not know (as linking would say)."""
    name = await ctx.console.mappings.known_name(ctx.tenant, system, object_id)
    if name is None:
        raise HTTPException(404, f"{SIDES[system]} {object_id} is not known")
    return name


def _writer(ctx: PageCtx) -> None:
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")


def _with_done(back: str, done: str) -> str:
    target = back if back.startswith("/mappings") else "/mappings"
    joiner = "&" if "?" in target else "?"
    return f"{target}{joiner}{url('', done=done).lstrip('?')}"
