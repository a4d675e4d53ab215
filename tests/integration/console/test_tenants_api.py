"""`/api/tenants`: an operator creates, lists, disables, enables and deletes tenants, each change
audited; the event log is exported as JSON lines without a secret; a tenant is deleted only
after an export that holds its last event, and then every row of it goes, the other
tenants' untouched. And a user of one tenant reaches nothing of another through any route."""

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import nats
import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import SecretStr
from revsync.connector.rmm_tokens import MISSING, lock_key, open_bucket, token_key
from revsync.contracts.revio import CreateRevioTicket
from revsync.contracts.subjects import Subjects
from revsync.devservers import DevServers
from revsync.eventlog import EventStore, NewEvent
from revsync.messaging.subscriber import REASON_HEADER
from revsync.tenancy import RevioConnection, RmmConnection, Tenant
from revsync.tenant_store import TenantCache
from revsync.unit_of_work import UnitOfWork

from services.console.app import create_app
from services.console.deps import Console
from services.console.sync_runs import start_run
from services.console.tenants import count_messages, tenant_tables
from tests.integration.console.support import (
    REVIO_URL,
    RMM_URL,
    Accounts,
    RoutingTransport,
    bearer,
    create_accounts,
    good_settings,
    make_console,
)
from tests.integration.console.tenant_rows import add_tenant

Headers = dict[str, str]


async def headers_of(console: Console, username: str, role: str, tenant: str | None) -> Headers:
    return {"Authorization": f"Bearer {await bearer(console, username, role, tenant)}"}


@pytest.fixture
async def operator(console: Console, tenant: str) -> Headers:
    return await headers_of(console, f"op-{tenant}", "operator", None)


def new_tenant(accounts: Accounts) -> dict[str, Any]:
    return {"tenant": accounts.tenant, **good_settings(accounts)}


async def record(console: Console, tenant: str, stream: str, type_: str) -> None:
    async with UnitOfWork(console.pool, tenant, consumer="alert") as uow:
        await uow.append(stream, [NewEvent(type_, {"reason": "test"})])


async def export_lines(api: httpx.AsyncClient, tenant: str, headers: Headers) -> list[Any]:
    answer = await api.get(f"/api/tenants/{tenant}/events", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in answer.text.splitlines()]


async def test_an_operator_creates_lists_disables_and_enables_a_tenant_each_change_audited(
    api: httpx.AsyncClient,
    console: Console,
    operator: Headers,
    accounts: Accounts,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    t = accounts.tenant
    created = await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)
    again = await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)
    listed = await api.get("/api/tenants", headers=operator)
    disabled = await api.post(f"/api/tenants/{t}/disable", headers=operator)
    cache = TenantCache(console.tenants, ttl_s=0)
    settings_when_disabled = await cache.settings_for(t)
    run_refused = await api.post("/api/sync-runs", params={"tenant": t}, headers=operator)
    enable_via_settings = await api.patch(
        "/api/settings", params={"tenant": t}, json={"enabled": True}, headers=operator
    )
    enabled = await api.post(f"/api/tenants/{t}/enable", headers=operator)

    assert created.status_code == 201, created.text
    assert created.json()["rmm"]["client_secret_set"] is True
    assert created.json()["revio"]["password_set"] is True
    assert again.status_code == 409
    assert t in [row["tenant"] for row in listed.json()]
    assert disabled.json()["enabled"] is False
    assert settings_when_disabled is None  # the domain services stop deciding for it
    assert run_refused.status_code == 409 and "disabled" in run_refused.text
    assert enable_via_settings.status_code == 422  # the lifecycle's, not the settings'
    assert enabled.json()["enabled"] is True
    assert await cache.settings_for(t) is not None
    lifecycle = await EventStore(console.pool).read_stream(t, "tenant")
    assert [(e.type, e.metadata["actor"]) for e in lifecycle] == [
        ("TenantCreated", f"op-{t}"),
        ("TenantDisabled", f"op-{t}"),
        ("TenantEnabled", f"op-{t}"),
    ]
    audit = (
        await api.get("/api/audit", params={"tenant": t, "entity": "tenant"}, headers=operator)
    ).json()
    assert [a["type"] for a in audit] == ["TenantEnabled", "TenantDisabled", "TenantCreated"]
    assert audit[1]["words"].startswith("Tenant disabled")
    events = await EventStore(console.pool).read_all(tenant_id=t)
    printed = capsys.readouterr()
    places = {
        "responses": " ".join(a.text for a in (created, again, listed, disabled, enabled)),
        "event log": " ".join(f"{e.data} {e.metadata}" for e in events),
        "logs": printed.out + printed.err + caplog.text,
    }
    for secret in (accounts.client_secret, accounts.revio_password):
        for place, text in places.items():
            assert secret not in text, f"a secret reached the {place}"
    assert "tenant created" in places["logs"] and "tenant disabled" in places["logs"]


