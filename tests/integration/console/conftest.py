"""Fixtures of the console tests: the console app over both sandboxes (in process); for the
whole session, the console's consumers and sync-run monitor, an outbox relay and the real
company service, each on a broker of its own."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from revsync.devservers import DevServers
from revsync.messaging import DeliveryPolicy, make_broker
from revsync.outbox import OutboxRelay

from services.console.app import create_app
from services.console.consumers import ConsoleConsumers
from services.console.deps import Console
from services.console.sync_progress import monitor
from tests.integration.console.support import (
    Accounts,
    RoutingTransport,
    bearer,
    create_accounts,
    good_settings,
    make_console,
    new_key,
    sandbox_transport,
    start_company_service,
)

QUIET_S = 1.0


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Tests create many users: hash their passwords with a cheap scrypt (the parameters
    travel in each hash, so verifying is unchanged)."""
    from services.console import auth

    kept = dict(auth._SCRYPT)
    auth._SCRYPT.update(n=2**8)
    yield
    auth._SCRYPT.update(kept)


@pytest.fixture(scope="session")
def secret_key() -> str:
    return new_key()


@pytest.fixture(scope="session")
def sandboxes() -> RoutingTransport:
    return sandbox_transport()


@pytest.fixture
def console(
    pool: asyncpg.Pool, js: JetStreamContext, sandboxes: RoutingTransport, secret_key: str
) -> Console:
    return make_console(pool, js, sandboxes, secret_key)


@pytest.fixture
async def api(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(console))
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        yield client


@pytest.fixture
async def accounts(sandboxes: RoutingTransport, tenant: str) -> Accounts:
    return await create_accounts(sandboxes, tenant)


@pytest.fixture
async def admin(console: Console, tenant: str) -> dict[str, str]:
    """Headers of an admin of `tenant`."""
    token = await bearer(console, f"admin-{tenant}", "admin", tenant)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def configured(api: httpx.AsyncClient, admin: dict[str, str], accounts: Accounts) -> Accounts:
    """`tenant` with good settings saved (create mode off: unmatched customers are held)."""
    body = {**good_settings(accounts), "create_mode": False}
    answer = await api.put("/api/settings", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    return accounts


@pytest.fixture(scope="module")
async def running(
    servers: DevServers, pool: asyncpg.Pool, js: JetStreamContext
) -> AsyncIterator[ConsoleConsumers]:
    """Everything a sync run needs besides the connectors and the company service, for a
    module: the console's consumers and monitor, and an outbox relay (stopped after the
    module, so no other test finds its outbox emptied by this relay)."""
    broker: NatsBroker = make_broker(servers.nats_url)
    consumers = ConsoleConsumers(
        pool,
        service=f"console{secrets.token_hex(3)}",
        policy=DeliveryPolicy(max_deliver=3, backoff_s=(0.05, 0.1), ack_wait_s=5.0),
    )
    consumers.register(broker)
    await broker.start()

    async def pending() -> int:
        return await consumers.pending(js)

    tasks = [
        asyncio.create_task(OutboxRelay(pool, js).run()),
        asyncio.create_task(monitor(pool, QUIET_S, pending, interval_s=0.1)),
    ]
    try:
        yield consumers
    finally:  # the broker stops even if a task does not: no consumer outlives its module
        for task in tasks:
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        finally:
            await broker.stop()


@pytest.fixture
async def company(
    servers: DevServers, pool: asyncpg.Pool, running: ConsoleConsumers, tenant: str
) -> AsyncIterator[None]:
    """The company service for `tenant`, with the rest of what a sync run needs."""
    broker, watch = await start_company_service(servers.nats_url, pool, tenant)
    yield
    watch.cancel()
    await asyncio.gather(watch, return_exceptions=True)
    await broker.stop()
