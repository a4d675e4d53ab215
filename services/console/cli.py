"""`revsync`: the console from the command line.

Commands that act on a tenant talk to the console's REST API (`--url`, `REVSYNC_URL`,
default http://127.0.0.1:8080) with a bearer token (`--token` / `REVSYNC_TOKEN`, or one
obtained for `--user`/`--password`, default `REVSYNC_ADMIN_USER`/`REVSYNC_ADMIN_PASSWORD`,
and revoked when the command ends). Operators name the tenant with `--tenant`
(`REVSYNC_TENANT`). `tenants ...` manages tenants (operators; a tenant admin may export its
own log). `replay` works on the database itself (`DATABASE_URL`), and `sandbox`
runs `python -m services.sandbox` with the options given.
"""

import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

HELP = (
    "The revsync console from the command line. Tenant commands use the console's REST API"
    " (--url) with --token, or a token obtained for --user/--password (REVSYNC_ADMIN_USER /"
    " REVSYNC_ADMIN_PASSWORD); operators add --tenant. `replay` works on DATABASE_URL directly."
)
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
mappings_app = typer.Typer(help="Review customer <-> company mappings.", no_args_is_help=True)
letters_app = typer.Typer(help="Dead letters: list and retry.", no_args_is_help=True)
tenants_app = typer.Typer(
    help="Tenants: create, list, disable, enable, export the event log, delete.",
    no_args_is_help=True,
)
app.add_typer(mappings_app, name="mappings")
app.add_typer(letters_app, name="dead-letters")
app.add_typer(tenants_app, name="tenants")
out = Console()
TERMINAL = ("done", "failed", "cancelled")


class Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


@dataclass
class Api:
    url: str
    token: str | None
    user: str | None
    password: str | None
    tenant: str | None
    _client: httpx.Client | None = None
    _own_token: bool = False
    params: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url.rstrip("/"), timeout=60.0)
            if not self.token:
                if not self.user or not self.password:
                    raise typer.BadParameter(
                        "give --token (REVSYNC_TOKEN), or --user and --password"
                    )
                answer = self._client.post(
                    "/api/auth/token",
                    json={"username": self.user, "password": self.password, "label": "cli"},
                )
                if answer.status_code != 200:
                    raise Refused(answer)
                self.token, self._own_token = answer.json()["token"], True
            self._client.headers["Authorization"] = f"Bearer {self.token}"
            if self.tenant:
                self.params["tenant"] = self.tenant
        return self._client

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        client = self.client()
        params = {**self.params, **{k: v for k, v in kwargs.pop("params", {}).items() if v}}
        response = client.request(method, path, params=params, **kwargs)
        if response.status_code >= 400:
            raise Refused(response)
        return response.json()

    def download(self, path: str, target: Any) -> int:
        """Stream a response body into the binary file `target`; returns the bytes written."""
        written = 0
        with self.client().stream("GET", path, params=self.params) as response:
            if response.status_code >= 400:
                response.read()
                raise Refused(response)
            for chunk in response.iter_bytes():
                written += target.write(chunk)
        return written

    def close(self) -> None:
        if self._client is not None:
            if self._own_token:
                self._client.delete("/api/auth/token")
            self._client.close()


def _api(ctx: typer.Context) -> Api:
    api: Api = ctx.obj
    return api


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar="REVSYNC_URL")] = "http://127.0.0.1:8080",
    token: Annotated[str | None, typer.Option(envvar="REVSYNC_TOKEN")] = None,
    user: Annotated[str | None, typer.Option(envvar="REVSYNC_ADMIN_USER")] = None,
    password: Annotated[str | None, typer.Option(envvar="REVSYNC_ADMIN_PASSWORD")] = None,
    tenant: Annotated[str | None, typer.Option(envvar="REVSYNC_TENANT")] = None,
) -> None:
    ctx.obj = Api(url, token, user, password, tenant)
    ctx.call_on_close(ctx.obj.close)


REFUSED = "Refused"
NOTHING_SAVED = "Refused: nothing was saved"  # for the commands that save a document


# the API asks an operator to name a tenant as its query parameter; the CLI's is an option
TENANT_QUERY = re.compile(r"\?tenant=(<[^>]*>)")
SEES_TENANTS = re.compile(r"sees \d+ tenants")