async def test_a_new_tenant_is_checked_live_and_refused_field_by_field(
    api: httpx.AsyncClient, console: Console, operator: Headers, accounts: Accounts
):
    body = new_tenant(accounts)
    body["rmm"] = {**body["rmm"], "client_secret": "Wrong-1"}
    wrong = await api.post("/api/tenants", json=body, headers=operator)
    bad_id = await api.post("/api/tenants", json={**body, "tenant": "Not An Id"}, headers=operator)

    assert wrong.status_code == 422 and "rmm.client_secret" in wrong.text
    assert "Wrong-1" not in wrong.text
    assert bad_id.status_code == 422 and bad_id.json()["errors"][0]["field"] == "tenant"
    assert await console.tenants.load(accounts.tenant, with_secrets=False) is None


async def test_only_an_operator_creates_lists_all_disables_enables_or_deletes(
    api: httpx.AsyncClient, console: Console, operator: Headers, accounts: Accounts
):
    t = accounts.tenant
    assert (await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)).is_success
    other = f"{t}o"
    await console.tenants.save(Tenant(id=other, name="Other MSP"), actor="test")
    admin = await headers_of(console, f"adm-{t}", "admin", t)

    refused = [
        await api.post(
            "/api/tenants", json={**new_tenant(accounts), "tenant": f"{t}n"}, headers=admin
        ),
        await api.post(f"/api/tenants/{t}/disable", headers=admin),
        await api.post(f"/api/tenants/{t}/enable", headers=admin),
        await api.delete(f"/api/tenants/{t}", headers=admin),
    ]
    own = (await api.get("/api/tenants", headers=admin)).json()
    everyone = (await api.get("/api/tenants", headers=operator)).json()

    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert [row["tenant"] for row in own] == [t]
    assert {t, other} <= {row["tenant"] for row in everyone}
    assert (await console.tenants.load(t, with_secrets=False)).enabled  # type: ignore[union-attr]


async def test_the_export_holds_every_event_of_the_tenant_in_order_and_no_secret(
    api: httpx.AsyncClient, console: Console, operator: Headers, accounts: Accounts
):
    t = accounts.tenant
    assert (await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)).is_success
    for n in range(3):
        await record(console, t, f"alert:e{n}:cpu", "AlertSkipped")
        await record(console, f"{t}o", f"alert:e{n}:cpu", "AlertSkipped")
    admin = await headers_of(console, f"adm-{t}", "admin", t)
    viewer = await headers_of(console, f"view-{t}", "viewer", t)
    stranger = await headers_of(console, f"adm-{t}o", "admin", f"{t}o")

    lines = await export_lines(api, t, admin)

    stored = await console.pool.fetch(
        "SELECT global_position, id FROM events WHERE tenant_id = $1 ORDER BY global_position", t
    )
    assert [line["position"] for line in lines] == [r["global_position"] for r in stored]
    assert [line["id"] for line in lines] == [str(r["id"]) for r in stored]
    assert {line["tenant"] for line in lines} == {t}
    assert [line["type"] for line in lines][:2] == ["TenantCreated", "SettingsChanged"]
    assert lines[1]["data"]["secrets_changed"] == ["revio.password", "rmm.client_secret"]
    assert lines[0]["metadata"]["actor"] == f"op-{t}"
    text = orjson.dumps(lines).decode()
    assert accounts.client_secret not in text and accounts.revio_password not in text
    exported = await console.pool.fetchrow(
        "SELECT exported_by, last_position, events FROM tenant_exports WHERE tenant_id = $1", t
    )
    assert dict(exported) == {  # type: ignore[arg-type]
        "exported_by": f"adm-{t}",
        "last_position": lines[-1]["position"],
        "events": len(lines),
    }
    assert (await api.get(f"/api/tenants/{t}/events", headers=viewer)).status_code == 403
    assert (await api.get(f"/api/tenants/{t}/events", headers=stranger)).status_code == 403
    assert (await api.get(f"/api/tenants/{t}x/events", headers=operator)).status_code == 404


