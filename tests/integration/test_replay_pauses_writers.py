"""`revsync replay` rebuilds the read models while no decision commits: it waits for the units
of work in flight and holds new ones until it is done (they then go on, nothing is lost); and
with the writers paused it reads the whole log, even what a transaction open elsewhere on the
server would hold back from a gap-safe reader."""

import asyncio

import asyncpg
from revsync.projection import replay
from revsync.unit_of_work import UnitOfWork, pause_writers, resume_writers

from tests.integration.test_projection_history import (  # noqa: F401  (`tables`: a fixture)
    Tallies,
    decide_all,
    rows,
    tables,
)


async def test_replay_waits_for_writers_in_flight_and_holds_new_ones(
    pool: asyncpg.Pool, tenant: str
):
    in_flight = UnitOfWork(pool, tenant, consumer="test")
    await in_flight.__aenter__()
    replayer = await pool.acquire()
    try:
        pausing = asyncio.create_task(pause_writers(replayer))
        await asyncio.sleep(0.3)
        assert not pausing.done(), "replay must wait for the unit of work in flight"
        await in_flight.__aexit__(None, None, None)
        await asyncio.wait_for(pausing, 10)

        entered = asyncio.Event()

        async def new_writer() -> None:
            async with UnitOfWork(pool, tenant, consumer="test"):
                entered.set()

        writer = asyncio.create_task(new_writer())
        await asyncio.sleep(0.3)
        assert not entered.is_set(), "a new unit of work must wait while replay runs"
        await resume_writers(replayer)
        await asyncio.wait_for(writer, 10)
        assert entered.is_set()
    finally:
        await pool.release(replayer)


async def test_a_replay_with_the_writers_paused_reads_events_an_open_transaction_holds_back(
    pool: asyncpg.Pool, tables: None, tenant: str
):
    await decide_all(pool, tenant, "early", with_history=True)
    # a transaction left open elsewhere (a psql session, another database's long job): every
    # event committed after it began is past the server's oldest transaction in flight
    elsewhere = await pool.acquire()
    opened = elsewhere.transaction()
    await opened.start()
    await elsewhere.fetchval("SELECT pg_current_xact_id()")
    try:
        await decide_all(pool, tenant, "late", with_history=True)
        expected = await rows(pool, tenant)
        assert {r["key"] for r in expected if "types" in r} == {"early", "late"}

        await replay(pool, [Tallies()])  # gap-safe: it cannot see "late" yet
        assert {r["key"] for r in await rows(pool, tenant) if "types" in r} == {"early"}

        replayer = await pool.acquire()
        try:
            await pause_writers(replayer)
            try:
                await replay(pool, [Tallies()], writers_paused=True)
            finally:
                await resume_writers(replayer)
        finally:
            await pool.release(replayer)
        assert await rows(pool, tenant) == expected
    finally:
        await opened.rollback()
        await pool.release(elsewhere)
