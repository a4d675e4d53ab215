"""`GET /api/health` per tenant: each consumer says how much of its lag is the caller's
tenant's, and a platform operator can list every tenant's lag (real NATS JetStream).
Credentials that do not verify are refused, never taken for anonymous; the Health page
counts every vendor's calls per day, the RMM's (limited per window) too. The status says
`degraded`, with the problems in plain words, when messages were dead-lettered, wait after a
failed publish or a poll has stopped; anonymous callers get coarse figures only."""

import secrets
import uuid
from datetime import timedelta

import httpx
import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from revsync.command_window import CommandWindow
from revsync.messaging.subscriber import REASON_HEADER
from revsync.unit_of_work import UnitOfWork
from revsync.vendor.limiter import RateLimit, SharedRateLimiter

from services.console.deps import SESSION_COOKIE, Console
from services.console.health import POLL_MARKS
from tests.integration.console.support import bearer
from tests.integration.console.tenant_rows import add_tenant, known  # noqa: F401  (a fixture)
from tests.integration.test_messaging import PingTicket


@pytest.mark.usefixtures("known")
async def test_health_shows_each_tenants_part_of_a_consumers_lag(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    console: Console,
    js: JetStreamContext,
    tenant: str,
):
    other = f"{tenant}x"
    verb = f"lag{secrets.token_hex(4)}"
    durable = f"ticket-lag{secrets.token_hex(3)}"
    await js.add_consumer(
        "COMMANDS",
        ConsumerConfig(durable_name=durable, filter_subject=f"cmd.*.revio.ticket.{verb}"),
    )
    try:
        for i in range(3):
            await js.publish(f"cmd.{tenant}.revio.ticket.{verb}", f"mine {i}".encode())
        for i in range(5):
            await js.publish(f"cmd.{other}.revio.ticket.{verb}", f"theirs {i}".encode())
        # and a command held in the tenant's command window: shown, but never named anonymously
        async with UnitOfWork(console.pool, tenant, "health", window=CommandWindow(1)) as uow:
            for note in ("sent", "held"):
                uow.send(PingTicket(tenant_id=tenant, note=note))
        reader = await js.pull_subscribe_bind(durable=durable, stream="COMMANDS")
        taken = await reader.fetch(2, timeout=5)  # delivered, not acknowledged: in flight
        assert [m.data for m in taken] == [b"mine 0", b"mine 1"]

        mine = (await api.get("/api/health", headers=admin)).json()
        anonymous = await api.get("/api/health")
        op = await bearer(console, f"op-{tenant}", "operator", None)
        operator = await api.get("/api/health?by_tenant=true", headers=bearer_header(op))
        not_an_operator = await api.get("/api/health?by_tenant=true", headers=admin)

        row = next(c for c in mine["consumers"] if c["consumer"] == durable)
        assert (row["pending"], row["in_flight"]) == (6, 2)  # everyone's
        assert row["tenant_pending"] == 1  # mine, not yet delivered
        assert row["tenant_unacked_at_most"] == 3  # and the two in flight

        assert [w for w in mine["command_windows"] if w["window"] == "health:revio.ticket"] == [
            {"window": "health:revio.ticket", "held": 1, "in_flight": 1,
             "oldest_held_seconds": mine["command_windows"][0]["oldest_held_seconds"]}
        ]  # fmt: skip
        anonymous_row = next(c for c in anonymous.json()["consumers"] if c["consumer"] == durable)
        assert "tenant_pending" not in anonymous_row
        assert "tenant_lag" not in anonymous.json() and tenant not in anonymous.text

        lag = {t["tenant"]: t for t in operator.json()["tenant_lag"]}
        assert [c for c in lag[tenant]["consumers"] if c["consumer"] == durable] == [
            {"consumer": durable, "pending": 1, "unacked_at_most": 3}
        ]
        assert [c for c in lag[other]["consumers"] if c["consumer"] == durable] == [
            {"consumer": durable, "pending": 5, "unacked_at_most": 5}
        ]
        assert not_an_operator.status_code == 403
        assert (await api.get("/api/health?by_tenant=true")).status_code == 403
    finally:
        await js.delete_consumer("COMMANDS", durable)


