"""Shared pieces of the RMM connector tests: the RMM sandbox served over real HTTP (uvicorn,
in this process), one sandbox account and one tenant per test, the connector's parts wired
as the process wires them, and readers of the change events it publishes."""

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import SecretStr
from revsync.connector.rmm_tokens import open_bucket
from revsync.contracts.base import Change, Result
from revsync.contracts.rmm import (
    RmmAlertChanged,
    RmmCompanyChanged,
    RmmEndpointChanged,
    RmmTicketChanged,
)
from revsync.devservers import free_port
from revsync.runtime import ServiceContext, start_context
from revsync.secrets_box import SecretBox
from revsync.tenancy import RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore

from services.cwrmm_connector.app import setup
from services.cwrmm_connector.client.token_store import KvTokenStore
from services.cwrmm_connector.handlers import CommandHandlers
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import TenantHandle, TenantRegistry
from services.cwrmm_connector.watchers import TenantWatcher
from services.sandbox.cwrmm.app import create_app
from services.sandbox.cwrmm.store import RmmStore
from services.sandbox.seed import generate_world

os.environ.setdefault("REVSYNC_SECRET_KEY", Fernet.generate_key().decode())
FAST_LIMIT = 1_000_000  # calls per bucket per 5 minutes: pacing never shows in tests
CHANGE_TYPES: dict[str, type[Change]] = {
    "company": RmmCompanyChanged,
    "endpoint": RmmEndpointChanged,
    "ticket": RmmTicketChanged,
    "alert": RmmAlertChanged,
}


@dataclass
class Sandbox:
    app: FastAPI
    url: str

    @property
    def control(self) -> Any:
        return self.app.state.control

    def store(self, client_id: str) -> RmmStore:
        store: RmmStore = self.app.state.cwrmm.accounts.accounts[client_id].store
        return store

    def calls(self, client_id: str, prefix: str | None = None) -> dict[str, int]:
        return self.control.request_log.counts(client_id, prefix)

    def statuses(self, client_id: str) -> list[int]:
        return [e.status for e in self.control.request_log.entries(client_id)]


async def serve_sandbox() -> AsyncIterator[Sandbox]:
    app = create_app(seed=7, size="tiny")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield Sandbox(app, f"http://127.0.0.1:{port}")
    server.should_exit = True
    await task


@dataclass
class RmmTenant:
    id: str
    client_id: str
    sandbox: Sandbox

    @property
    def store(self) -> RmmStore:
        return self.sandbox.store(self.client_id)

    def calls(self, prefix: str | None = None) -> dict[str, int]:
        return self.sandbox.calls(self.client_id, prefix)


async def make_tenant(
    pool: asyncpg.Pool, sandbox: Sandbox, tenant_id: str, rate_limit: int = FAST_LIMIT, **rules: Any
) -> RmmTenant:
    client_id = f"{tenant_id}-client"
    accounts = sandbox.app.state.cwrmm.accounts
    accounts.add(client_id, "secret", generate_world(7, "tiny"), "tiny", rate_limit)
    settings = SyncSettings(
        **{
            "asset_sync_enabled": True,
            "endpoint_categories": ["platform", "network", "cloud"],
            "sync_alerts": True,
            "sync_manual_tickets": True,
            **rules,
        }
    )
    connection = RmmConnection(
        base_url=sandbox.url, client_id=client_id, client_secret=SecretStr("secret")
    )
    tenant = Tenant(id=tenant_id, name=f"MSP {tenant_id}", rmm=connection, settings=settings)
    await TenantStore(pool, SecretBox()).save(tenant, actor="test")
    return RmmTenant(tenant_id, client_id, sandbox)


def connector_settings(tenant_id: str, **overrides: Any) -> ConnectorSettings:
    values: dict[str, Any] = {
        "service_name": f"cwrmm-test-{secrets.token_hex(3)}",
        "rmm_tenants": tenant_id,
        "rmm_tick_s": 0.05,
        "rmm_http_attempts": 4,
        "rmm_retry_budget_s": 20.0,
        "rmm_command_ack_wait_s": 5.0,
        **overrides,
    }
    return ConnectorSettings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Connector:
    registry: TenantRegistry
    settings: ConnectorSettings
    tenant_id: str

    async def handle(self) -> TenantHandle:
        handle = await self.registry.get(self.tenant_id)
        assert handle is not None
        return handle

    def watcher(self, holder: str = "test") -> TenantWatcher:
        return TenantWatcher(self.registry, self.tenant_id, self.settings, holder)

    def handlers(self) -> CommandHandlers:
        return CommandHandlers(self.registry, self.registry.pool, self.settings)


async def make_connector(
    pool: asyncpg.Pool, js: JetStreamContext, tenant_id: str, **overrides: Any
) -> Connector:
    settings = connector_settings(tenant_id, **overrides)
    tokens = KvTokenStore(await open_bucket(js), SecretBox())
    return Connector(TenantRegistry(pool, js, tokens, settings), settings, tenant_id)


async def changes(js: JetStreamContext, tenant_id: str, wait_s: float = 0.5) -> list[Change]:
    """Every change of `tenant_id` published so far, parsed into its contract."""
    subscription = await js.pull_subscribe(
        f"change.{tenant_id}.rmm.>",
        stream="CHANGES",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    found: list[Change] = []
    try:
        while True:
            try:
                batch = await subscription.fetch(500, timeout=wait_s)
            except TimeoutError:
                break
            for message in batch:
                entity = message.subject.split(".")[3]
                found.append(CHANGE_TYPES[entity].from_bytes(message.data))
                await message.ack()
    finally:
        await subscription.unsubscribe()
    return found


rmm_sandbox_fixture = pytest.fixture(scope="session", name="rmm_sandbox")(serve_sandbox)


async def results(
    js: JetStreamContext, tenant_id: str, count: int, within_s: float = 30.0
) -> list[Result]:
    """The first `count` results of `tenant_id` (waiting for them up to `within_s`)."""
    subscription = await js.pull_subscribe(
        f"result.{tenant_id}.rmm.>",
        stream="RESULTS",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    found: list[Result] = []
    deadline = asyncio.get_running_loop().time() + within_s
    try:
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            try:
                batch = await subscription.fetch(count - len(found), timeout=0.5)
            except TimeoutError:
                continue
            for message in batch:
                found.append(Result.from_bytes(message.data))
                await message.ack()
    finally:
        await subscription.unsubscribe()
    return found


@contextlib.asynccontextmanager
async def running_connector(
    nats_url: str, database_url: str, tenant_id: str, **overrides: Any
) -> AsyncIterator[ServiceContext]:
    """The connector as `python -m services.cwrmm_connector` runs it, in this process."""
    settings = connector_settings(
        tenant_id, nats_url=nats_url, database_url=database_url, **overrides
    )
    ctx = await start_context(settings.service_name, settings)
    tasks = [asyncio.create_task(job) for job in await setup(ctx)]
    await ctx.broker.start()
    try:
        yield ctx
    finally:
        await ctx.broker.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await ctx.nats.drain()
        await ctx.pool.close()