def in_cli_terms(detail: str) -> str:
    """An API message as the CLI's user acts on it: `?tenant=<id>` (the API's parameter)
    becomes `--tenant <id>` (or REVSYNC_TENANT)."""
    translated = TENANT_QUERY.sub(r"--tenant \1 (or REVSYNC_TENANT=\1)", detail)
    if translated != detail and SEES_TENANTS.search(detail):
        translated += "; `revsync tenants list` shows them"
    return translated


def show_refusal(error: Refused, title: str = REFUSED) -> None:
    response = error.response
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    if response.status_code == 422 and isinstance(body, dict) and "errors" in body:
        table = Table("field", "problem", title=title)
        for problem in body["errors"]:
            table.add_row(problem["field"], problem["message"])
        out.print(table)
    else:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        if isinstance(detail, str):
            detail = in_cli_terms(detail)
        out.print(f"[red]{response.status_code}[/red] {detail}")


def run_guarded(action: Any, refused: str = REFUSED) -> Any:
    try:
        return action()
    except Refused as error:
        show_refusal(error, refused)
        raise typer.Exit(1) from None
    except httpx.HTTPError as error:
        out.print(f"[red]cannot reach the console:[/red] {error}")
        raise typer.Exit(2) from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return f"not valid YAML: {error}"
    mark, context = error.problem_mark, error.context_mark
    problem = f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    if error.context and context is not None:
        problem += f" ({error.context} at line {context.line + 1}, column {context.column + 1})"
    return problem


def _not_a_mapping(document: object) -> str:
    found = (
        "is empty"
        if document is None
        else "holds a list"
        if isinstance(document, list)
        else f"holds a single value ({type(document).__name__})"
    )
    return f"must be a mapping of settings (name: ..., rmm: {{...}}, ...); it {found}"


def read_settings_file(file: Path) -> dict[str, Any]:
    """The settings document in `file` (YAML, or JSON, which YAML reads): a mapping. A file
    that is not one stops the command (exit 2) with the file and the problem, before any call."""
    try:
        document = yaml.safe_load(file.read_bytes())
    except yaml.YAMLError as error:
        problem = _yaml_problem(error)
    else:
        if isinstance(document, dict):
            return document
        problem = _not_a_mapping(document)
    raise typer.BadParameter(f"{file}: {problem}", param_hint="'--file' / '-f'")


@app.command()
def configure(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", exists=True, readable=True)],
    merge: Annotated[bool, typer.Option(help="change only what the file names")] = False,
) -> None:
    """Save settings and connections from a YAML (or JSON) file, checked live.

    A refused file changes nothing; each problem is shown by field."""
    body = read_settings_file(file)
    method = "PATCH" if merge else "PUT"
    saved = run_guarded(lambda: _api(ctx).call(method, "/api/settings", json=body), NOTHING_SAVED)
    changed = saved.get("changed")
    if changed == []:
        out.print(f"nothing changed: settings of tenant {saved['tenant']} are as the file says")
        return
    what = f": {', '.join(changed)}" if changed else ""
    out.print(f"[green]saved[/green] settings of tenant {saved['tenant']} ({saved['name']}){what}")


