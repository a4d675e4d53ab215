"""`GET /api/health` per tenant: each consumer says how much of its lag is the caller's
tenant's, and a platform operator can list every tenant's lag (real NATS JetStream)."""

import secrets

import httpx
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from revsync.command_window import CommandWindow
from revsync.unit_of_work import UnitOfWork

from services.console.deps import Console
from tests.integration.console.support import bearer
from tests.integration.test_messaging import PingTicket


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


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
