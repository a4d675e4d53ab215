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


STATEMENT_LIFETIME_S = 30
"""How long a connection keeps a prepared statement, and so its plan. PostgreSQL plans a
statement for its parameters five times, then may keep one generic plan for good, made for
the tables as they were then: a plan made while a table was tiny scans it. In the initial
sync, where every table starts empty, a projection's lookup by key kept scanning a table of
thousands of rows (1,100 buffers a call instead of 10; 3,453 scans of `alert_tickets` in a
40-s pipeline run). Prepared again, a statement is planned for the tables as they are now."""


async def create_pool(
    dsn: str,
    max_size: int = 10,
    min_size: int = 1,
    statement_lifetime_s: int = STATEMENT_LIFETIME_S,
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_reset_on_release,
        max_cached_statement_lifetime=statement_lifetime_s,
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
