"""The initial sync page: start a run, then watch its progress per entity kind with an ETA
(the page polls `GET /api/sync-runs/{id}`; the run itself lives on the server, so the page
can be left and come back to)."""

import json
from uuid import UUID

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.console.api_sync_runs import run_json, start
from services.console.deps import form_fields
from services.console.pages.common import Page, page_router
from services.console.pages.html import esc, page, post_form, table
from services.console.sync_runs import cancel_run

router = page_router()
TERMINAL = ("done", "failed", "cancelled")
SCRIPT = """
<script>
const runUrl = %(url)s;
const terminal = ["done", "failed", "cancelled"];
function eta(seconds) {
  if (seconds === null || seconds === undefined) return "estimating...";
  if (seconds < 60) return Math.round(seconds) + " s";
  return Math.floor(seconds / 60) + " min " + Math.round(seconds %% 60) + " s";
}
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function render(run) {
  document.getElementById("phase").textContent =
    run.activity ? run.phase + " (" + run.activity + ")" : run.phase;
  document.getElementById("eta").textContent = run.phase === "done" ? "-" : eta(run.eta_seconds);
  document.getElementById("fraction").value = run.fraction;
  const body = document.querySelector("#progress tbody");
  body.replaceChildren();
  for (const p of run.progress) {
    const tr = document.createElement("tr");
    tr.dataset.kind = p.kind;
    tr.appendChild(cell(p.label));
    const bar = document.createElement("td");
    const meter = document.createElement("progress");
    meter.max = p.total || 1; meter.value = p.total ? p.seen : 0;
    bar.appendChild(meter); tr.appendChild(bar);
    tr.appendChild(cell(p.seen + " / " + (p.total === null ? "?" : p.total)));
    const decided = p.decided === null ? "-" : String(p.decided);
    tr.appendChild(cell(p.created ? decided + ", " + p.created + " created" : decided));
    body.appendChild(tr);
  }
  const errors = document.getElementById("errors");
  errors.replaceChildren(...run.errors.map(e => {
    const li = document.createElement("li");
    li.textContent = (e.system ? e.system + ": " : "") + e.message; return li;
  }));
  if (terminal.includes(run.phase)) document.getElementById("cancel")?.remove();
}
async function poll() {
  try {
    const answer = await fetch(runUrl, {credentials: "same-origin"});
    if (answer.ok) {
      const run = await answer.json();
      render(run);
      if (terminal.includes(run.phase)) return;
    }
  } catch (error) { /* the server restarted: keep polling */ }
  setTimeout(poll, 1000);
}
poll();
</script>
"""


@router.get("/sync")
async def sync_home(ctx: Page) -> Response:
    rows = await ctx.console.pool.fetch(
        "SELECT run_id, kind, phase, started_at, started_by FROM sync_runs WHERE tenant_id = $1"
        " ORDER BY started_at DESC LIMIT 20",
        ctx.tenant,
    )
    for row in rows:
        if row["phase"] not in TERMINAL:
            return RedirectResponse(f"/sync/{row['run_id']}", status_code=303)
    listed = [
        [
            f'<a href="/sync/{row["run_id"]}">{row["started_at"]:%Y-%m-%d %H:%M:%S}</a>',
            esc(row["kind"]),
            esc(row["phase"]),
            esc(row["started_by"]),
        ]
        for row in rows
    ]
    start_form = post_form(ctx.principal, "/sync", "Start a sync run", "", {"kind": "initial"})
    body = (
        "<p class='muted'>A sync run lists everything in both systems, proposes links, and"
        " shows its progress here. It runs on the server: you can leave and come back.</p>"
        f"<div class='actions'>{start_form}</div><h2>Earlier runs</h2>"
        f"{table(['Started', 'Kind', 'Phase', 'By'], listed) if listed else '<p>None yet.</p>'}"
    )
    return page("Initial sync", body, ctx.principal, "sync", ctx.tenant)


@router.post("/sync")
async def sync_start(request: Request, ctx: Page) -> Response:
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")
    kind = ((await form_fields(request)).get("kind") or ["initial"])[0]
    try:
        run_id = await start(ctx.console, ctx.tenant, ctx.principal.username, kind)
    except HTTPException as error:
        if error.status_code == 409 and isinstance(error.detail, dict):
            return RedirectResponse(f"/sync/{error.detail['sync_run_id']}", status_code=303)
        raise
    return RedirectResponse(f"/sync/{run_id}", status_code=303)


@router.get("/sync/{run_id}")
async def sync_run(run_id: UUID, ctx: Page) -> Response:
    run = await run_json(ctx.console, ctx.tenant, run_id)
    api = f"/api/sync-runs/{run_id}?tenant={ctx.tenant}"
    abandon = post_form(ctx.principal, f"/sync/{run_id}/cancel", "Abandon", "danger")
    cancel = f"<span id='cancel'>{abandon}</span>" if run["phase"] not in TERMINAL else ""
    review = (
        f'<a class="button" href="/mappings?state=suggested&amp;run={run_id}">Review mappings</a>'
    )
    body = (
        f"<div class='card'><p>Run <code>{esc(run_id)}</code> started by {esc(run['started_by'])}"
        f" at {esc(run['started_at'])}.</p><p>Phase: <b id='phase'>{esc(run['phase'])}</b>"
        f" &middot; ETA: <span id='eta'>...</span> &middot; <progress id='fraction' max='1'"
        f" value='{run['fraction']}'></progress></p><ul id='errors' class='error'></ul></div>"
        f"{table(['Entity kind', 'Listed', 'Seen / total', 'Decided'], [], 'progress')}"
        f"<div class='actions'>{review}{cancel}</div>" + SCRIPT % {"url": json.dumps(api)}
    )
    return page("Initial sync", body, ctx.principal, "sync", ctx.tenant)


@router.post("/sync/{run_id}/cancel")
async def sync_cancel(run_id: UUID, ctx: Page) -> Response:
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")
    await cancel_run(ctx.console.pool, ctx.tenant, run_id, ctx.principal.username)
    return RedirectResponse(f"/sync/{run_id}", status_code=303)
