"""asyncpg pools with JSON codecs, and database creation for local runs and tests."""

import weakref
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


_HOLDING_SESSION_STATE: "weakref.WeakSet[asyncpg.Connection]" = weakref.WeakSet()


def holds_session_state(conn: Conn) -> None:
    """Say that `conn` now holds session state (a session advisory lock, a LISTEN): the pool
    gives it the full reset when it comes back, whatever happened to the code that undoes it."""
    # a pool hands out a proxy; its reset hook gets the connection behind it
    raw = (
        getattr(conn, "_con", None) if isinstance(conn, asyncpg.pool.PoolConnectionProxy) else conn
    )
    if raw is not None:
        _HOLDING_SESSION_STATE.add(raw)


async def _reset_on_release(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool. asyncpg has already rolled back
    an open transaction and dropped its listener callbacks; its full reset query (unlock
    advisory locks, close cursors, UNLISTEN, RESET ALL) is one more round trip on every
    release, so it runs only on the connections `holds_session_state` marked. The rest of the
    code keeps no session state: transaction-level locks and settings end with the
    transaction, cursors live inside one."""
    if conn in _HOLDING_SESSION_STATE:
        _HOLDING_SESSION_STATE.discard(conn)
        query = conn.get_reset_query()
        if query:
            await conn.execute(query)


async def create_pool(dsn: str, max_size: int = 10, min_size: int = 1) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_reset_on_release
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
