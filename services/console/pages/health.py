"""The health page: what needs an operator (problems) and what to watch (warnings) first,
then consumer lag (everyone's, and the tenant's part), last polls, vendor quota, commands
waiting their turn, and dead letters with retry."""

from fastapi import HTTPException
from fastapi.responses import RedirectResponse, Response

from services.console.dead_letters import DeadLetterNotFound, list_dead_letters, retry
from services.console.health import health
from services.console.pages.common import Page, page_router
from services.console.pages.html import esc, page, post_form, table, url

router = page_router()
CONSUMER_COLUMNS = [
    "Service",
    "Consumer",
    "Stream",
    "Lag",
    "Tenant lag",
    "In flight",
    "Redelivered",
]


@router.get("/health")
async def health_page(ctx: Page, done: str | None = None) -> Response:
    console = ctx.console
    report = await health(console.pool, console.js, ctx.tenant)
    checks = ", ".join(f"{k}: {v}" for k, v in report["checks"].items())
    consumers = [
        [
            esc(c["service"]),
            esc(c["consumer"]),
            esc(c["stream"]),
            esc(c["pending"]),
            esc(c.get("tenant_pending", "")),
            esc(c["in_flight"]),
            esc(c["redelivered"]),
        ]
        for c in report.get("consumers", [])
    ]
    polls = [
        [
            esc(p["system"]),
            esc(p["resource"]),
            esc(p["last_success"][:19].replace("T", " ")),
            esc(f"{p['age_seconds']:.0f} s ago"),
        ]
        for p in report.get("polls", [])
    ]
    quota = [
        [
            esc(q["vendor"]),
            esc(q["bucket"]),
            esc(q["used_today"]),
            esc(q["daily_limit"] or "per window"),
            esc(q["queued_seconds"]),
        ]
        for q in report.get("quota", [])
    ]
    windows = [
        [
            esc(w["window"]),
            esc(w["held"]),
            esc(w["in_flight"]),
            esc(f"{w['oldest_held_seconds']:.0f} s"),
        ]
        for w in report.get("command_windows", [])
    ]
    letters = []
    if console.js is not None:
        for letter in await list_dead_letters(console.js, ctx.tenant):
            letters.append(
                [
                    esc(letter.id),
                    esc(letter.original_subject),
                    esc(letter.consumer),
                    esc(letter.reason),
                    esc(letter.deliveries),
                    post_form(ctx.principal, f"/health/dead-letters/{letter.id}/retry", "Retry"),
                ]
            )
    body = (
        _listed("problems", "problems", "Problems", report["problems"])
        + _listed("card", "warnings", "Warnings", report["warnings"])
        + f"<div class='card'><p>Status <b id='status'>{esc(report['status'])}</b> ({esc(checks)})"
        f" &middot; dead letters: <b id='dlq-size'>{esc(report.get('dead_letters', '?'))}</b></p>"
        "</div><h2>Consumers</h2>"
        f"{table(CONSUMER_COLUMNS, consumers)}"
        "<h2>Last successful polls</h2>"
        f"{table(['System', 'Resource', 'Last success (UTC)', 'Age'], polls)}"
        "<h2>Vendor calls today</h2>"
        f"{table(['Vendor', 'Bucket', 'Used', 'Daily limit', 'Queued (s)'], quota)}"
        "<h2>Commands waiting their turn</h2>"
        f"{table(['Window', 'Held', 'In flight', 'Oldest held'], windows, 'windows')}"
        "<h2>Dead letters</h2>"
        f"{table(['Id', 'Subject', 'Consumer', 'Reason', 'Deliveries', ''], letters, 'dlq')}"
    )
    return page("Health", body, ctx.principal, "health", ctx.tenant, flash=done)


def _listed(css: str, css_id: str, title: str, sentences: list[str]) -> str:
    if not sentences:
        return ""
    items = "".join(f"<li>{esc(sentence)}</li>" for sentence in sentences)
    return f"<div class='{css}' id='{css_id}'><b>{esc(title)}</b><ul>{items}</ul></div>"


@router.post("/health/dead-letters/{letter_id}/retry")
async def retry_letter(letter_id: int, ctx: Page) -> Response:
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")
    if ctx.console.js is None:
        raise HTTPException(503, "the console is not connected to NATS")
    try:
        letter = await retry(
            ctx.console.js, ctx.console.pool, ctx.tenant, letter_id, ctx.principal.username
        )
    except DeadLetterNotFound as error:
        raise HTTPException(404, str(error)) from None
    done = f"Retried {letter.original_subject}"
    return RedirectResponse(url("/health", done=done), status_code=303)