_DUMMY: dict[str, Callable[[str, str], Any]] = {
    "text": lambda tenant, column: f"{tenant}-{column}",
    "int4": lambda *_: 1,
    "int8": lambda *_: 1,
    "float4": lambda *_: 1.0,
    "float8": lambda *_: 1.0,
    "bool": lambda *_: False,
    "uuid": lambda *_: uuid4(),
    "jsonb": lambda *_: {},
    "timestamptz": lambda *_: datetime.now(UTC),
    "date": lambda *_: date.today(),
    "bytea": lambda *_: b"x",
    "_text": lambda *_: [],
}
_FIXED = {("console_users", "role"): "admin"}


async def a_row_in_every_tenant_table(pool: asyncpg.Pool, tenant: str) -> list[str]:
    """One row of `tenant` in each table with a tenant_id column (whatever migrations add)."""
    async with pool.acquire() as conn:
        tables = await tenant_tables(conn)
        for table in tables:
            columns = await conn.fetch(
                "SELECT column_name, udt_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = $1"
                " AND is_generated = 'NEVER' AND (column_name = 'tenant_id'"
                " OR (is_nullable = 'NO' AND column_default IS NULL))",
                table,
            )
            names = [c["column_name"] for c in columns]
            values = [
                tenant
                if c["column_name"] == "tenant_id"
                else _FIXED.get((table, c["column_name"]))
                or _DUMMY[c["udt_name"]](tenant, c["column_name"])
                for c in columns
            ]
            marks = ", ".join(f"${i + 1}" for i in range(len(values)))
            await conn.execute(
                f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})'
                " ON CONFLICT DO NOTHING",
                *values,
            )
    return tables


async def rows_of(pool: asyncpg.Pool, tenant: str) -> dict[str, str]:
    """Per table with tenant_id: a digest of the tenant's rows."""
    found = {}
    async with pool.acquire() as conn:
        for table in await tenant_tables(conn):
            found[table] = await conn.fetchval(
                f"SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|'"
                f" ORDER BY t::text), '')) FROM \"{table}\" t WHERE tenant_id = $1",
                tenant,
            )
    return found


async def test_delete_is_refused_until_an_export_holds_the_last_event_then_removes_every_row(
    api: httpx.AsyncClient, console: Console, operator: Headers, accounts: Accounts
):
    t, other = accounts.tenant, f"{accounts.tenant}o"
    assert (await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)).is_success
    await console.tenants.save(Tenant(id=other, name="Other MSP"), actor="test")
    await start_run(console.pool, t, "alice")
    await headers_of(console, f"adm-{t}", "admin", t)
    tables = await a_row_in_every_tenant_table(console.pool, t)
    await a_row_in_every_tenant_table(console.pool, other)
    assert len(tables) >= 20 and {"events", "tenants", "tenant_exports", "console_users"} <= set(
        tables
    )
    before = await rows_of(console.pool, t)
    assert all(not digest.startswith("0:") for digest in before.values())
    theirs = await rows_of(console.pool, other)

    dry = {"dry_run": "true"}
    while_enabled = await api.delete(f"/api/tenants/{t}", headers=operator)
    checked_while_enabled = await api.delete(f"/api/tenants/{t}", params=dry, headers=operator)
    await api.post(f"/api/tenants/{t}/disable", headers=operator)
    await console.pool.execute("DELETE FROM tenant_exports WHERE tenant_id = $1", t)
    never_exported = await api.delete(f"/api/tenants/{t}", headers=operator)
    await export_lines(api, t, operator)
    await record(console, t, "alert:e9:cpu", "AlertSkipped")  # after the export
    stale_export = await api.delete(f"/api/tenants/{t}", headers=operator)
    checked_stale = await api.delete(f"/api/tenants/{t}", params=dry, headers=operator)
    unchanged = await rows_of(console.pool, t)
    lines = await export_lines(api, t, operator)
    plan = await api.delete(f"/api/tenants/{t}", params=dry, headers=operator)
    after_plan = await rows_of(console.pool, t)
    deleted = await api.delete(f"/api/tenants/{t}", headers=operator)

    assert while_enabled.status_code == 409 and "disable" in while_enabled.json()["detail"]
    assert checked_while_enabled.json() == while_enabled.json()  # a dry run checks the same
    assert never_exported.status_code == 409 and "exported" in never_exported.json()["detail"]
    assert stale_export.status_code == 409 and "export" in stale_export.json()["detail"]
    assert checked_stale.status_code == 409 and checked_stale.json() == stale_export.json()
    count = int(before["events"].split(":")[0])
    assert unchanged["events"].startswith(f"{count + 2}:")  # + disabled, + the late event
    assert unchanged["tenants"].startswith("1:")
    assert plan.status_code == 200, plan.text
    assert plan.json()["dry_run"] is True and plan.json()["tenant"] == t
    assert "messages" in plan.json() and "deleted" not in plan.json()
    assert after_plan == {**unchanged, "tenant_exports": after_plan["tenant_exports"]}
    assert deleted.status_code == 200, deleted.text
    assert plan.json()["rows"] == deleted.json()["rows"]  # what a dry run said went
    assert deleted.json()["rows"]["events"] == len(lines)
    left = await rows_of(console.pool, t)
    assert {table: d for table, d in left.items() if not d.startswith("0:")} == {}
    assert await rows_of(console.pool, other) == theirs
    assert (await api.get(f"/api/tenants/{t}", headers=operator)).status_code == 404
    assert (await api.delete(f"/api/tenants/{t}", headers=operator)).status_code == 404


