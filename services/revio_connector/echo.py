"""Recognising the echo of the connector's own writes.

A command handler writes to Rev.io, reads the object back and records its content hash
(`ObjectHashes.put`) in the command's transaction, so a watcher that later reads the same
content emits nothing. A watcher whose read overlapped such a write must not emit what it
read either (it may be the state just before the write, or the write itself before its hash
was committed). So:
- handlers hold a PostgreSQL advisory lock per (tenant, entity) *shared* for their whole
  transaction (`writing`);
- a watcher notes the recorded hashes before it reads Rev.io, and emits while holding that
  lock *exclusively* (`exclusive`: every write in flight has committed by then), skipping
  any object whose recorded hash moved since its read began: someone recorded a state at
  least as fresh as the one it read.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

_NAMESPACE = "revsync:revio-writes"


async def writing(conn: asyncpg.Connection, tenant_id: str, entity: str) -> None:
    """Inside a handler's transaction, before its vendor call."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtext($1), hashtext($2))",
        _NAMESPACE,
        f"{tenant_id}:{entity}",
    )


@asynccontextmanager
async def exclusive(pool: asyncpg.Pool, tenant_id: str, entity: str) -> AsyncIterator[Any]:
    """A connection holding the lock exclusively; use it (only it) for the hash reads and
    writes of the emission, so the emission needs no second connection."""
    key = (_NAMESPACE, f"{tenant_id}:{entity}")
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1), hashtext($2))", *key)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", *key)
