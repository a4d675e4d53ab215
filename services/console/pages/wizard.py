"""The configuration wizard: Initial Configuration, CW RMM Connection, Sync Settings, Asset
Sync, Ticket & Alert Settings, Finish.

Each step saves its own fields (checked live, like the API; a refused step saves nothing and
shows each error next to its field; a step that changes nothing records nothing), dropdowns
list what the systems really hold, and the last step checks everything and starts the
initial sync.

A new tenant is created at its first step, disabled (`settings_service.create_tenant`): it is
not served until the last step checks everything and turns it on (`finish_setup`).
"""

from typing import Any
from uuid import UUID

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.console.api_sync_runs import start
from services.console.deps import form_fields
from services.console.pages.common import PageCtx, SetupPage, page_router
from services.console.pages.html import (
    checkbox,
    esc,
    field,
    page,
    post_form,
    select,
    table,
    text_input,
)
from services.console.pages.wizard_steps import BY_SLUG, STEP_OF_FIELD, STEPS, Spec, Step
from services.console.settings_doc import FieldError
from services.console.settings_service import (
    check_stored,
    finish_setup,
    lookups,
    save_settings,
    settings_document,
)
from services.console.sync_runs import active_run
from services.console.tenants import setup_unfinished

router = page_router()
FINISH_LABEL = "Turn the tenant on and start the initial sync"
SAVED = {  # `?saved=` after a step: what the save did
    "changed": "Saved.",
    "unchanged": "Nothing to save: nothing changed.",
    "created": "Saved: the tenant is created. It is not served (no polls, no decisions)"
    " until its setup is finished at the last step.",
}


def _value(doc: dict[str, Any] | None, name: str) -> Any:
    if doc is None:
        return None
    if "." in name:
        section, key = name.split(".", 1)
        return doc.get(section, {}).get(key)
    return doc.get(name)


def _control(spec: Spec, value: Any, doc: dict[str, Any] | None, found: dict[str, Any]) -> str:
    if spec.kind == "checkbox":
        return checkbox(spec.name, bool(value))
    if spec.kind == "secret":
        stored = _value(doc, f"{spec.name}_set")
        hint = "stored - leave empty to keep" if stored else "not set"
        return text_input(spec.name, "", "password", hint)
    if spec.kind == "multi":
        chosen = set(value or [])
        options = spec.options(found) if spec.options else []
        return "".join(
            checkbox(spec.name, option in chosen, option, label) for option, label in options or []
        )
    if spec.kind == "select":
        options = spec.options(found) if spec.options else None
        if options is not None:
            return select(spec.name, options, value)
        reason = found.get(spec.system or "", {}).get("error") or "unavailable"
        note = f'<div class="help">Could not list them ({esc(reason)}); type the value.</div>'
        return text_input(spec.name, value) + note
    return text_input(spec.name, value)


def _step_slug(name: str) -> str:
    step = STEP_OF_FIELD.get(name)
    return step.slug if step else "initial"


def step_nav(current: str) -> str:
    links = "".join(
        f'<a href="/wizard/{s.slug}" class="{"on" if s.slug == current else ""}">'
        f"{number}. {esc(s.title)}</a>"
        for number, s in enumerate(STEPS, 1)
    )
    return f'<nav class="steps">{links}</nav>'