def _read_run(api: Api, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = run_guarded(lambda: api.call("GET", f"/api/sync-runs/{run_id}"))
    return run


def phase_line(run: dict[str, Any]) -> str:
    """A run's phase line, from the API's run: "phase: writing (171 writes ...), ETA 40 s"."""
    eta = run.get("eta_seconds")
    activity = f" ({run['activity']})" if run.get("activity") else ""
    return f"phase: {run['phase']}{activity}" + (f", ETA {eta:.0f} s" if eta else "")


def decided_text(kind: dict[str, Any]) -> str:
    """What is decided of one kind of a run's progress: "decided 37, 3 created"."""
    if kind["decided"] is None:
        return ""
    created = f", {kind['created']} created" if kind.get("created") else ""
    return f"decided {kind['decided']}{created}"


def _clock(seconds: float | None) -> str:
    """A duration as h:mm:ss."""
    return str(timedelta(seconds=round(max(seconds or 0.0, 0.0))))


def progress_line(run: dict[str, Any], now: datetime) -> str:
    """A run's progress as one plain line, for a log (no terminal to draw bars on):
    "[0:01:20] phase: deciding, 42% done, ETA 0:01:50 | RMM companies 37/37, decided 30"."""
    elapsed = (now - datetime.fromisoformat(run["started_at"])).total_seconds()
    activity = f" ({run['activity']})" if run.get("activity") else ""
    eta = run.get("eta_seconds")
    parts = [
        f"[{_clock(elapsed)}] phase: {run['phase']}{activity}, {run['fraction']:.0%} done"
        + (f", ETA {_clock(eta)}" if eta and run["phase"] not in TERMINAL else "")
    ]
    for kind in run["progress"]:
        total = "?" if kind["total"] is None else kind["total"]
        decided = decided_text(kind)
        parts.append(
            f"{kind['label']} {kind['seen']}/{total}" + (f", {decided}" if decided else "")
        )
    return " | ".join(parts)


@dataclass
class PlainProgress:
    """When a progress line is due without a terminal: at the first read, at each change of
    phase, and every `every_s` seconds in between (`now_s`: a monotonic clock)."""

    every_s: float
    last_s: float | None = None
    last_phase: str | None = None

    def due(self, run: dict[str, Any], now_s: float) -> bool:
        if (
            self.last_s is not None
            and run["phase"] == self.last_phase
            and now_s - self.last_s < self.every_s
        ):
            return False
        self.last_s, self.last_phase = now_s, run["phase"]
        return True


def _watch_plain(api: Api, run_id: str, poll_s: float, every_s: float) -> dict[str, Any]:
    """Progress as lines (nohup, systemd, `docker logs`): bars would only be drawn at the end."""
    plain = PlainProgress(every_s)
    while True:
        run = _read_run(api, run_id)
        if plain.due(run, time.monotonic()):
            line = progress_line(run, datetime.now(UTC))
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        if run["phase"] in TERMINAL:
            return run
        time.sleep(poll_s)


def _watch(api: Api, run_id: str, poll_s: float, every_s: float) -> dict[str, Any]:
    if not out.is_terminal:
        return _watch_plain(api, run_id, poll_s, every_s)
    run = _read_run(api, run_id)  # a run that cannot be read is refused before any bar is drawn
    bars: dict[str, Any] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[decided]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out) as progress:
        phase = progress.add_task("phase: starting", total=None, decided="")
        while True:
            progress.update(phase, description=phase_line(run))
            for p in run["progress"]:
                if p["kind"] not in bars:
                    bars[p["kind"]] = progress.add_task(p["label"], total=p["total"], decided="")
                progress.update(
                    bars[p["kind"]], completed=p["seen"], total=p["total"], decided=decided_text(p)
                )
            if run["phase"] in TERMINAL:
                progress.update(phase, total=1, completed=1)
                return run
            time.sleep(poll_s)
            run = _read_run(api, run_id)


@app.command()
def sync(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help="initial or full")] = "initial",
    run: Annotated[str | None, typer.Option(help="watch this run instead of starting one")] = None,
    wait: Annotated[bool, typer.Option(help="show progress until the run ends")] = True,
    poll: Annotated[float, typer.Option(help="seconds between progress reads")] = 1.0,
    every: Annotated[
        float,
        typer.Option(
            help="without a terminal (nohup, systemd, docker logs): seconds between progress"
            " lines, printed at each phase change too"
        ),
    ] = 10.0,
) -> None:
    """Start a sync run (or watch one) and show its progress until it ends: bars on a
    terminal, else a line every --every seconds (phase, done, ETA, each kind)."""
    api = _api(ctx)
    if run is None:
        try:
            started = api.call("POST", "/api/sync-runs", json={"kind": kind})
            run = str(started["id"])
            out.print(f"sync run {run} started")
        except Refused as error:
            body = error.response.json() if error.response.status_code == 409 else {}
            if "sync_run_id" not in body:
                show_refusal(error)
                raise typer.Exit(1) from None
            run = str(body["sync_run_id"])
            out.print(f"sync run {run} is already in progress; watching it")
    if not wait:
        return
    finished = _watch(api, run, poll, every)
    for problem in finished["errors"]:
        out.print(f"[red]error[/red] {problem.get('system', '')} {problem['message']}")
    out.print(f"sync run {run}: {finished['phase']}")
    if finished["phase"] != "done":
        raise typer.Exit(1)


