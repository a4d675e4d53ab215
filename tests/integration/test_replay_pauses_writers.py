"""`revsync replay` rebuilds the read models while no decision commits: it waits for the units
of work in flight and holds new ones until it is done (they then go on, nothing is lost)."""

import asyncio

import asyncpg
from revsync.unit_of_work import UnitOfWork, pause_writers, resume_writers


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