async def render_step(
    ctx: PageCtx,
    step: Step,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> Response:
    console = ctx.console
    doc = await settings_document(console, ctx.tenant)
    found = await lookups(console, await console.tenants.load(ctx.tenant))
    by_field = {e.field: e.message for e in errors or []}
    submitted = values or {}

    def shown(spec: Spec) -> Any:
        return submitted[spec.name] if spec.name in submitted else _value(doc, spec.name)

    fields = "".join(
        field(
            spec.name,
            spec.label,
            spec.help,
            _control(spec, shown(spec), doc, found),
            by_field.pop(spec.name, None),
        )
        for spec in step.specs
    )
    others = "".join(f"<li>{esc(f)}: {esc(m)}</li>" for f, m in by_field.items())
    problems = f'<div class="problems"><ul>{others}</ul></div>' if others else ""
    index = STEPS.index(step)
    back = (
        f'<a class="button secondary" href="/wizard/{STEPS[index - 1].slug}">Back</a>'
        if index
        else ""
    )
    body = (
        f"{step_nav(step.slug)}<p class='muted'>{esc(step.intro)}</p>{problems}"
        f'<form method="post" action="/wizard/{step.slug}" class="card" id="wizard-form">'
        f'<input type="hidden" name="csrf_token" value="{esc(ctx.principal.csrf_token)}">'
        f'{fields}<div class="actions">{back}<button type="submit">Save and continue'
        "</button></div></form>"
    )
    return page(step.title, body, ctx.principal, "wizard", ctx.tenant, status_code, flash)


def body_of(step: Step, form: dict[str, list[str]]) -> dict[str, Any]:
    """The settings update a step's form asks for (an empty secret keeps the stored one)."""
    body: dict[str, Any] = {}
    for spec in step.specs:
        if spec.kind == "checkbox":
            value: Any = spec.name in form
        elif spec.kind == "multi":
            value = [v for v in form.get(spec.name, []) if v]
        else:
            raw = (form.get(spec.name) or [""])[0].strip()
            if spec.kind == "secret" and not raw:
                continue
            value = raw or (None if spec.name not in ("name",) else "")
        if "." in spec.name:
            section, key = spec.name.split(".", 1)
            if key in ("username", "client_code", "client_id") and value is None:
                value = ""
            body.setdefault(section, {})[key] = value
        else:
            body[spec.name] = value
    if body.get("rmm", {}).get("region") is None and "rmm" in body:
        body["rmm"]["region"] = "NA"
    if "revio" in body and body["revio"].get("base_url") is None:
        body["revio"].pop("base_url")
    return body


def submitted_values(step: Step, form: dict[str, list[str]]) -> dict[str, Any]:
    """What the user typed, to show again next to the errors (never a secret)."""
    found: dict[str, Any] = {}
    for spec in step.specs:
        if spec.kind == "checkbox":
            found[spec.name] = spec.name in form
        elif spec.kind == "multi":
            found[spec.name] = form.get(spec.name, [])
        elif spec.kind != "secret":
            found[spec.name] = (form.get(spec.name) or [""])[0]
    return found


def _finish_action(ctx: PageCtx, enabled: bool, waiting: bool, running: UUID | None) -> str:
    """What the Finish step offers once everything checks out."""
    if running is not None:
        return (
            f'<p id="finish-running">A sync run is in progress: <a href="/sync/{running}">'
            "follow it</a>.</p>"
        )
    if waiting:
        return post_form(ctx.principal, "/wizard/finish", FINISH_LABEL)
    if not enabled:
        return (
            '<p id="finish-disabled">This tenant is disabled: nothing is polled or decided'
            f" until an operator enables it (<code>revsync tenants enable {esc(ctx.tenant)}"
            "</code>).</p>"
        )
    return post_form(ctx.principal, "/sync", "Start the initial sync", "", {"kind": "initial"})


async def finish(ctx: PageCtx, flash: str | None = None, status_code: int = 200) -> Response:
    console = ctx.console
    tenant = await console.tenants.load(ctx.tenant)
    doc = await settings_document(console, ctx.tenant)
    if tenant is None or doc is None:
        return RedirectResponse("/wizard/initial", status_code=303)
    errors = await check_stored(console, ctx.tenant) or []
    found = await lookups(console, tenant)
    rows = []
    for step in STEPS[:-1]:
        for spec in step.specs:
            if spec.kind == "secret":
                shown = "stored" if _value(doc, f"{spec.name}_set") else "not set"
            else:
                shown = spec.words(_value(doc, spec.name), found)
            rows.append([esc(step.title), esc(spec.label), esc(shown)])
    waiting = await setup_unfinished(console.pool, ctx.tenant)
    state = (
        '<p class="muted" id="finish-waiting">This tenant is not served yet: nothing is polled'
        " or decided until its setup is finished here.</p>"
        if waiting
        else ""
    )
    if errors:
        items = "".join(
            f'<li><a href="/wizard/{_step_slug(e.field)}">{esc(e.field)}</a>: {esc(e.message)}</li>'
            for e in errors
        )
        verdict = f'<div class="problems" id="finish-problems"><ul>{items}</ul></div>'
        action = ""
    else:
        verdict = '<p class="flash" id="finish-ok">Everything checks out against both systems.</p>'
        running = await active_run(console.pool, ctx.tenant)
        action = _finish_action(ctx, tenant.enabled, waiting, running)
    body = (
        f"{step_nav('finish')}{verdict}{state}<div class='card'>"
        f"{table(['Step', 'Setting', 'Value'], rows)}</div><div class='actions'>{action}</div>"
    )
    return page("Finish", body, ctx.principal, "wizard", ctx.tenant, status_code, flash)


@router.get("/wizard")
async def wizard_start(ctx: SetupPage) -> Response:
    return RedirectResponse("/wizard/initial", status_code=303)


@router.get("/wizard/{slug}")
async def wizard_step(slug: str, ctx: SetupPage, saved: str | None = None) -> Response:
    step = BY_SLUG.get(slug)
    if step is None:
        raise HTTPException(404, f"no wizard step {slug}")
    flash = SAVED.get(saved or "")
    if step.slug == "finish":
        return await finish(ctx, flash)
    return await render_step(ctx, step, flash=flash)


@router.post("/wizard/finish")
async def wizard_finish(ctx: SetupPage) -> Response:
    """Check everything, turn a tenant whose setup was unfinished on, start the initial sync."""
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")
    errors = await finish_setup(ctx.console, ctx.tenant, ctx.principal.username)
    if errors:
        return await finish(ctx, status_code=422)
    try:
        run_id = await start(ctx.console, ctx.tenant, ctx.principal.username, "initial")
    except HTTPException as error:
        if error.status_code == 409 and isinstance(error.detail, dict):
            return RedirectResponse(f"/sync/{error.detail['sync_run_id']}", status_code=303)
        raise
    return RedirectResponse(f"/sync/{run_id}", status_code=303)


@router.post("/wizard/{slug}")
async def wizard_save(slug: str, request: Request, ctx: SetupPage) -> Response:
    step = BY_SLUG.get(slug)
    if step is None or step.slug == "finish":
        raise HTTPException(404, f"no wizard step {slug}")
    if not ctx.principal.can_write:
        raise HTTPException(403, "this user may only read")
    form = await form_fields(request)
    body = body_of(step, form)
    saved = await save_settings(
        ctx.console, ctx.tenant, body, ctx.principal.username, replace=False, fields=step.fields
    )
    if saved.errors:
        return await render_step(ctx, step, submitted_values(step, form), saved.errors, 422)
    following = STEPS[STEPS.index(step) + 1]
    outcome = "created" if saved.created else "changed" if saved.changed else "unchanged"
    return RedirectResponse(f"/wizard/{following.slug}?saved={outcome}", status_code=303)
