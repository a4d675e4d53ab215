"""`revsync replay` folds the log in big batches (`Projection.apply_batch`): the read models
it builds are exactly those of folding one event at a time. (Folded one at a time in commit
order, a stream's older version can come after a newer one: a transaction that took its id
early and waited on the stream's lock. The fold refolds such a stream; skipping the older
event as "already folded" would lose it.)"""

from typing import Any

import asyncpg
from revsync.db import create_pool
from revsync.devservers import DevServers
from revsync.eventlog import START
from revsync.eventlog.store import read_all_with
from revsync.projection import Projection, apply_all, read_batches, replay

from bench.replay import write_log
from services.console.projections import all_projections
from tests.conftest import fresh_database


async def _rows(pool: asyncpg.Pool, projections: list[Projection]) -> dict[str, list[Any]]:
    async with pool.acquire() as conn:
        return {
            table: [dict(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for projection in projections
            for table in projection.tables
        }


async def _replay_one_at_a_time(pool: asyncpg.Pool, projections: list[Projection]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for projection in projections:
            for table in projection.tables:
                await conn.execute(f"DELETE FROM {table}")
        position = START
        while batch := await read_all_with(conn, position, 1000):
            for event in batch:
                await apply_all(conn, projections, [event])
            position = batch[-1].position


async def test_replay_in_batches_builds_the_rows_of_folding_one_event_at_a_time(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await write_log(database_url, 12_000)
    projections, _ = all_projections()
    await _replay_one_at_a_time(pool, projections)
    one_at_a_time = await _rows(pool, projections)
    assert sum(len(rows) for rows in one_at_a_time.values()) > 1_000

    for rows_held in (500_000, 1_500):  # rows written at the end, or loaded again in between
        # batches cut streams apart
        read = await replay(pool, projections, batch_size=997, rows_held=rows_held)
        batched = await _rows(pool, projections)

        assert read >= 12_000
        assert {table: len(rows) for table, rows in batched.items()} == {
            table: len(rows) for table, rows in one_at_a_time.items()
        }
        for table, rows in one_at_a_time.items():
            assert batched[table] == rows, (rows_held, table)


async def test_reading_the_log_ahead_gives_every_event_once_in_commit_order(
    servers: DevServers,
) -> None:
    async with fresh_database(servers, "revsync_ahead") as url:
        await write_log(url, 5_000)
        log_pool = await create_pool(url, max_size=2)
        try:
            async with log_pool.acquire() as conn:
                whole = [event.id for event in await read_all_with(conn, START, 1_000_000)]
                assert len(whole) == 5_000
                for size in (997, 1_000, 4_999, 5_000, 7_000):  # boundaries anywhere
                    for ahead in (False, True):
                        read = [
                            event.id
                            async for batch in read_batches(conn, size, ahead=ahead)
                            for event in batch
                        ]
                        assert read == whole, (size, ahead)

                batches = read_batches(conn, 997, ahead=True)
                async for _ in batches:
                    break  # the next batch is being read meanwhile
                await batches.aclose()
                assert await conn.fetchval("SELECT 1") == 1, "no read left in flight"
        finally:
            await log_pool.close()


async def test_replay_builds_the_same_rows_with_or_without_a_connection_to_read_ahead(
    servers: DevServers,
) -> None:
    projections, _ = all_projections()
    async with fresh_database(servers, "revsync_ahead") as url:
        await write_log(url, 6_000)
        built = []
        for connections in (1, 2):  # 1: no spare connection, the log is read in turn
            replay_pool = await create_pool(url, min_size=1, max_size=connections)
            try:
                assert await replay(replay_pool, projections, batch_size=997) == 6_000
                built.append(await _rows(replay_pool, projections))
            finally:
                await replay_pool.close()
        assert sum(len(rows) for rows in built[0].values()) > 1_000
        assert built[0] == built[1]
