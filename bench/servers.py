"""The servers a bench run uses: NATS_URL / DATABASE_URL if set, else embedded ones in a
temporary directory; always a fresh database of its own, dropped at the end."""

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from revsync.db import ensure_database
from revsync.devservers import ensure_servers
from revsync.eventlog.migrate import apply_migrations


@dataclass(frozen=True)
class BenchServers:
    nats_url: str
    database_url: str
    """DSN of this run's own database, migrated."""
    embedded: tuple[str, ...]
    """Which servers this run started itself ("nats", "postgres")."""
    server_url: str
    """DSN of the PostgreSQL server's maintenance database (to make more databases)."""


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new database on the server of `server_url`, migrated; dropped at the end."""
    name = f"revsync_bench_{secrets.token_hex(4)}"
    database_url = await ensure_database(server_url, name)
    try:
        conn = await asyncpg.connect(database_url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
        yield database_url
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def bench_servers() -> AsyncIterator[BenchServers]:
    with tempfile.TemporaryDirectory(prefix="revsync-bench-") as data_dir:
        servers = ensure_servers(
            Path(data_dir),
            os.environ.get("NATS_URL") or None,
            os.environ.get("DATABASE_URL") or None,
        )
        try:
            async with fresh_database(servers.database_url) as database_url:
                yield BenchServers(
                    servers.nats_url,
                    database_url,
                    tuple(server.name for server in servers.started),
                    servers.database_url,
                )
        finally:
            servers.stop()
