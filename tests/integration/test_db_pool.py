"""What a pooled connection carries back into the pool (real PostgreSQL): the full session
reset runs only on connections marked as holding session state, and on those it always does,
whatever the code that took the state did."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from revsync.db import create_pool, holds_session_state

LOCK_KEY = 0x706F6F6C  # "pool"


@pytest.fixture
async def one_connection_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=1, min_size=1)
    yield pool
    await pool.close()


async def session_locks_held(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1"
                " AND pid = pg_backend_pid()",
                LOCK_KEY,
            )
        )


async def test_a_marked_connection_comes_back_without_the_lock_it_forgot_to_release(
    one_connection_pool: asyncpg.Pool,
) -> None:
    async with one_connection_pool.acquire() as conn:
        holds_session_state(conn)
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    assert await session_locks_held(one_connection_pool) == 0


async def test_an_unmarked_connection_is_released_without_a_reset_round_trip(
    one_connection_pool: asyncpg.Pool,
) -> None:
    seen: list[str] = []
    async with one_connection_pool.acquire() as conn:
        raw = conn._con  # type: ignore[attr-defined]  # the connection behind the proxy
        raw.add_query_logger(lambda record: seen.append(record.query))
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)  # not marked: kept
    assert not any("pg_advisory_unlock_all" in query for query in seen), seen
    assert await session_locks_held(one_connection_pool) == 1
    async with one_connection_pool.acquire() as conn:
        holds_session_state(conn)
    assert any("pg_advisory_unlock_all" in query for query in seen), seen
    assert await session_locks_held(one_connection_pool) == 0


async def test_a_transaction_left_open_is_rolled_back_on_release(
    one_connection_pool: asyncpg.Pool,
) -> None:
    async with one_connection_pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (n int)")
    async with one_connection_pool.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def test_a_pooled_connection_prepares_a_statement_again_after_its_lifetime(
    database_url: str,
):
    """So its plan is made for the tables as they are, not as they were when it was first
    prepared (a generic plan made while a table was tiny scans it for good)."""
    pool = await create_pool(database_url, max_size=1, statement_lifetime_s=1)
    query = "SELECT count(*) FROM pg_class WHERE relname = $1 /* lifetime probe */"

    async def prepared_as() -> set[str]:
        async with pool.acquire() as conn:
            for _ in range(7):  # past the five custom plans
                await conn.fetchval(query, "pg_class")
            rows = await conn.fetch(
                "SELECT name FROM pg_prepared_statements WHERE statement = $1", query
            )
            return {row["name"] for row in rows}

    try:
        first = await prepared_as()
        assert first and first == await prepared_as()  # within its lifetime: the same one
        await asyncio.sleep(1.2)
        assert await prepared_as() - first  # prepared again
    finally:
        await pool.close()
