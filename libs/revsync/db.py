"""asyncpg pools with JSON codecs, and database creation for local runs and tests."""

from typing import Any

import asyncpg
import asyncpg.pool
import orjson

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
"""A connection, whether acquired from a pool or opened directly."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(
            json_type, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


async def create_pool(dsn: str, max_size: int = 10, min_size: int = 1) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def ensure_database(server_dsn: str, name: str) -> str:
    """Create database `name` on the server of `server_dsn` if missing; return its DSN."""
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = server_dsn.rpartition("/")
    return f"{base}/{name}"
