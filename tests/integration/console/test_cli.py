"""The `revsync` CLI against a console served over HTTP: configure from a file, sync with
progress to the end (lines when there is no terminal), mappings, audit, replay, sandbox."""

import asyncio
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import uvicorn
import yaml
from nats.js import JetStreamContext
from revsync.connector.rmm_tokens import open_bucket, token_key
from revsync.db import connect, create_pool, ensure_database
from revsync.devservers import DevServers, free_port
from revsync.eventlog.migrate import apply_migrations
from revsync.secrets_box import SecretBox
from revsync.tenancy import Tenant
from revsync.tenant_store import TenantStore
from typer.testing import CliRunner

from services.console.app import create_app
from services.console.cli import Api, PlainProgress, _watch, in_cli_terms, progress_line
from services.console.cli import app as cli
from services.console.consumers import ConsoleConsumers
from services.console.deps import Console
from services.console.sync_runs import cancel_run, start_run
from tests.integration.console.support import (
    Accounts,
    fake_connectors,
    good_settings,
    small_world,
    wait_until,
)


@pytest.fixture
async def served(console: Console) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(console),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: asyncio.sleep(0, server.started))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def user(console: Console, accounts: Accounts) -> list[str]:
    """Options that sign in as an admin of the tenant."""
    name = f"cli-{accounts.tenant}"
    await console.users.create(name, "cli-password", "admin", accounts.tenant)
    return ["--user", name, "--password", "cli-password"]


async def revsync(
    url: str, *args: str, env: dict[str, str | None] | None = None, input: str | None = None
) -> Any:
    """Run the CLI in a thread (the console answers on this event loop meanwhile); a CLI
    still running after two minutes (a sync run that never ends) fails the test."""
    runner = CliRunner()
    invoked = asyncio.to_thread(
        runner.invoke,
        cli,
        ["--url", url, *args],
        env={"COLUMNS": "200", **(env or {})},
        input=input,
    )
    return await asyncio.wait_for(invoked, 120)


async def test_configure_saves_a_file_and_shows_each_refusal_by_field(
    served: str, user: list[str], accounts: Accounts, tmp_path: Path
):
    good = tmp_path / "settings.yaml"
    good.write_text(yaml.safe_dump(good_settings(accounts)))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**good_settings(accounts), "bill_profile": "4"}))

    saved = await revsync(served, *user, "configure", "--file", str(good))
    refused = await revsync(served, *user, "configure", "--file", str(bad))

    assert saved.exit_code == 0, saved.output
    assert f"saved settings of tenant {accounts.tenant}" in saved.output
    assert refused.exit_code == 1
    assert "Refused: nothing was saved" in refused.output
    assert "bill_profile" in refused.output and "inactive" in refused.output
    assert accounts.client_secret not in saved.output + refused.output
    again = await revsync(served, *user, "configure", "--file", str(good))
    assert again.exit_code == 0, again.output
    assert f"nothing changed: settings of tenant {accounts.tenant}" in again.output


