"""`revsync replay` folds the log in big batches (`Projection.apply_batch`): the read models
it builds are exactly those of folding one event at a time, as the services do."""

from typing import Any

import asyncpg
from revsync.eventlog import START
from revsync.eventlog.store import read_all_with
from revsync.projection import Projection, apply_all, replay

from bench.replay import write_log
from services.console.projections import all_projections


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
            await apply_all(conn, projections, batch)
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