@mappings_app.command("list")
def mappings_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="suggested, linked, held, ...")] = None,
    run: Annotated[str | None, typer.Option(help="only this sync run's")] = None,
) -> None:
    """List mappings."""
    found = run_guarded(
        lambda: _api(ctx).call("GET", "/api/mappings", params={"state": state, "sync_run_id": run})
    )
    table = Table("id", "state", "Rev.io customer", "RMM company", "score", "rule")
    for m in found:
        table.add_row(
            m["id"],
            m["state"],
            f"{m['revio_name'] or ''} ({m['revio_customer_id']})",
            f"{m['rmm_name'] or ''} ({m['rmm_company_id'] or '-'})"
            + (" [deleted in RMM]" if m.get("rmm_deleted") else ""),
            "" if m["score"] is None else str(m["score"]),
            m["rule"] or "",
        )
    out.print(table)


def _act(ctx: typer.Context, mapping_id: str, action: str) -> None:
    found = run_guarded(lambda: _api(ctx).call("POST", f"/api/mappings/{mapping_id}/{action}"))
    out.print(f"{action}: {mapping_id} is now {found.get('state')}")


@mappings_app.command("confirm")
def mappings_confirm(ctx: typer.Context, mapping_id: str) -> None:
    """Confirm a suggested link (the id is the Rev.io customer id)."""
    _act(ctx, mapping_id, "confirm")


@mappings_app.command("reject")
def mappings_reject(ctx: typer.Context, mapping_id: str) -> None:
    """Reject a suggested link."""
    _act(ctx, mapping_id, "reject")


@mappings_app.command("unlink")
def mappings_unlink(ctx: typer.Context, mapping_id: str) -> None:
    """Undo a link."""
    _act(ctx, mapping_id, "unlink")


@mappings_app.command("link")
def mappings_link(ctx: typer.Context, revio_customer_id: str, rmm_company_id: str) -> None:
    """Link a Rev.io customer to an RMM company by hand."""
    body = {"revio_customer_id": revio_customer_id, "rmm_company_id": rmm_company_id}
    run_guarded(lambda: _api(ctx).call("POST", "/api/mappings", json=body))
    out.print(f"linked Rev.io customer {revio_customer_id} to RMM company {rmm_company_id}")


@mappings_app.command("confirm-all")
def mappings_confirm_all(ctx: typer.Context, run_id: str) -> None:
    """Confirm every suggestion of a sync run."""
    done = run_guarded(lambda: _api(ctx).call("POST", f"/api/sync-runs/{run_id}/confirm-all"))
    out.print(f"confirmed {done['confirmed']} mappings")


@mappings_app.command("search")
def mappings_search(
    ctx: typer.Context,
    query: str,
    side: Annotated[str, typer.Option(help="rmm (companies) or revio (customers)")] = "rmm",
) -> None:
    """Search the unlinked records of one side."""
    hits = run_guarded(
        lambda: _api(ctx).call("GET", "/api/mappings/unlinked", params={"system": side, "q": query})
    )
    table = Table("id", "name", "score")
    for hit in hits:
        table.add_row(hit["id"], hit["name"], "" if hit["score"] is None else str(hit["score"]))
    out.print(table)


def _known_types(api: Api, asked: str) -> str:
    """The comma-separated event types `asked`, each one the tenant's log holds or the audit
    has words for (none recorded yet); another (a typo, most often) ends the command with the
    types the log holds."""
    from services.console.audit_words import WORDS

    types = [t.strip() for t in asked.split(",") if t.strip()]
    held: list[str] = run_guarded(lambda: api.call("GET", "/api/audit/types"))
    unknown = [t for t in types if t not in held and t not in WORDS]
    if unknown:
        out.print(
            f"[red]no event of type {', '.join(unknown)} in this tenant's log[/red]"
            f" (check the spelling); it holds: {', '.join(held) or 'no events yet'}"
        )
        raise typer.Exit(1)
    return ",".join(types)