# --- deletion purges the tenant's messages from NATS --------------------------------------

VENDOR_DATA = "Disk full on server ACCT-4411 of Jane Roe"
"""In the body of a dead letter: vendor data that must go with the tenant, and never be logged."""


async def publish_every_kind(js: JetStreamContext, tenant: str) -> dict[str, list[int]]:
    """For `tenant`: a change, a command, a result and two dead letters (on an entity no
    service consumes, so nothing else adds messages); their sequences per stream."""
    command = CreateRevioTicket(
        tenant_id=tenant, source_key="k", customer_id="101", title=VENDOR_DATA, description="d"
    )
    body = command.to_bytes()
    sent = [
        (Subjects.change(tenant, "rmm", "purgecheck", "seen"), b"{}"),
        (Subjects.command(tenant, "revio", "purgecheck", "create"), body),
        (Subjects.result(tenant, "revio", "purgecheck", "create"), b"{}"),
        (Subjects.dead_letter(command.subject), body),
        (Subjects.dead_letter(Subjects.change(tenant, "rmm", "purgecheck", "seen")), b"{}"),
    ]
    seqs: dict[str, list[int]] = {}
    for subject, data in sent:
        ack = await js.publish(subject, data, headers={"Nats-Msg-Id": str(uuid4())})
        assert ack.stream == Subjects.stream_of(subject)
        seqs.setdefault(ack.stream, []).append(ack.seq)
    return seqs


async def left_in_nats(js: JetStreamContext, seqs: dict[str, list[int]]) -> dict[str, list[int]]:
    """Which of these messages the streams still hold."""
    found: dict[str, list[int]] = {}
    for stream, numbers in seqs.items():
        for seq in numbers:
            try:
                await js.get_msg(stream, seq)
            except NotFoundError:
                continue
            found.setdefault(stream, []).append(seq)
    return found


async def deletable(
    api: httpx.AsyncClient,
    console: Console,
    tenant: str,
    op: Headers,
    rmm: RmmConnection | None = None,
) -> None:
    """`tenant` disabled, with its (empty) log exported: ready to delete."""
    await add_tenant(console.pool, tenant, enabled=False, rmm=rmm)
    await export_lines(api, tenant, op)


EVERY_KIND = {"CHANGES": 1, "COMMANDS": 1, "RESULTS": 1, "DLQ": 2}


