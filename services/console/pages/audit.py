"""The audit trail: every decision in plain words, filterable, newest first, each with a
link to its trace in Jaeger when `JAEGER_UI_URL` is set."""

from collections.abc import Iterable
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from services.console.audit import AuditQuery, audit_entries, event_types
from services.console.pages.common import Page, page_router
from services.console.pages.html import esc, field, page, select, table, text_input, url

router = page_router()
PAGE_SIZE = 50
PARAMS = ("entity", "type", "since", "q", "before", "tenant")
SINCE = TypeAdapter(datetime)  # what `GET /api/audit` takes for `since`


def unknown_filters(names: Iterable[str]) -> list[str]:
    """Query parameters the page does not know (a filter it would otherwise not apply)."""
    return sorted(set(names) - set(PARAMS))


def since_of(value: str) -> datetime | None:
    """The `since` filter, read as the API reads it; ValueError if it is no date and time."""
    return SINCE.validate_python(value) if value else None


@router.get("/audit")
async def audit_page(
    request: Request,
    ctx: Page,
    entity: str = "",
    type: str = "",
    since: str = "",
    q: str = "",
    before: int | None = None,
) -> Response:
    console = ctx.console
    errors: dict[str, str] = {}
    try:
        since_at = since_of(since)
    except ValueError:
        since_at = None
        errors["since"] = "Not a date and time: write it as 2026-01-05T10:00 (UTC)."
    unknown = unknown_filters(request.query_params.keys())
    problem = ""
    if unknown:
        problem = (
            f"<p class='problems' id='unknown-filters'>No filter named {esc(', '.join(unknown))}:"
            " filter by entity (a stream or a kind such as alert), decision (type), since or"
            " words (q).</p>"
        )
    query = AuditQuery(
        entity.strip() or None,
        (type,) if type else (),
        since_at,
        before,
        q.strip() or None,
        PAGE_SIZE,
    )
    refused = bool(errors or unknown)
    entries = (
        []
        if refused
        else await audit_entries(console.pool, ctx.tenant, query, console.settings.jaeger_ui_url)
    )
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
    filters = _filters(entity, type, since, q, types, errors)
    listing = table(["When (UTC)", "Entity", "Decision", "By", "Trace"], rows, "audit")
    body = (
        f"{problem}<form method='get' action='/audit' class='card' id='audit-filter'>{filters}"
        "<button type='submit'>Filter</button></form>"
        f"{'' if refused else listing}<div class='actions'>{older}</div>"
    )
    status = 422 if refused else 200
    return page("Audit trail", body, ctx.principal, "audit", ctx.tenant, status_code=status)


def _filters(
    entity: str, type: str, since: str, q: str, types: list[str], errors: dict[str, str]
) -> str:
    return "".join(
        (
            field(
                "entity",
                "Entity",
                "A stream such as alert:42, or a kind such as alert, company-link, asset,"
                " settings.",
                text_input("entity", entity),
                None,
            ),
            field(
                "type",
                "Decision",
                "Only this kind of event.",
                select("type", [(t, t) for t in types], type, "any"),
                None,
            ),
            field(
                "since",
                "Since",
                "Only what was decided from then on (UTC).",
                text_input("since", since, "datetime-local"),
                errors.get("since"),
            ),
            field(
                "q",
                "Words",
                "Text in the entity or the decision's details, e.g. a hostname.",
                text_input("q", q, "search"),
                None,
            ),
        )
    )