@app.command()
def audit(
    ctx: typer.Context,
    entity: Annotated[str | None, typer.Option(help="a stream (alert:42) or kind (alert)")] = None,
    type: Annotated[str | None, typer.Option(help="event types, comma-separated")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date/time")] = None,
    limit: int = 50,
) -> None:
    """The audit trail, newest first, in plain words."""
    api = _api(ctx)
    types = _known_types(api, type) if type else None
    params = {"entity": entity, "type": types, "since": since, "limit": str(limit)}
    entries = run_guarded(lambda: api.call("GET", "/api/audit", params=params))
    table = Table("when (UTC)", "entity", "decision", "by", "trace")
    for e in entries:
        table.add_row(
            e["recorded_at"][:19].replace("T", " "),
            e["entity"],
            e["words"],
            e["actor"] or "",
            e["trace_url"] or e["trace_id"] or "",
        )
    out.print(table)


@letters_app.command("list")
def letters_list(ctx: typer.Context) -> None:
    """Dead letters, newest first."""
    letters = run_guarded(lambda: _api(ctx).call("GET", "/api/dead-letters"))
    table = Table("id", "subject", "consumer", "reason", "deliveries")
    for d in letters:
        table.add_row(
            str(d["id"]),
            d["original_subject"],
            d["consumer"] or "",
            d["reason"] or "",
            str(d["deliveries"] or ""),
        )
    out.print(table)


@letters_app.command("retry")
def letters_retry(ctx: typer.Context, letter_id: int) -> None:
    """Publish a dead letter again to its original subject."""
    done = run_guarded(lambda: _api(ctx).call("POST", f"/api/dead-letters/{letter_id}/retry"))
    out.print(f"retried {done['subject']}")


@app.command()
def health(ctx: typer.Context) -> None:
    """Consumer lag, last polls, vendor calls and dead letters."""
    report = run_guarded(lambda: _api(ctx).call("GET", "/api/health"))
    out.print(f"status {report['status']} {report['checks']}")
    for problem in report.get("problems", []):
        out.print(f"[red]problem:[/red] {escape(problem)}")
    for warning in report.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    out.print(f"dead letters: {report.get('dead_letters')}")
    table = Table("service", "consumer", "lag", "in flight")
    for c in report.get("consumers", []):
        table.add_row(c["service"], c["consumer"], str(c["pending"]), str(c["in_flight"]))
    out.print(table)


@tenants_app.command("list")
def tenants_list(ctx: typer.Context) -> None:
    """Tenants (an operator sees all), with their newest event and export."""
    found = run_guarded(lambda: _api(ctx).call("GET", "/api/tenants"))
    table = Table("tenant", "name", "enabled", "newest event", "last export")
    for t in found:
        export = t["last_export"]
        table.add_row(
            t["tenant"],
            t["name"],
            "yes" if t["enabled"] else "no",
            str(t["last_event_position"] or "-"),
            f"{export['exported_at'][:19]} by {export['exported_by']}" if export else "-",
        )
    out.print(table)


@tenants_app.command("create")
def tenants_create(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="lowercase letters, digits, '-' or '_'")],
    name: Annotated[str | None, typer.Option(help="the MSP's name (default: the file's)")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", exists=True, readable=True, help="settings (YAML/JSON)"),
    ] = None,
    rmm_url: Annotated[str | None, typer.Option(help="RMM base URL (else its region's)")] = None,
    rmm_client_id: Annotated[str | None, typer.Option()] = None,
    rmm_client_secret: Annotated[
        str | None, typer.Option(envvar="REVSYNC_RMM_CLIENT_SECRET", help="asked when absent")
    ] = None,
    revio_url: Annotated[str | None, typer.Option(help="Rev.io base URL")] = None,
    revio_username: Annotated[str | None, typer.Option()] = None,
    revio_client_code: Annotated[str | None, typer.Option()] = None,
    revio_password: Annotated[
        str | None, typer.Option(envvar="REVSYNC_REVIO_PASSWORD", help="asked when absent")
    ] = None,
) -> None:
    """Create a tenant with its two connections and its settings, checked live.

    Settings (and connections) come from --file, the same document as `configure`; the
    options win. Secrets are asked for (hidden) unless given or set in the environment."""
    body = read_settings_file(file) if file else {}
    body["tenant"] = tenant_id
    if name:
        body["name"] = name
    rmm, revio = dict(body.get("rmm") or {}), dict(body.get("revio") or {})
    given = [
        (rmm, "base_url", rmm_url),
        (rmm, "client_id", rmm_client_id),
        (rmm, "client_secret", rmm_client_secret),
        (revio, "base_url", revio_url),
        (revio, "username", revio_username),
        (revio, "client_code", revio_client_code),
        (revio, "password", revio_password),
    ]
    for section, key, value in given:
        if value is not None:
            section[key] = value
    if not rmm.get("client_secret"):
        rmm["client_secret"] = typer.prompt("RMM client secret", hide_input=True)
    if not revio.get("password"):
        revio["password"] = typer.prompt("Rev.io password", hide_input=True)
    body["rmm"], body["revio"] = rmm, revio
    made = run_guarded(lambda: _api(ctx).call("POST", "/api/tenants", json=body), NOTHING_SAVED)
    out.print(f"[green]created[/green] tenant {made['tenant']} ({made['name']})")


