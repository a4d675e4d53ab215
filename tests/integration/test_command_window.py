"""Command windows on a real PostgreSQL: a tenant's commands of one kind wait their turn,
answers free places, and nothing held is lost or sent twice."""

from typing import ClassVar

import asyncpg
from revsync.command_window import CommandWindow, release_held
from revsync.contracts.base import Command, Result, ResultStatus
from revsync.unit_of_work import UnitOfWork

from services.console.health import command_windows
from tests.integration.test_messaging import PingTicket


def issuer(tenant: str) -> str:
    """A test's own issuer: the release sweep goes over every tenant of its issuer."""
    return f"windowed-{tenant}"


class PokeEndpoint(Command):
    system: ClassVar[str] = "rmm"
    entity: ClassVar[str] = "endpoint"
    verb: ClassVar[str] = "poke"
    note: str


async def send(
    pool: asyncpg.Pool,
    tenant: str,
    commands: list[Command],
    window: CommandWindow,
    by: str | None = None,
) -> None:
    async with UnitOfWork(pool, tenant, by or issuer(tenant), window=window) as uow:
        for command in commands:
            uow.send(command)


async def answer(pool: asyncpg.Pool, result: Result, window: CommandWindow) -> None:
    by = issuer(result.tenant_id)
    async with UnitOfWork(pool, result.tenant_id, by, cause=result, window=window):
        pass


async def outboxed(pool: asyncpg.Pool, tenant: str) -> list[str]:
    """The notes of the tenant's commands in the outbox, in the relay's order."""
    rows = await pool.fetch("SELECT payload FROM outbox WHERE tenant_id = $1 ORDER BY seq", tenant)
    return [PingTicket.model_validate_json(row["payload"]).note for row in rows]


async def held(pool: asyncpg.Pool, tenant: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM command_window WHERE tenant_id = $1 AND sent_at IS NULL", tenant
        )
    )


def pings(tenant: str, n: int, prefix: str = "") -> list[Command]:
    return [PingTicket(tenant_id=tenant, note=f"{prefix}{i}") for i in range(n)]


async def test_commands_beyond_the_window_wait_and_each_answer_sends_the_next_in_order(
    pool: asyncpg.Pool, tenant: str
):
    window = CommandWindow(size=3)
    commands = pings(tenant, 5)
    await send(pool, tenant, commands, window)
    assert await outboxed(pool, tenant) == ["0", "1", "2"]
    assert await held(pool, tenant) == 2

    first = Result.of(commands[0].model_copy(update={"issuer": issuer(tenant)}), ResultStatus.OK)
    await answer(pool, first, window)
    assert await outboxed(pool, tenant) == ["0", "1", "2", "3"]
    await answer(pool, first, window)  # a redelivered result frees nothing twice
    assert await outboxed(pool, tenant) == ["0", "1", "2", "3"]
    assert await held(pool, tenant) == 1

    failed = Result.of(commands[1], ResultStatus.REJECTED, reason="no")  # a failure answers too
    await answer(pool, failed, window)
    assert await outboxed(pool, tenant) == ["0", "1", "2", "3", "4"]
    assert await held(pool, tenant) == 0


async def test_each_tenant_and_kind_has_its_own_window(pool: asyncpg.Pool, tenant: str):
    window = CommandWindow(size=2)
    other = f"{tenant}x"
    pokes: list[Command] = [PokeEndpoint(tenant_id=tenant, note=f"p{i}") for i in range(3)]
    await send(pool, tenant, pings(tenant, 3), window)
    await send(pool, tenant, pokes, window)
    await send(pool, other, pings(other, 3), window, by=issuer(tenant))
    assert await outboxed(pool, tenant) == ["0", "1", "p0", "p1"]
    assert await outboxed(pool, other) == ["0", "1"]
    keys = await pool.fetch(
        "SELECT DISTINCT window_key FROM command_window WHERE tenant_id = $1 ORDER BY 1", tenant
    )
    by = issuer(tenant)
    assert [row["window_key"] for row in keys] == [f"{by}:revio.ticket", f"{by}:rmm.endpoint"]


