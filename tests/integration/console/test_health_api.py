"""`GET /api/health` per tenant: each consumer says how much of its lag is the caller's
tenant's, and a platform operator can list every tenant's lag (real NATS JetStream).
Credentials that do not verify are refused, never taken for anonymous; the Health page
counts every vendor's calls per day, the RMM's (limited per window) too."""

import secrets
from datetime import timedelta

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from revsync.command_window import CommandWindow
from revsync.unit_of_work import UnitOfWork
from revsync.vendor.limiter import RateLimit, SharedRateLimiter

from services.console.deps import SESSION_COOKIE, Console
from tests.integration.console.support import bearer
from tests.integration.console.tenant_rows import known  # noqa: F401  (a fixture)
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
async def test_the_outbox_error_is_shown_to_the_tenant_not_to_anonymous_callers(
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
        mine = (await api.get("/api/health", headers=admin)).json()["outbox"]
        anonymous = (await api.get("/api/health")).json()["outbox"]
    finally:
        await console.pool.execute("DELETE FROM outbox WHERE tenant_id = $1", tenant)

    assert mine["last_error"] == error
    assert anonymous["last_error"] is None and anonymous["waiting_after_failure"] >= 1


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