def _lifecycle(ctx: typer.Context, tenant_id: str, action: str) -> None:
    found = run_guarded(lambda: _api(ctx).call("POST", f"/api/tenants/{tenant_id}/{action}"))
    out.print(f"tenant {tenant_id} is {'enabled' if found['enabled'] else 'disabled'}")


@tenants_app.command("disable")
def tenants_disable(ctx: typer.Context, tenant_id: str) -> None:
    """Stop syncing the tenant (no polls, commands or decisions) until it is enabled."""
    _lifecycle(ctx, tenant_id, "disable")


@tenants_app.command("enable")
def tenants_enable(ctx: typer.Context, tenant_id: str) -> None:
    """Resume syncing the tenant."""
    _lifecycle(ctx, tenant_id, "enable")


@tenants_app.command("export")
def tenants_export(
    ctx: typer.Context,
    tenant_id: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default <tenant>-events.jsonl)")
    ] = None,
) -> None:
    """Export the tenant's event log, every event in order, as JSON lines."""
    target = output or Path(f"{tenant_id}-events.jsonl")
    try:
        with target.open("wb") as file:
            path = f"/api/tenants/{tenant_id}/events"
            written = run_guarded(lambda: _api(ctx).download(path, file))
    except typer.Exit:
        target.unlink(missing_ok=True)  # a refused export leaves no empty file behind
        raise
    out.print(f"exported the event log of tenant {tenant_id} to {target} ({written} bytes)")


@tenants_app.command("delete")
def tenants_delete(
    ctx: typer.Context,
    tenant_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only check, and say what would be removed")
    ] = False,
) -> None:
    """Delete a disabled tenant, every row of it (its log must be exported first) and its
    messages in NATS (dead letters too). Checks first, then asks, saying what goes."""
    path = f"/api/tenants/{tenant_id}"
    if dry_run or not yes:
        plan = run_guarded(lambda: _api(ctx).call("DELETE", path, params={"dry_run": "true"}))
        what = f"{sum(plan['rows'].values())} rows and " + (
            f"{sum(plan['messages'].values())} messages in NATS"
            if "messages" in plan
            else f"messages in NATS ({plan['messages_error']})"
        )
        if plan.get("rmm_token") == "would be forgotten":
            what += ", and its cached RMM token"
        if dry_run:
            out.print(f"deleting tenant {tenant_id} would remove {what}; nothing was removed")
            return
        typer.confirm(f"Delete tenant {tenant_id}: {what}? This cannot be undone", abort=True)
    done = run_guarded(lambda: _api(ctx).call("DELETE", path))
    out.print(f"deleted tenant {tenant_id} ({sum(done['rows'].values())} rows)")
    if "messages_error" in done:
        out.print(f"[red]messages not purged:[/red] {done['messages_error']}")
    else:
        purged = ", ".join(f"{stream} {n}" for stream, n in done["messages"].items())
        out.print(f"purged {sum(done['messages'].values())} messages from NATS ({purged})")
    if "rmm_token" in done:
        out.print(f"its cached RMM token: {done['rmm_token']}")


