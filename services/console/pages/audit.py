"""The audit trail: every decision in plain words, filterable, newest first, each with a
link to its trace in Jaeger when `JAEGER_UI_URL` is set."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.audit import AuditQuery, audit_entries, event_types
from services.console.pages.common import Page
from services.console.pages.html import esc, page, select, table, url

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _since(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/audit")
async def audit_page(
    ctx: Page,
    entity: str = "",
    type: str = "",
    since: str = "",
    q: str = "",
    before: int | None = None,
) -> Response:
    console = ctx.console
    query = AuditQuery(
        entity.strip() or None,
        (type,) if type else (),
        _since(since),
        before,
        q.strip() or None,
        PAGE_SIZE,
    )
    entries = await audit_entries(console.pool, ctx.tenant, query, console.settings.jaeger_ui_url)
    types = await event_types(console.pool, ctx.tenant)
    rows = []
    for entry in entries:
        trace = entry["trace_id"] or ""
        if entry["trace_url"]:
            trace = f'<a href="{esc(entry["trace_url"])}" target="_blank">{esc(trace[:12])}</a>'
        else:
            trace = f"<code>{esc(trace[:12])}</code>" if trace else ""
        entity_link = esc(url("/audit", entity=entry["entity"]))
        rows.append(
            [
                esc(entry["recorded_at"][:19].replace("T", " ")),
                f'<a href="{entity_link}">{esc(entry["entity"])}</a>',
                f'<span class="words" data-type="{esc(entry["type"])}">{esc(entry["words"])}</span>'
                f'<div class="muted">{esc(entry["type"])}</div>',
                esc(entry["actor"]),
                trace,
            ]
        )
    older = ""
    if len(entries) == PAGE_SIZE:
        target = url(
            "/audit", entity=entity, type=type, since=since, q=q, before=entries[-1]["position"]
        )
        older = f'<a class="button secondary" href="{esc(target)}">Older</a>'
    body = (
        "<form method='get' action='/audit' class='card' id='audit-filter'>"
        "<div class='field'><label for='f-entity'>Entity</label><div class='help'>A stream such"
        " as alert:42, or a kind such as alert, company-link, asset, settings.</div>"
        f"<input type='text' id='f-entity' name='entity' value='{esc(entity)}'></div>"
        "<div class='field'><label for='f-type'>Decision</label><div class='help'>Only this"
        " kind of event.</div>"
        f"{select('type', [(t, t) for t in types], type, 'any')}</div>"
        "<div class='field'><label for='f-since'>Since</label><div class='help'>Only what was"
        " decided from then on (UTC).</div>"
        f"<input type='datetime-local' id='f-since' name='since' value='{esc(since)}'></div>"
        "<div class='field'><label for='f-q'>Words</label><div class='help'>Text in the entity"
        " or the decision's details, e.g. a hostname.</div>"
        f"<input type='search' id='f-q' name='q' value='{esc(q)}'></div>"
        "<button type='submit'>Filter</button></form>"
        f"{table(['When (UTC)', 'Entity', 'Decision', 'By', 'Trace'], rows, 'audit')}"
        f"<div class='actions'>{older}</div>"
    )
    return page("Audit trail", body, ctx.principal, "audit", ctx.tenant)
