"""Shared pieces of the Rev.io connector tests: the sandbox served over real HTTP, a tenant
pointing at it, the connector in-process, and taps on what it publishes and records."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import uvicorn
from cryptography.fernet import Fernet
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import SecretStr
from revsync.contracts import Result
from revsync.devservers import DevServers, free_port
from revsync.secrets_box import SecretBox
from revsync.tenancy import RevioConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore

from services.revio_connector.app import Connector
from services.revio_connector.settings import RevioConnectorSettings
from services.sandbox.revio import create_app
from services.sandbox.revio.notifier import DeliveryPolicy

SECRET_KEY = Fernet.generate_key().decode()
AUTH = ("integration@SANDBOX", "sandbox")


@dataclass
class Sandbox:
    """The Rev.io sandbox on a real port; `person` edits it as someone in Rev.io's UI would."""

    app: FastAPI
    base: str
    person: httpx.AsyncClient
    control: httpx.AsyncClient

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    async def requests(self, path_prefix: str = "/v1") -> dict[str, int]:
        answer = await self.control.get("/_sandbox/requests", params={"path_prefix": path_prefix})
        return dict(answer.json()["counts"])

    def statuses(self, method: str, prefix: str) -> list[int]:
        entries = self.app.state.control.request_log.entries(path_prefix=prefix)
        return [e.status for e in entries if e.method == method]

    async def faults(self, *rules: dict[str, Any]) -> None:
        answer = await self.control.put("/_sandbox/faults", json={"rules": list(rules), "seed": 3})
        answer.raise_for_status()

    async def new_ticket(self, customer_id: int = 10001, description: str = "Printer jam") -> str:
        """A ticket someone opened in Rev.io's UI; its id."""
        body = {"customer_id": customer_id, "ticket_type_id": 1, "description": description}
        answer = await self.person.post("/v1/Tickets", json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])

    async def rename(self, customer_id: int, name: str) -> None:
        """Someone renames a customer in Rev.io's UI."""
        operations = [{"op": "replace", "path": "/service_address/company_name", "value": name}]
        answer = await self.person.patch(
            f"/v1/Customers/{customer_id}", json=operations,
            headers={"Content-Type": "application/json-patch+json"},
        )  # fmt: skip
        answer.raise_for_status()

    def store(self) -> Any:
        return self.app.state.revio.accounts["SANDBOX"].store


@asynccontextmanager
async def running_sandbox(size: str = "tiny", seed: int = 7) -> AsyncIterator[Sandbox]:
    fast = DeliveryPolicy(attempts=3, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0)
    app = create_app(seed=seed, size=size, delivery_policy=fast)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started)
    base = f"http://127.0.0.1:{port}"
    async with (
        httpx.AsyncClient(base_url=base, auth=AUTH) as person,
        httpx.AsyncClient(base_url=base) as control,
    ):
        yield Sandbox(app, base, person, control)
    server.should_exit = True
    await task


async def save_tenant(
    pool: asyncpg.Pool, tenant_id: str, url: str, password: str = "sandbox", **settings: Any
) -> Tenant:
    tenant = Tenant(
        id=tenant_id,
        name=f"MSP {tenant_id}",
        revio=RevioConnection(
            base_url=url, username="integration", client_code="SANDBOX",
            password=SecretStr(password),
        ),
        settings=SyncSettings(**settings),
    )  # fmt: skip
    await TenantStore(pool, SecretBox(SECRET_KEY)).save(tenant, actor="test")
    return tenant


async def disable_tenant(pool: asyncpg.Pool, tenant: Tenant) -> None:
    store = TenantStore(pool, SecretBox(SECRET_KEY))
    await store.save(tenant.model_copy(update={"enabled": False}), actor="test")


def connector_settings(
    servers: DevServers, database_url: str, **overrides: Any
) -> RevioConnectorSettings:
    values: dict[str, Any] = {
        "nats_url": servers.nats_url,
        "database_url": database_url,
        "revsync_secret_key": SECRET_KEY,
        "revio_connector_port": free_port(),
        "revio_poll_interval_s": 0.3,
        "revio_asset_poll_interval_s": 0.3,
        "revio_reconcile_interval_s": 3600,
        "revio_tenant_reload_s": 0.5,
        "revio_http_timeout_s": 2.0,
        "revio_create_settle_s": 0.3,
        "revio_command_ack_wait_s": 5.0,
        "revio_lease_ttl_s": 30.0,
        "revio_rate_per_minute": 3000,  # the sandbox still enforces Rev.io's 500 a minute
        "log_level": "WARNING",
    }
    return RevioConnectorSettings(**(values | overrides))


@asynccontextmanager
async def running_connector(
    settings: RevioConnectorSettings, watch: bool = True
) -> AsyncIterator[Connector]:
    connector = Connector(settings, watch=watch)
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()


@dataclass
class ChangeTap:
    """Every change the connector published for one tenant, parsed, in order."""

    js: JetStreamContext
    tenant: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    _sub: Any = None

    async def start(self) -> "ChangeTap":
        self._sub = await self.js.pull_subscribe(
            f"change.{self.tenant}.revio.>", stream="CHANGES",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )  # fmt: skip
        return self

    async def drain(self, wait_s: float = 0.3) -> list[dict[str, Any]]:
        import orjson

        while True:
            try:
                batch = await self._sub.fetch(500, timeout=wait_s)
            except TimeoutError:
                return self.seen
            for message in batch:
                self.seen.append(orjson.loads(message.data) | {"_subject": message.subject})
                await message.ack()

    async def until(
        self, predicate: Callable[[list[dict[str, Any]]], bool], within_s: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + within_s
        while not predicate(await self.drain(0.1)):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"changes never matched; got {len(self.seen)}")
        return self.seen

    async def stop(self) -> None:
        await self._sub.unsubscribe()


def of(
    changes: list[dict[str, Any]], entity: str, object_id: str, kind: str = "changed"
) -> list[dict[str, Any]]:
    return [
        c for c in changes
        if c["_subject"].endswith(f".revio.{entity}.{kind}") and c[entity]["id"] == object_id
    ]  # fmt: skip


async def outcome(
    pool: asyncpg.Pool, tenant: str, command_id: UUID, within_s: float = 20.0
) -> Result:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        raw = await pool.fetchval(
            "SELECT result FROM command_outcomes WHERE tenant_id = $1 AND command_id = $2",
            tenant,
            command_id,
        )
        if raw is not None:
            return Result.from_bytes(bytes(raw))
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no outcome for command {command_id}")
        await asyncio.sleep(0.05)


async def wait_for(predicate: Callable[[], Any], within_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await _value(predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _value(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value