WAIT_SAID_AFTER_S = 1.0
"""How long replay waits for the writers in flight before saying what it waits for."""
# The sessions holding the writers' lock (`WRITERS_LOCK`, a bigint: its high and low halves):
# units of work in flight (shared), or another replay (exclusive).
_WRITERS_IN_FLIGHT = (
    "SELECT count(*) FILTER (WHERE l.mode = 'ShareLock') AS units,"
    " count(*) FILTER (WHERE l.mode = 'ShareLock' AND a.state = 'idle in transaction')"
    " AS outside, count(*) FILTER (WHERE l.mode = 'ExclusiveLock') AS replays,"
    " coalesce(max(extract(epoch FROM clock_timestamp() - a.xact_start)), 0) AS oldest_s"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid"
)


def _waiting_for(row: asyncpg.Record) -> str:
    if row["replays"]:
        return "another replay of this database to end"
    if not row["units"]:
        return "the units of work in flight to end"
    outside = row["outside"]
    busy = f", {outside} of them busy outside the database: a vendor call" if outside else ""
    return (
        f"{row['units']} unit(s) of work in flight to end (the oldest began"
        f" {row['oldest_s']:.0f} s ago{busy})"
    )


async def _pause_writers_saying(pool: asyncpg.Pool, conn: Any) -> float:
    """`pause_writers`, saying what it waits for when that takes more than a moment (units
    of work in flight: a connector's holds its vendor calls); returns the seconds waited."""
    from revsync.unit_of_work import WRITERS_LOCK, pause_writers

    started = time.monotonic()
    pausing = asyncio.ensure_future(pause_writers(conn))
    try:
        done, _ = await asyncio.wait({pausing}, timeout=WAIT_SAID_AFTER_S)
        if not done:
            async with pool.acquire() as other:
                row = await other.fetchrow(_WRITERS_IN_FLIGHT, WRITERS_LOCK)
            assert row is not None  # counts: always one row
            out.print(
                f"waiting for {_waiting_for(row)}; new decisions wait until the replay is done"
            )
        await pausing
    except BaseException:
        pausing.cancel()
        raise
    return time.monotonic() - started


async def _replay(database_url: str) -> tuple[int, list[str], list[str], float]:
    from revsync.db import create_pool
    from revsync.eventlog.migrate import apply_migrations
    from revsync.projection import replay
    from revsync.unit_of_work import resume_writers

    from services.console.projections import all_projections

    projections, missing = all_projections()
    # one connection pauses the writers, one replays, one reads the log ahead (or says, while
    # the writers are waited for, what holds them)
    pool = await create_pool(database_url, max_size=3)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            # decisions committed during the rebuild would be lost from the new read models
            waited = await _pause_writers_saying(pool, conn)
            try:
                read = await replay(pool, projections, writers_paused=True)
            finally:
                await resume_writers(conn)
    finally:
        await pool.close()
    return read, [p.name for p in projections], missing, waited


NO_DATABASE = (
    "replay rebuilds the projections of one database: name it with --database-url or"
    " DATABASE_URL (after `make run`: `. .revsync/env && revsync replay`)"
)


@app.command("replay")
def replay_command(
    database_url: Annotated[
        str | None, typer.Option(envvar="DATABASE_URL", help="the revsync database (required)")
    ] = None,
) -> None:
    """Drop every projection and rebuild it from the event log (one transaction), once the
    units of work in flight have ended (new ones wait meanwhile)."""
    if not database_url:
        out.print(f"[red]no database given:[/red] {NO_DATABASE}")
        raise typer.Exit(2)
    started = time.monotonic()
    try:
        read, names, missing, waited = asyncio.run(_replay(database_url))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        out.print(
            f"[red]cannot use the database given (--database-url / DATABASE_URL):[/red] {error}"
        )
        raise typer.Exit(1) from None
    took = time.monotonic() - started
    waiting = ""
    if waited >= WAIT_SAID_AFTER_S:
        waiting = f", {waited:.1f} s of it waiting for the writers to pause"
    out.print(f"rebuilt {', '.join(names)} from {read} events in {took:.1f} s{waiting}")
    if missing:
        out.print(f"[yellow]no projections found for: {', '.join(missing)}[/yellow]")


@app.command("sandbox", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def sandbox(ctx: typer.Context) -> None:
    """Run both vendor sandboxes (`python -m services.sandbox` with these options).

    Options: --seed, --size, --revio-port, --rmm-port, --host, --only, --snapshot."""
    os.execv(sys.executable, [sys.executable, "-m", "services.sandbox", *ctx.args])


def main() -> None:
    app()