@pytest.mark.usefixtures("known")
async def test_messages_waiting_after_a_failed_publish_degrade_health_error_shown_to_tenant(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    error = f"publish of cmd.{tenant}.revio.ticket.create failed: timeout"
    await console.pool.execute(
        "INSERT INTO outbox (id, tenant_id, subject, payload, attempts, last_error, retry_at)"
        " VALUES (gen_random_uuid(), $1, 'cmd.x', '', 1, $2, now() + interval '1 hour')",
        tenant,
        error,
    )
    try:
        mine = (await api.get("/api/health", headers=admin)).json()
        anonymous = (await api.get("/api/health")).json()
    finally:
        await console.pool.execute("DELETE FROM outbox WHERE tenant_id = $1", tenant)

    assert mine["outbox"]["last_error"] == error
    assert mine["status"] == anonymous["status"] == "degraded"
    assert any("after a failed publish" in p for p in mine["problems"]), mine["problems"]
    assert anonymous["outbox"]["last_error"] is None
    assert anonymous["outbox"]["waiting_after_failure"] >= 1
    assert tenant not in orjson.dumps(anonymous).decode()


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "credentials",
    [
        {"headers": {"Authorization": "Bearer bogus"}},
        {"headers": {"Authorization": "Basic YWRtaW46cHc="}},
        {"cookies": {SESSION_COOKIE: "expired-or-made-up"}},
    ],
    ids=["bearer", "basic", "session"],
)
async def test_health_refuses_credentials_that_do_not_verify(
    api: httpx.AsyncClient, credentials: dict[str, dict[str, str]]
):
    for name, value in credentials.get("cookies", {}).items():
        api.cookies.set(name, value)

    answer = await api.get("/api/health", headers=credentials.get("headers"))

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "consumers" not in answer.text


async def test_health_with_no_credentials_but_another_cookie_is_anonymous(api: httpx.AsyncClient):
    api.cookies.set("theme", "dark")

    answer = await api.get("/api/health")

    assert answer.status_code == 200
    assert answer.json()["tenant"] is None