async def test_the_release_sweep_frees_places_of_commands_never_answered(
    pool: asyncpg.Pool, tenant: str
):
    window = CommandWindow(size=2, answer_within_s=3600)
    await send(pool, tenant, pings(tenant, 4), window)
    assert (
        await release_held(pool, issuer(tenant), window) == 0
    )  # the window is full: nothing moves
    await pool.execute(
        "UPDATE command_window SET sent_at = now() - interval '2 hours'"
        " WHERE tenant_id = $1 AND sent_at IS NOT NULL",
        tenant,
    )
    assert await release_held(pool, issuer(tenant), window) == 2
    assert await outboxed(pool, tenant) == ["0", "1", "2", "3"]
    assert await held(pool, tenant) == 0


async def test_the_release_sweep_sends_what_a_concurrent_unit_left_held(
    pool: asyncpg.Pool, tenant: str
):
    # a unit that decided while another held the window's rows locked releases nothing;
    # here: commands held by a smaller window, swept with room for them
    await send(pool, tenant, pings(tenant, 4), CommandWindow(size=1))
    assert await outboxed(pool, tenant) == ["0"]
    by = issuer(tenant)
    assert await release_held(pool, f"{by}-other", CommandWindow(size=3)) == 0  # not its own
    assert await release_held(pool, by, CommandWindow(size=3)) == 2
    assert await outboxed(pool, tenant) == ["0", "1", "2"]


async def test_a_unit_with_a_window_that_fails_holds_and_sends_nothing(
    pool: asyncpg.Pool, tenant: str
):
    window = CommandWindow(size=2)
    try:
        async with UnitOfWork(pool, tenant, issuer(tenant), window=window) as uow:
            for command in pings(tenant, 3):
                uow.send(command)
            raise RuntimeError("decision failed")
    except RuntimeError:
        pass
    assert await outboxed(pool, tenant) == []
    assert await held(pool, tenant) == 0


async def test_health_shows_a_tenants_held_and_in_flight_commands_per_window(
    pool: asyncpg.Pool, tenant: str
):
    await send(pool, tenant, pings(tenant, 5), CommandWindow(size=2))
    (shown,) = await command_windows(pool, tenant)
    assert shown == {
        "window": f"{issuer(tenant)}:revio.ticket",
        "held": 3,
        "in_flight": 2,
        "oldest_held_seconds": shown["oldest_held_seconds"],
    }
    assert shown["oldest_held_seconds"] >= 0
    assert await command_windows(pool, f"{tenant}-none") == []
    # without a tenant (the anonymous health): summed per window, naming no tenant
    everyone = {w["window"]: w for w in await command_windows(pool, None)}
    assert everyone[f"{issuer(tenant)}:revio.ticket"]["held"] == 3
    assert all(set(w) == set(shown) for w in everyone.values())


async def test_a_sender_behind_waiting_commands_does_not_count_and_the_sweep_fills_the_rest(
    pool: asyncpg.Pool, tenant: str
):
    """Commands waiting mean a full window: a unit holding more behind them sends nothing and
    counts nothing (counting a full window's commands in flight was most of the cost of a
    unit in an initial sync). A place freed without an answer (given up on, deleted) is the
    sweep's to fill."""
    window = CommandWindow(size=3)
    await send(pool, tenant, pings(tenant, 5), window)
    assert await outboxed(pool, tenant) == ["0", "1", "2"]
    await pool.execute(  # a place freed without an answer
        "DELETE FROM command_window WHERE seq = (SELECT min(seq) FROM command_window"
        " WHERE tenant_id = $1 AND sent_at IS NOT NULL)",
        tenant,
    )
    await send(pool, tenant, pings(tenant, 1, prefix="late-"), window)
    assert await outboxed(pool, tenant) == ["0", "1", "2"]
    assert await held(pool, tenant) == 3
    assert await release_held(pool, issuer(tenant), window) == 1
    assert await outboxed(pool, tenant) == ["0", "1", "2", "3"]  # the oldest first