async def test_deleting_a_tenant_purges_its_messages_and_not_a_lookalike_tenants(
    api: httpx.AsyncClient,
    console: Console,
    js: JetStreamContext,
    operator: Headers,
    tenant: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    lookalike = f"{tenant}2"  # `dlq.<tenant>.>` must not catch `dlq.<tenant>2.…`
    await deletable(api, console, tenant, operator)
    await add_tenant(console.pool, lookalike, enabled=False)
    mine = await publish_every_kind(js, tenant)
    theirs = await publish_every_kind(js, lookalike)
    assert await count_messages(js, tenant) == EVERY_KIND
    letters_before = await api.get(
        "/api/dead-letters", params={"tenant": lookalike}, headers=operator
    )

    plan = await api.delete(f"/api/tenants/{tenant}", params={"dry_run": 1}, headers=operator)
    assert await count_messages(js, tenant) == EVERY_KIND  # a dry run purges nothing
    deleted = await api.delete(f"/api/tenants/{tenant}", headers=operator)

    assert plan.json()["messages"] == EVERY_KIND and plan.json()["rows"]["tenants"] == 1
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["messages"] == EVERY_KIND
    assert deleted.json()["rows"]["tenants"] == 1
    assert await left_in_nats(js, mine) == {}
    assert await count_messages(js, tenant) == dict.fromkeys(EVERY_KIND, 0)
    assert await left_in_nats(js, theirs) == theirs
    assert await count_messages(js, lookalike) == EVERY_KIND
    letters_after = await api.get(
        "/api/dead-letters", params={"tenant": lookalike}, headers=operator
    )
    assert letters_before.status_code == 200 and len(letters_before.json()) == 2
    assert letters_after.json() == letters_before.json()
    printed = capsys.readouterr()
    logs = printed.out + printed.err + caplog.text
    assert "tenant messages purged" in logs and tenant in logs
    assert VENDOR_DATA not in logs  # counts are logged, never a message body


async def test_deleting_again_purges_messages_left_after_the_rows_went_then_answers_404(
    api: httpx.AsyncClient,
    console: Console,
    js: JetStreamContext,
    operator: Headers,
    tenant: str,
):
    await deletable(api, console, tenant, operator)
    first = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    late = await publish_every_kind(js, tenant)  # e.g. a dead letter of an in-flight message

    again = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    then = await api.delete(f"/api/tenants/{tenant}", headers=operator)

    assert first.status_code == 200, first.text
    assert first.json()["messages"] == dict.fromkeys(EVERY_KIND, 0)
    assert again.status_code == 200, again.text
    assert again.json() == {"deleted": tenant, "rows": {}, "messages": EVERY_KIND}
    assert await left_in_nats(js, late) == {}
    assert then.status_code == 404


# --- deletion forgets the RMM token cached for the tenant's connection ----------------------


async def cache_token(js: JetStreamContext, connection: RmmConnection) -> str:
    """A token (and a refresh lock) cached for `connection`, as the RMM connector caches one."""
    kv = await open_bucket(js)
    key = token_key(connection.url, connection.client_id)
    await kv.put(key, b"sealed token")
    await kv.put(lock_key(key), b'{"holder": "replica-1"}')
    return key


async def cached(js: JetStreamContext, key: str) -> list[str]:
    """Which of the token at `key` and its lock the bucket still holds."""
    kv = await open_bucket(js)
    held = []
    for name in (key, lock_key(key)):
        try:
            entry = await kv.get(name)
        except MISSING:
            continue
        if entry.value:
            held.append(name)
    return held


async def test_deleting_a_tenant_forgets_its_cached_rmm_token_unless_another_tenant_uses_it(
    api: httpx.AsyncClient,
    console: Console,
    js: JetStreamContext,
    operator: Headers,
    tenant: str,
    capsys: pytest.CaptureFixture[str],
):
    own = RmmConnection(base_url=f"http://rmm-{tenant}.test", client_id=f"{tenant}-id")
    shared = RmmConnection(base_url=f"http://rmm-{tenant}.test", client_id=f"{tenant}-shared")
    other_url = RmmConnection(base_url=f"http://eu-{tenant}.test", client_id=f"{tenant}-id")
    sharing, partner, elsewhere = f"{tenant}s", f"{tenant}p", f"{tenant}e"
    await add_tenant(console.pool, tenant, enabled=False, rmm=own)
    await add_tenant(console.pool, sharing, enabled=False, rmm=shared)
    await add_tenant(console.pool, partner, rmm=shared)
    await add_tenant(console.pool, elsewhere, rmm=other_url)  # same client id, other URL
    for exported in (tenant, sharing):
        await export_lines(api, exported, operator)
    own_key, shared_key = await cache_token(js, own), await cache_token(js, shared)
    elsewhere_key = await cache_token(js, other_url)

    plan = await api.delete(f"/api/tenants/{tenant}?dry_run=true", headers=operator)
    after_plan = await cached(js, own_key)
    deleted = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    again = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    kept = await api.delete(f"/api/tenants/{sharing}", headers=operator)

    assert plan.json()["rmm_token"] == "would be forgotten"
    assert after_plan == [own_key, lock_key(own_key)]  # a dry run forgets nothing
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["rmm_token"] == "forgotten"
    assert await cached(js, own_key) == []
    assert await cached(js, elsewhere_key) == [elsewhere_key, lock_key(elsewhere_key)]
    assert again.status_code == 404  # nothing left of it, the token included
    assert kept.status_code == 200, kept.text
    assert kept.json()["rmm_token"] == f"kept: tenant {partner} uses the same RMM connection"
    assert await cached(js, shared_key) == [shared_key, lock_key(shared_key)]
    printed = capsys.readouterr()
    logs = printed.out + printed.err
    assert "tenant RMM token forgotten" in logs and tenant in logs
    assert "sealed token" not in logs


async def test_a_tenant_without_a_cached_token_says_so_and_a_retry_says_nothing_of_it(
    api: httpx.AsyncClient, console: Console, js: JetStreamContext, operator: Headers, tenant: str
):
    connection = RmmConnection(base_url=f"http://rmm-{tenant}.test", client_id=f"{tenant}-id")
    await add_tenant(console.pool, tenant, enabled=False, rmm=connection)
    await export_lines(api, tenant, operator)

    deleted = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    await publish_every_kind(js, tenant)
    again = await api.delete(f"/api/tenants/{tenant}", headers=operator)

    assert deleted.json()["rmm_token"] == "none cached"
    assert again.status_code == 200 and "rmm_token" not in again.json()


@pytest.fixture
async def nats_gone(
    servers: DevServers,
    pool: asyncpg.Pool,
    sandboxes: RoutingTransport,
    secret_key: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """The console API over a NATS connection that has closed (NATS unreachable)."""
    client = await nats.connect(servers.nats_url)
    closed = client.jetstream()
    await client.close()
    app = create_app(make_console(pool, closed, sandboxes, secret_key))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as api:
        yield api


async def test_when_nats_does_not_answer_the_rows_go_and_the_operator_is_told_to_delete_again(
    api: httpx.AsyncClient,
    console: Console,
    js: JetStreamContext,
    nats_gone: httpx.AsyncClient,
    operator: Headers,
    tenant: str,
):
    connection = RmmConnection(base_url=f"http://rmm-{tenant}.test", client_id=f"{tenant}-id")
    await deletable(api, console, tenant, operator, rmm=connection)
    letters = await publish_every_kind(js, tenant)
    token = await cache_token(js, connection)

    plan = await nats_gone.delete(f"/api/tenants/{tenant}?dry_run=true", headers=operator)
    without_nats = await nats_gone.delete(f"/api/tenants/{tenant}", headers=operator)
    rows_gone = await console.tenants.load(tenant, with_secrets=False) is None
    kept = await left_in_nats(js, letters)
    still_without = await nats_gone.delete(f"/api/tenants/{tenant}", headers=operator)
    again = await api.delete(f"/api/tenants/{tenant}", headers=operator)

    assert plan.status_code == 200 and plan.json()["rows"]["tenants"] == 1
    assert "unknown" in plan.json()["messages_error"] and "messages" not in plan.json()
    assert without_nats.status_code == 200, without_nats.text
    answer = without_nats.json()
    assert answer["rows"]["tenants"] == 1 and "messages" not in answer
    assert "not purged" in answer["messages_error"] and "again" in answer["messages_error"]
    assert plan.json()["rmm_token"].startswith("unknown (")
    assert answer["rmm_token"].startswith("not forgotten (")
    assert answer["rmm_token"].endswith("it expires by itself")
    assert await cached(js, token) == [token, lock_key(token)]
    assert rows_gone and kept == letters
    assert still_without.status_code == 503 and "again" in still_without.json()["detail"]
    assert again.status_code == 200 and again.json()["messages"] == EVERY_KIND
    assert await left_in_nats(js, letters) == {}


# --- isolation: every route, as a user of tenant A, with tenant B's ids -----------------------

SELF = {
    ("POST", "/api/auth/token"),
    ("DELETE", "/api/auth/token"),
    ("GET", "/api/me"),
    ("GET", "/api/docs"),
}
"""Routes about the caller alone (tested in test_auth_api), and the API's docs: no tenant's
data."""
OWN_LIST = {("GET", "/api/tenants")}
"""Answer 200 with the caller's own tenant only."""
ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/health"): {},
    ("GET", "/api/settings"): {},
    ("PUT", "/api/settings"): {"json": {"name": "Taken over", "min_alert_severity": "Low"}},
    ("PATCH", "/api/settings"): {"json": {"min_alert_severity": "Low"}},
    ("GET", "/api/settings/lookups"): {},
    ("GET", "/api/settings/check"): {},
    ("GET", "/api/sync-runs"): {},
    ("POST", "/api/sync-runs"): {"json": {"kind": "full"}},
    ("GET", "/api/sync-runs/{run_id}"): {},
    ("POST", "/api/sync-runs/{run_id}/cancel"): {},
    ("POST", "/api/sync-runs/{run_id}/confirm-all"): {},
    ("GET", "/api/mappings"): {},
    ("GET", "/api/mappings/unlinked"): {"params": {"system": "rmm"}},
    ("GET", "/api/mappings/{mapping_id}"): {},
    ("POST", "/api/mappings"): {"json": {"revio_customer_id": "101", "rmm_company_id": "c4"}},
    ("POST", "/api/mappings/{mapping_id}/confirm"): {"json": {"rmm_company_id": "c1"}},
    ("POST", "/api/mappings/{mapping_id}/reject"): {"json": {"rmm_company_id": "c1"}},
    ("POST", "/api/mappings/{mapping_id}/unlink"): {},
    ("GET", "/api/audit"): {},
    ("GET", "/api/audit/types"): {},
    ("GET", "/api/dead-letters"): {},
    ("POST", "/api/dead-letters/{letter_id}/retry"): {},
    ("GET", "/api/tenants"): {},
    ("POST", "/api/tenants"): {"json": {"tenant": "{tenant_id}", "name": "Taken over"}},
    ("GET", "/api/tenants/{tenant_id}"): {},
    ("POST", "/api/tenants/{tenant_id}/disable"): {},
    ("POST", "/api/tenants/{tenant_id}/enable"): {},
    ("GET", "/api/tenants/{tenant_id}/events"): {},
    ("DELETE", "/api/tenants/{tenant_id}"): {},
}


def api_routes(console: Console) -> set[tuple[str, str]]:
    """(method, path) of every route under /api, as the app routes them (included routers
    are walked down to their routes)."""
    found = set()
    for route in create_app(console).routes:
        nested = getattr(route, "effective_route_contexts", None)
        pairs = (
            [(c.path, c.original_route) for c in nested()]
            if nested
            else [(getattr(route, "path", ""), route)]
        )
        for path, original in pairs:
            if path.startswith("/api"):
                methods = getattr(original, "methods", None) or {"?"}
                found |= {(method, path) for method in methods if method != "HEAD"}
    return found


async def tenant_b(console: Console, js: JetStreamContext, b: str) -> dict[str, str]:
    """Tenant B with a mapping, a sync run, a dead letter and an export; B's ids."""
    await console.tenants.save(
        Tenant(
            id=b,
            name="MSP B",
            rmm=RmmConnection(base_url=RMM_URL, client_id="b", client_secret=SecretStr("b-s")),
            revio=RevioConnection(
                base_url=REVIO_URL, username="b", client_code="B", password=SecretStr("b-p")
            ),
        ),
        actor="test",
    )
    run_id: UUID = await start_run(console.pool, b, "bob")
    for customer, company, state in (("101", "c1", "suggested"), ("102", "c2", "linked")):
        await console.pool.execute(
            "INSERT INTO company_links (tenant_id, revio_customer_id, revio_name, state,"
            " rmm_company_id, candidates, sync_run_id, last_event, version, folded, updated_at)"
            " VALUES ($1, $2, 'Customer', $3, $4, $5, $6, 'x', 1, '{}', now())",
            b,
            customer,
            state,
            company,
            [{"id": company, "name": "Company", "score": 90.0}],
            run_id,
        )
    await console.pool.execute(
        "INSERT INTO rmm_companies (tenant_id, rmm_company_id, name, state, last_event, version,"
        " folded, updated_at) VALUES ($1, 'c4', 'Free Co', 'unlinked', 'x', 1, '{}', now())",
        b,
    )
    command = CreateRevioTicket(
        tenant_id=b, source_key="k", customer_id="101", title="Disk full", description="d"
    )
    ack = await js.publish(
        f"dlq.{b}.cmd.revio.ticket.create",
        command.to_bytes(),
        headers={
            REASON_HEADER: "RuntimeError: no",
            "Revsync-Original-Subject": command.subject,
            "Nats-Msg-Id": f"dlq-iso-{command.message_id}",
        },
    )
    return {
        "tenant_id": b,
        "run_id": str(run_id),
        "mapping_id": "101",
        "letter_id": str(ack.seq),
    }


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_a_user_of_one_tenant_reaches_nothing_of_another_through_any_route(
    api: httpx.AsyncClient, console: Console, js: JetStreamContext, tenant: str, role: str
):
    routes = api_routes(console)
    unknown = routes - set(ROUTES) - SELF
    assert not unknown, f"routes this test does not cover yet (add them to ROUTES): {unknown}"
    assert not set(ROUTES) - routes, "ROUTES names routes that are gone"
    a, b = tenant, f"{tenant}b"
    await console.tenants.save(Tenant(id=a, name="MSP A"), actor="test")
    ids = await tenant_b(console, js, b)
    user_of_a = await headers_of(console, f"{role}-{a}", role, a)
    before = await rows_of(console.pool, b)
    operator = await headers_of(console, f"op-{a}", "operator", None)
    dlq_before = (await api.get("/api/dead-letters", params={"tenant": b}, headers=operator)).json()

    called = 0
    for (method, path), call in sorted(ROUTES.items()):
        params_in_path = {p.strip("{}") for p in path.split("/") if p.startswith("{")}
        missing = params_in_path - set(ids)
        assert not missing, f"{method} {path}: no id of tenant B for {missing}"
        concrete = path.format(**ids)
        body = call.get("json")
        if isinstance(body, dict):
            body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
        tries = [{**call.get("params", {}), "tenant": b}]
        if params_in_path:
            tries.append(dict(call.get("params", {})))  # B's ids alone, in A's scope
        for params in tries:
            answer = await api.request(
                method, concrete, params=params, json=body, headers=user_of_a
            )
            called += 1
            if (method, path) in OWN_LIST and "tenant" not in params:
                continue
            if (method, path) in OWN_LIST:
                assert answer.status_code == 200 and b not in answer.text, (method, path)
                continue
            assert answer.status_code in (403, 404), (
                method,
                path,
                params,
                answer.status_code,
                answer.text,
            )
            assert "MSP B" not in answer.text and "Customer" not in answer.text

    assert called >= len(ROUTES)
    assert await rows_of(console.pool, b) == before
    dlq_after = (await api.get("/api/dead-letters", params={"tenant": b}, headers=operator)).json()
    assert dlq_after == dlq_before and len(dlq_after) == 1


async def test_an_operator_sees_and_manages_every_tenant(
    api: httpx.AsyncClient, console: Console, js: JetStreamContext, operator: Headers, tenant: str
):
    b = f"{tenant}b"
    ids = await tenant_b(console, js, b)
    scope = {"tenant": b}

    settings = await api.get("/api/settings", params=scope, headers=operator)
    mappings = await api.get("/api/mappings", params=scope, headers=operator)
    run = await api.get(f"/api/sync-runs/{ids['run_id']}", params=scope, headers=operator)
    tenants = await api.get("/api/tenants", headers=operator)
    lines = await export_lines(api, b, operator)

    assert settings.json()["name"] == "MSP B"
    assert {m["id"] for m in mappings.json()} == {"101", "102"}
    assert run.status_code == 200
    assert b in {t["tenant"] for t in tenants.json()}
    assert {line["tenant"] for line in lines} == {b} and "b-s" not in str(lines)


async def test_two_tenants_created_by_api_keep_their_own_accounts(
    api: httpx.AsyncClient, console: Console, operator: Headers, sandboxes: Any, tenant: str
):
    first = await create_accounts(sandboxes, tenant)
    second = await create_accounts(sandboxes, f"{tenant}s")
    for accounts in (first, second):
        made = await api.post("/api/tenants", json=new_tenant(accounts), headers=operator)
        assert made.status_code == 201, made.text
    loaded = await console.tenants.load(second.tenant)
    assert loaded is not None and loaded.rmm.client_id == second.client_id
    assert loaded.revio.password is not None
    assert loaded.revio.password.get_secret_value() == second.revio_password