async def test_sync_shows_progress_until_the_run_is_done_then_mappings_and_audit(
    served: str,
    user: list[str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
    company: None,
):
    connectors = asyncio.create_task(fake_connectors(js, configured.tenant, small_world()))

    synced = await revsync(served, *user, "sync", "--poll", "0.2")
    await connectors

    assert synced.exit_code == 0, synced.output
    # no terminal here (as under nohup, systemd, docker logs): progress comes as lines
    lines = synced.output.strip().splitlines()
    progress = [line for line in lines if PROGRESS_LINE.match(line)]
    assert progress, synced.output
    assert "━" not in synced.output  # no bar drawn
    assert progress[-1].startswith("[") and "phase: done, 100% done" in progress[-1]
    assert "RMM companies 5/5" in progress[-1] and "Rev.io customers 5/5" in progress[-1]
    assert lines[-1].endswith("done") and lines.index(progress[-1]) == len(lines) - 2
    listed = await revsync(served, *user, "mappings", "list", "--state", "suggested")
    assert listed.exit_code == 0, listed.output
    assert "Globex Industrial" in listed.output
    confirmed = await revsync(served, *user, "mappings", "confirm", "102")
    assert confirmed.exit_code == 0, confirmed.output
    assert "linked" in confirmed.output
    found = await revsync(served, *user, "mappings", "search", "initrode", "--side", "rmm")
    assert "c4" in found.output
    trail = await revsync(served, *user, "audit", "--type", "CustomerLinked")
    assert trail.exit_code == 0, trail.output
    assert "Linked to RMM company" in trail.output


PROGRESS_LINE = re.compile(r"^\[\d+:\d\d:\d\d\] phase: \w+.*, \d+% done")


def a_run(phase: str, seen: int, **extra: Any) -> dict[str, Any]:
    """A sync run as `GET /api/sync-runs/{id}` answers it, started 80 s ago."""
    started = datetime.now(UTC) - timedelta(seconds=80)
    return {
        "id": "r1",
        "phase": phase,
        "activity": None,
        "started_at": started.isoformat(),
        "fraction": 1.0 if phase == "done" else 0.42,
        "eta_seconds": 110.0 if phase != "done" else 0.0,
        "errors": [],
        "progress": [
            {"kind": "rmm.company", "label": "RMM companies", "seen": seen, "total": 37,
             "decided": 30, "created": 3},
            {"kind": "rmm.site", "label": "RMM sites", "seen": 4, "total": None,
             "decided": None, "created": None},
        ],
        **extra,
    }  # fmt: skip


def test_a_progress_line_says_phase_done_eta_and_each_kind():
    run = a_run("writing", 37, activity="171 writes to RMM waiting")
    now = datetime.fromisoformat(run["started_at"]) + timedelta(seconds=80)

    line = progress_line(run, now)

    assert line == (
        "[0:01:20] phase: writing (171 writes to RMM waiting), 42% done, ETA 0:01:50"
        " | RMM companies 37/37, decided 30, 3 created | RMM sites 4/?"
    )
    assert progress_line(a_run("done", 37), now).startswith("[0:01:20] phase: done, 100% done |")


def test_a_progress_line_is_due_at_each_phase_change_and_every_interval_between():
    plain = PlainProgress(every_s=10.0)
    listing, deciding = a_run("listing", 1), a_run("deciding", 37)

    due = [
        plain.due(listing, 0.0),  # the first read
        plain.due(listing, 1.0),
        plain.due(listing, 9.9),
        plain.due(listing, 10.0),  # 10 s since the last line
        plain.due(deciding, 11.0),  # a new phase
        plain.due(deciding, 12.0),
    ]

    assert due == [True, False, False, True, True, False]


def test_without_a_terminal_a_watched_run_prints_lines_not_bars():
    reads = [a_run("listing", 1), a_run("listing", 9), a_run("deciding", 37),
             a_run("deciding", 37), a_run("done", 37)]  # fmt: skip
    answered: list[str] = []

    def console(request: httpx.Request) -> httpx.Response:
        answered.append(str(request.url.path))
        return httpx.Response(200, json=reads[len(answered) - 1])

    api = Api("http://console.test", "token", None, None, None)
    api._client = httpx.Client(base_url=api.url, transport=httpx.MockTransport(console))
    shown = CliRunner().invoke(
        typer_app_of(lambda: _watch(api, "r1", poll_s=0.0, every_s=3600.0)), []
    )

    assert shown.exit_code == 0, shown.output
    assert answered == ["/api/sync-runs/r1"] * 5
    lines = shown.output.splitlines()
    assert [line.split(" phase: ")[1].split(",")[0] for line in lines] == [
        "listing", "deciding", "done"
    ]  # fmt: skip
    assert all(PROGRESS_LINE.match(line) for line in lines), shown.output
    assert "RMM companies 1/37, decided 30, 3 created" in lines[0]


def typer_app_of(action: Any) -> Any:
    """A one-command Typer app running `action`, so CliRunner captures what it prints."""
    import typer

    app = typer.Typer()

    @app.command()
    def watch() -> None:
        action()

    return app


def test_the_apis_tenant_parameter_is_named_as_the_clis_option():
    several = in_cli_terms("this operator sees 2 tenants: pass ?tenant=<id>")
    none_yet = in_cli_terms("no tenant exists yet: pass ?tenant=<new id> to configure one")

    assert several == (
        "this operator sees 2 tenants: pass --tenant <id> (or REVSYNC_TENANT=<id>);"
        " `revsync tenants list` shows them"
    )
    assert none_yet == (
        "no tenant exists yet: pass --tenant <new id> (or REVSYNC_TENANT=<new id>) to configure one"
    )
    assert in_cli_terms("tenant 'x' is not known") == "tenant 'x' is not known"


NOT_SETTINGS = [
    pytest.param("name: [unclosed", "not valid YAML at line 1, column 16", id="invalid-yaml"),
    pytest.param("- name: Acme\n", "must be a mapping of settings", id="a-list"),
    pytest.param("Acme MSP\n", "must be a mapping of settings", id="a-scalar"),
]


@pytest.mark.parametrize(("content", "problem"), NOT_SETTINGS)
@pytest.mark.parametrize(
    "command", [["configure"], ["tenants", "create", "zz"]], ids=["configure", "tenants-create"]
)
def test_a_settings_file_that_is_not_a_mapping_is_explained_before_any_call(
    command: list[str], content: str, problem: str, tmp_path: Path
):
    file = tmp_path / "bad.yaml"
    file.write_text(content)
    nobody = f"http://127.0.0.1:{free_port()}"  # a call would say "cannot reach the console"

    shown = CliRunner().invoke(
        cli,
        ["--url", nobody, "--token", "t", *command, "--file", str(file)],
        env={"COLUMNS": "400", "REVSYNC_RMM_CLIENT_SECRET": "s", "REVSYNC_REVIO_PASSWORD": "p"},
    )

    assert shown.exit_code == 2, shown.output
    assert shown.exception is None or isinstance(shown.exception, SystemExit)
    assert f"{file}: " in shown.output and problem in shown.output
    assert "Traceback" not in shown.output and "cannot reach" not in shown.output


async def test_read_only_mistakes_are_refused_without_saying_nothing_was_saved(
    served: str, user: list[str], configured: Accounts
):
    mistakes = [
        ["audit", "--since", "garbage"],
        ["audit", "--limit", "0"],
        ["sync", "--run", "nope"],
        ["mappings", "confirm-all", "nope"],
    ]
    for mistake in mistakes:
        refused = await revsync(served, *user, *mistake)

        assert refused.exit_code == 1, (mistake, refused.output)
        assert "Refused" in refused.output
        assert "nothing was saved" not in refused.output, mistake


async def test_watching_an_unknown_run_shows_the_404_and_no_progress(
    served: str, user: list[str], configured: Accounts
):
    unknown = await revsync(served, *user, "sync", "--run", str(uuid.uuid4()))

    assert unknown.exit_code == 1
    assert "404" in unknown.output and "no sync run" in unknown.output
    assert "phase" not in unknown.output


async def test_an_event_type_the_log_does_not_hold_is_an_error_naming_those_it_does(
    served: str, user: list[str], configured: Accounts
):
    bogus = await revsync(served, *user, "audit", "--type", "SettingsChanged, Bogus")
    held = await revsync(served, *user, "audit", "--type", "SettingsChanged")
    none_yet = await revsync(served, *user, "audit", "--type", "AlertSkipped")

    assert none_yet.exit_code == 0, none_yet.output  # spelt right, none recorded yet
    assert "check the spelling" not in none_yet.output
    assert bogus.exit_code == 1
    assert "no event of type Bogus" in bogus.output and "check the spelling" in bogus.output
    assert "it holds: " in bogus.output and "SettingsChanged" in bogus.output
    assert held.exit_code == 0, held.output


async def test_a_refused_call_is_explained_and_fails(served: str, user: list[str]):
    unconfigured = await revsync(served, *user, "sync", "--no-wait")
    wrong = await revsync(served, "--user", "nobody", "--password", "x", "audit")

    assert unconfigured.exit_code == 1
    assert "404" in unconfigured.output and "is not known" in unconfigured.output
    assert wrong.exit_code == 1
    assert "401" in wrong.output


async def test_an_operator_of_several_tenants_is_told_to_pass_tenant(
    served: str, console: Console, configured: Accounts
):
    t = configured.tenant
    await console.tenants.save(Tenant(id=f"{t}x", name="Second MSP"), actor="test")
    await console.users.create(f"op-{t}", "op-password", "operator")
    signed_in = ["--user", f"op-{t}", "--password", "op-password"]

    unnamed = await revsync(served, *signed_in, "audit", env={"REVSYNC_TENANT": None})
    named = await revsync(served, *signed_in, "--tenant", t, "audit")
    from_env = await revsync(served, *signed_in, "audit", env={"REVSYNC_TENANT": t})

    assert unnamed.exit_code == 1
    said = " ".join(unnamed.output.split())
    assert re.search(r"400 this operator sees \d+ tenants: pass --tenant <id>", said), said
    assert "REVSYNC_TENANT=<id>" in said and "revsync tenants list" in said
    assert "?tenant=" not in said
    assert named.exit_code == 0, named.output
    assert "Settings saved" in named.output
    assert from_env.exit_code == 0, from_env.output
    assert "Settings saved" in from_env.output


@pytest.fixture
async def fresh_database(servers: DevServers) -> AsyncIterator[str]:
    """A database of this test alone: replay rebuilds every projection of a database, and
    other tests' events are theirs."""
    name = f"revsync_replay_{secrets.token_hex(4)}"
    url = await ensure_database(servers.database_url, name)
    conn = await connect(url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield url
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_replay_rebuilds_the_projections_from_the_event_log(
    fresh_database: str, secret_key: str
):
    pool = await create_pool(fresh_database, max_size=4)
    try:
        store = TenantStore(pool, SecretBox(secret_key))
        await store.save(Tenant(id="replayed", name="Replayed MSP"), actor="test")
        first = await start_run(pool, "replayed", "alice")
        await cancel_run(pool, "replayed", first, "alice")
        await start_run(pool, "replayed", "bob", "full")
        runs, tenants = (
            "SELECT * FROM sync_runs ORDER BY run_id",
            ("SELECT tenant_id, name, enabled, config FROM tenants ORDER BY tenant_id"),
        )
        before = (
            [dict(r) for r in await pool.fetch(runs)],
            [dict(r) for r in await pool.fetch(tenants)],
        )

        replayed = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["replay", "--database-url", fresh_database],
            env={"COLUMNS": "400"},
        )

        assert replayed.exit_code == 0, replayed.output
        assert "sync-runs" in replayed.output and "company-links" in replayed.output
        assert "no projections found" not in replayed.output  # every service's were
        after = (
            [dict(r) for r in await pool.fetch(runs)],
            [dict(r) for r in await pool.fetch(tenants)],
        )
        assert after == before
        assert len(after[0]) == 2 and {r["phase"] for r in after[0]} == {"cancelled", "listing"}
        found = await store.load("replayed", with_secrets=False)
        assert found is not None and found.name == "Replayed MSP"
    finally:
        await pool.close()


def test_replay_without_a_database_refuses_and_says_where_to_find_it():
    refused = CliRunner().invoke(cli, ["replay"], env={"DATABASE_URL": None, "COLUMNS": "400"})

    assert refused.exit_code == 2
    assert "--database-url or DATABASE_URL" in refused.output
    assert ".revsync/env" in refused.output and "rebuilt" not in refused.output


def test_replay_against_a_database_it_cannot_reach_says_so_without_a_traceback():
    nowhere = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/revsync"
    refused = CliRunner().invoke(cli, ["replay", "--database-url", nowhere], env={"COLUMNS": "400"})

    assert refused.exit_code == 1, refused.output
    assert "cannot use the database given" in refused.output
    assert "Traceback" not in refused.output and "secret" not in refused.output


def test_sandbox_runs_the_sandboxes_with_their_options():
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.console.cli import main; main()",
            "sandbox",
            "--help",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "--revio-port" in shown.stdout and "--snapshot" in shown.stdout


async def test_tenants_are_created_listed_disabled_exported_and_deleted(
    served: str, console: Console, accounts: Accounts, tmp_path: Path
):
    t = accounts.tenant
    await console.users.create(f"op-{t}", "op-password", "operator")
    signed_in = ["--user", f"op-{t}", "--password", "op-password"]
    settings = {k: v for k, v in good_settings(accounts).items() if k not in ("rmm", "revio")}
    file = tmp_path / "tenant.yaml"
    file.write_text(yaml.safe_dump(settings))
    target = tmp_path / "log.jsonl"

    created = await revsync(
        served, *signed_in, "tenants", "create", t, "--file", str(file),
        "--rmm-url", "http://rmm.test", "--rmm-client-id", accounts.client_id,
        "--revio-url", "http://revio.test/v1", "--revio-username", "integration",
        "--revio-client-code", accounts.client_code,
        env={"REVSYNC_RMM_CLIENT_SECRET": accounts.client_secret,
             "REVSYNC_REVIO_PASSWORD": accounts.revio_password},
    )  # fmt: skip
    listed = await revsync(served, *signed_in, "tenants", "list")
    disabled = await revsync(served, *signed_in, "tenants", "disable", t)
    refused = await revsync(served, *signed_in, "tenants", "delete", t, "--yes")
    checked = await revsync(served, *signed_in, "tenants", "delete", t, input="y\n")
    exported = await revsync(served, *signed_in, "tenants", "export", t, "-o", str(target))
    dry = await revsync(served, *signed_in, "tenants", "delete", t, "--dry-run")
    declined = await revsync(served, *signed_in, "tenants", "delete", t, input="n\n")
    kept = await console.tenants.load(t, with_secrets=False)
    assert console.js is not None
    token = token_key("http://rmm.test", accounts.client_id)
    await (await open_bucket(console.js)).put(token, b"sealed token")
    asked = await revsync(served, *signed_in, "tenants", "delete", t, input="n\n")
    deleted = await revsync(served, *signed_in, "tenants", "delete", t, input="y\n")

    assert created.exit_code == 0, created.output
    assert f"created tenant {t}" in created.output
    assert t in listed.output and "yes" in listed.output
    assert disabled.exit_code == 0 and f"tenant {t} is disabled" in disabled.output
    assert refused.exit_code == 1 and "409" in refused.output and "exported" in refused.output
    # checked before it asks: no question whose answer would only be refused
    assert checked.exit_code == 1 and "exported" in checked.output
    assert "Delete tenant" not in checked.output
    rows = re.search(
        r"would remove (\d+) rows and 0 messages in NATS; nothing was removed", dry.output
    )
    assert dry.exit_code == 0 and rows is not None, dry.output
    assert declined.exit_code == 1 and f"Delete tenant {t}: {rows[1]} rows and 0 messages" in (
        declined.output
    )
    assert kept is not None  # neither removed it
    assert exported.exit_code == 0, exported.output
    lines = [orjson.loads(line) for line in target.read_text().splitlines()]
    assert [line["type"] for line in lines][-1] == "TenantDisabled"
    assert accounts.client_secret not in target.read_text()
    assert deleted.exit_code == 0 and f"deleted tenant {t} ({rows[1]} rows)" in deleted.output
    assert "purged 0 messages from NATS (CHANGES 0, COMMANDS 0, RESULTS 0, DLQ 0)" in (
        " ".join(deleted.output.split())
    )
    assert "and its cached RMM token? This cannot be undone" in " ".join(asked.output.split())
    assert "its cached RMM token: forgotten" in deleted.output
    assert await console.tenants.load(t, with_secrets=False) is None
    gone = await revsync(served, *signed_in, "tenants", "export", t, "-o", str(target))
    assert gone.exit_code == 1 and "404" in gone.output and not target.exists()
