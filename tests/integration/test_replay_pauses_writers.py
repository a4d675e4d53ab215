"""`revsync replay` rebuilds the read models while no decision commits: it waits for the units
of work in flight and holds new ones until it is done (they then go on, nothing is lost),
saying while it waits what it waits for (a connector's unit holds its vendor calls); and
with the writers paused it reads the whole log, even what a transaction open elsewhere on the
server would hold back from a gap-safe reader."""

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
from revsync.db import create_pool
from revsync.devservers import DevServers
from revsync.projection import replay
from revsync.unit_of_work import UnitOfWork, pause_writers, resume_writers

from tests.conftest import fresh_database
from tests.integration.test_projection_history import Tallies, decide_all, rows
from tests.integration.test_projection_history import tables as tables  # a fixture


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


REVSYNC = Path(sys.executable).parent / "revsync"


async def test_replay_says_which_units_of_work_it_waits_for(servers: DevServers) -> None:
    async with fresh_database(servers, "revsync_replay_wait") as url:
        pool = await create_pool(url, max_size=2)
        in_flight = UnitOfWork(pool, "waited-for", consumer="test")
        await in_flight.__aenter__()
        ended = False
        replaying = await asyncio.create_subprocess_exec(
            REVSYNC, "replay", "--database-url", url,
            stdout=asyncio.subprocess.PIPE, env={**os.environ, "COLUMNS": "400"},
        )  # fmt: skip
        try:
            assert replaying.stdout is not None
            said = (await asyncio.wait_for(replaying.stdout.readline(), 60)).decode()
            assert "waiting for 1 unit(s) of work in flight to end" in said, said
            assert "busy outside the database" in said and "new decisions wait" in said
            await in_flight.__aexit__(None, None, None)
            ended = True
            rest = (await asyncio.wait_for(replaying.stdout.read(), 60)).decode()
            assert await replaying.wait() == 0, rest
            assert "rebuilt" in rest and "s of it waiting for the writers to pause" in rest
        finally:
            if not ended:
                await in_flight.__aexit__(None, None, None)
            if replaying.returncode is None:
                replaying.kill()
                await replaying.wait()
            await pool.close()