@pytest.mark.usefixtures("known")
async def test_the_health_page_counts_every_vendors_calls_today_the_rmms_too(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    for vendor, bucket in (("cwrmm", "partner-topology-clients"), ("revio", "default")):
        await console.pool.execute(
            "INSERT INTO rate_limiter (tenant_id, vendor, bucket, tat)"
            " VALUES ($1, $2, $3, now() - interval '1 day')",
            tenant,
            vendor,
            bucket,
        )  # a slot taken yesterday, no call counted today
    rmm = SharedRateLimiter(console.pool, tenant, "cwrmm")
    for _ in range(3):  # the RMM's limits are per 5-minute window, with no daily quota
        await rmm.acquire(RateLimit("partner-companies", calls=1000, per_seconds=300.0))
    await console.users.create(f"page-{tenant}", "pw", "viewer", tenant)
    session = await console.users.issue(f"page-{tenant}", "session", timedelta(hours=1))
    api.cookies.set(SESSION_COOKIE, session.token)

    quota = {
        (q["vendor"], q["bucket"]): (q["used_today"], q["daily_limit"])
        for q in (await api.get("/api/health")).json()["quota"]
    }
    page = (await api.get("/health")).text

    assert quota == {
        ("cwrmm", "partner-companies"): (3, None),
        ("cwrmm", "partner-topology-clients"): (0, None),
        ("revio", "default"): (0, 150000),
    }
    assert "<td>cwrmm</td><td>partner-companies</td><td>3</td><td>per window</td>" in page
    assert "<td>revio</td><td>default</td><td>0</td><td>150000</td>" in page


async def dead_letter(js: JetStreamContext, tenant: str) -> None:
    await js.publish(
        f"dlq.{tenant}.cmd.revio.ticket.create",
        b'{"message_id": "00000000-0000-0000-0000-000000000009"}',
        headers={
            REASON_HEADER: "RuntimeError: Rev.io answered 503",
            "Revsync-Consumer": "revio-connector-tickets",
            "Revsync-Deliveries": "8",
            "Revsync-Original-Subject": f"cmd.{tenant}.revio.ticket.create",
        },
    )


@pytest.mark.usefixtures("known")
async def test_a_tenant_with_a_dead_letter_reads_degraded_and_another_tenant_ok(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    console: Console,
    js: JetStreamContext,
    tenant: str,
):
    other = await add_tenant(console.pool, f"{tenant}o")
    other_admin = bearer_header(await bearer(console, f"a-{other}", "admin", other))
    await dead_letter(js, tenant)

    mine = (await api.get("/api/health", headers=admin)).json()
    theirs = (await api.get("/api/health", headers=other_admin)).json()
    anonymous = (await api.get("/api/health")).json()
    api.cookies.set(SESSION_COOKIE, await session(console, tenant))
    page = await api.get("/health")

    assert (mine["status"], mine["dead_letters"]) == ("degraded", 1)
    assert [p for p in mine["problems"] if "dead letter" in p] == [
        "1 dead letter: a message that failed for good waits for a retry or a decision"
        " (Dead letters on the Health page, `revsync dead-letters list`)"
    ]
    assert (theirs["status"], theirs["problems"], theirs["dead_letters"]) == ("ok", [], 0)
    assert anonymous["status"] == "degraded"  # someone's message failed for good
    assert any("dead letter" in p for p in anonymous["problems"])
    assert tenant not in orjson.dumps(anonymous).decode()
    top = page.text.split("<h2>")[0]  # before the first table
    assert "<div class='problems' id='problems'>" in top and "1 dead letter" in top


async def session(console: Console, tenant: str) -> str:
    await console.users.create(f"page-{tenant}", "pw", "viewer", tenant)
    return (await console.users.issue(f"page-{tenant}", "session", timedelta(hours=1))).token


async def test_a_poll_not_updated_for_much_longer_than_its_interval_reads_degraded(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await add_tenant(console.pool, tenant)
    await console.pool.execute(  # the tenant was last enabled or configured long ago
        "UPDATE tenants SET updated_at = now() - interval '1 day' WHERE tenant_id = $1", tenant
    )
    marks = {
        ("rmm", "polled:companies"): timedelta(hours=2),  # every 5 min: stopped
        ("rmm", "polled:tickets"): timedelta(days=1),  # tickets not synced: no poll
        ("revio", "customers.reconciled"): timedelta(minutes=10),  # every 30 min
    }
    await console.pool.executemany(
        "INSERT INTO watermarks (tenant_id, system, resource, value, updated_at)"
        " VALUES ($1, $2, $3, 'x', now() - $4::interval)",
        [
            (tenant, system, resource, marks.get((system, resource), timedelta(0)))
            for system, resource in POLL_MARKS  # the others just done
        ],
    )
    user = bearer_header(await bearer(console, f"v-{tenant}", "viewer", tenant))

    mine = (await api.get("/api/health", headers=user)).json()
    anonymous = (await api.get("/api/health")).json()

    assert mine["status"] == "degraded"
    assert mine["problems"] == [
        "RMM companies and sites not polled successfully for 2 h (expected every 5 min):"
        " check the RMM connection and the cwrmm-connector's log"
    ]
    assert anonymous["status"] == "degraded"
    assert any(p.startswith("RMM companies and sites: ") for p in anonymous["problems"])
    assert tenant not in orjson.dumps(anonymous).decode()


async def test_a_poll_never_done_since_the_tenant_was_enabled_long_ago_reads_degraded(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    """A tenant no connector serves (a connector down since it was created, say) is as
    stale as one a connector stopped serving; a tenant enabled just now is not, yet."""
    await add_tenant(console.pool, tenant)
    await console.pool.execute(
        "UPDATE tenants SET updated_at = now() - interval '1 day' WHERE tenant_id = $1", tenant
    )
    await console.pool.execute(  # every poll but the RMM companies' done just now
        "INSERT INTO watermarks (tenant_id, system, resource, value)"
        " SELECT $1, s, r, 'x' FROM unnest($2::text[], $3::text[]) AS m(s, r)",
        tenant,
        [s for s, r in POLL_MARKS if r != "polled:companies"],
        [r for s, r in POLL_MARKS if r != "polled:companies"],
    )
    new = await add_tenant(console.pool, f"{tenant}n")
    user = bearer_header(await bearer(console, f"v-{tenant}", "viewer", tenant))
    new_user = bearer_header(await bearer(console, f"v-{new}", "viewer", new))

    mine = (await api.get("/api/health", headers=user)).json()
    theirs = (await api.get("/api/health", headers=new_user)).json()

    assert mine["status"] == "degraded"
    assert mine["problems"] == [
        "RMM companies and sites never polled successfully in the 24 h since the tenant was"
        " enabled or its settings changed (expected every 5 min): check the RMM connection"
        " and the cwrmm-connector's log"
    ]
    assert (theirs["status"], theirs["problems"]) == ("ok", [])


async def test_a_disabled_tenants_old_polls_are_no_problem(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await add_tenant(console.pool, tenant, enabled=False)
    await console.pool.execute(
        "UPDATE tenants SET updated_at = now() - interval '1 day' WHERE tenant_id = $1", tenant
    )
    await console.pool.execute(
        "INSERT INTO watermarks (tenant_id, system, resource, value, updated_at)"
        " VALUES ($1, 'rmm', 'polled:companies', 'x', now() - interval '2 hours')",
        tenant,
    )
    user = bearer_header(await bearer(console, f"v-{tenant}", "viewer", tenant))

    mine = (await api.get("/api/health", headers=user)).json()

    assert (mine["status"], mine["problems"]) == ("ok", [])


async def test_sync_run_listings_are_not_polls_and_anonymous_health_is_coarse(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await add_tenant(console.pool, tenant)
    run = uuid.uuid4()
    await console.pool.executemany(
        "INSERT INTO watermarks (tenant_id, system, resource, value) VALUES ($1, 'rmm', $2, $3)",
        [(tenant, f"listing:{run}", "done"), (tenant, "polled:companies", "1")],
    )
    user = bearer_header(await bearer(console, f"v-{tenant}", "viewer", tenant))

    mine = (await api.get("/api/health", headers=user)).json()
    anonymous = await api.get("/api/health")

    assert [p["resource"] for p in mine["polls"]] == ["polled:companies"]
    assert "console_calls" in mine
    assert str(run) not in anonymous.text and "listing:" not in anonymous.text
    assert not any(p["resource"].startswith("listing:") for p in anonymous.json()["polls"])
    assert "console_calls" not in anonymous.json()
    assert all(v in ("ok", "failed", "not connected") for v in anonymous.json()["checks"].values())


@pytest.mark.usefixtures("known")
async def test_a_consumer_redelivering_the_tenants_message_is_a_warning_not_degraded(
    api: httpx.AsyncClient, admin: dict[str, str], js: JetStreamContext, tenant: str
):
    verb = f"retry{secrets.token_hex(4)}"
    durable = f"ticket-retry{secrets.token_hex(3)}"
    await js.add_consumer(
        "COMMANDS",
        ConsumerConfig(
            durable_name=durable,
            filter_subject=f"cmd.*.revio.ticket.{verb}",
            ack_policy=AckPolicy.EXPLICIT,
        ),
    )
    try:
        await js.publish(f"cmd.{tenant}.revio.ticket.{verb}", b"fails")
        reader = await js.pull_subscribe_bind(durable=durable, stream="COMMANDS")
        [first] = await reader.fetch(1, timeout=5)
        await first.nak()  # failed: delivered again at once
        [again] = await reader.fetch(1, timeout=5)
        assert again.metadata.num_delivered == 2

        mine = (await api.get("/api/health", headers=admin)).json()
    finally:
        await js.delete_consumer("COMMANDS", durable)

    assert (mine["status"], mine["problems"]) == ("ok", [])
    assert [w for w in mine["warnings"] if durable in w] == [
        f"{durable} is retrying 1 message it could not handle (all tenants' figure; dead-lettered"
        " once its deliveries run out)"
    ]
