"""Session-wide servers: embedded NATS and PostgreSQL unless NATS_URL / DATABASE_URL are set.

Each test session gets a fresh database of its own (created on the given server and dropped
afterwards), so runs against a shared server never see each other's rows.
"""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from revsync.db import create_pool, ensure_database
from revsync.devservers import DevServers, ensure_servers
from revsync.eventlog.migrate import apply_migrations
from revsync.messaging.streams import ensure_streams

pytest_plugins = ["tests.timeouts"]


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServers]:
    data_dir: Path = tmp_path_factory.mktemp("servers")
    running = ensure_servers(
        data_dir, os.environ.get("NATS_URL") or None, os.environ.get("DATABASE_URL") or None
    )
    yield running
    running.stop()


@asynccontextmanager
async def fresh_database(servers: DevServers, prefix: str = "revsync_test") -> AsyncIterator[str]:
    """A new database with every migration applied, dropped at the end."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    url = await ensure_database(servers.database_url, name)
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(servers.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
async def database_url(servers: DevServers) -> AsyncIterator[str]:
    async with fresh_database(servers) as url:
        yield url


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    db_pool = await create_pool(database_url, max_size=40)
    yield db_pool
    await db_pool.close()


@pytest.fixture(scope="session")
async def nats_client(servers: DevServers) -> AsyncIterator[NatsClient]:
    client = await nats.connect(servers.nats_url)
    await ensure_streams(client.jetstream(), duplicate_window_s=600.0)
    yield client
    await client.drain()


@pytest.fixture(scope="session")
def js(nats_client: NatsClient) -> JetStreamContext:
    return nats_client.jetstream()


@pytest.fixture
def tenant() -> str:
    """A tenant id of this test alone: tests share servers, never data."""
    return f"t{secrets.token_hex(5)}"
