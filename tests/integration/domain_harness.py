"""Running the company and asset services in-process against real NATS and PostgreSQL, and
playing the connectors' part: publish changes, read the commands that reach the COMMANDS
stream, answer them with results.

Each test gets its own tenant and its own broker whose durable subscribers only see that
tenant; the outbox relay, the sync-run watcher and the company-link follower run once per
module (they serve every tenant).
"""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from revsync.contracts.base import Command, Message, Result, ResultStatus
from revsync.contracts.revio import (
    CreateRevioCustomer,
    RevioCustomer,
    RevioCustomerChanged,
    UpdateRevioCustomer,
    UpsertRevioAsset,
)
from revsync.contracts.rmm import (
    CreateRmmCompany,
    CreateRmmSite,
    RmmCompany,
    RmmCompanyChanged,
    SetRmmEndpointCustomField,
    UpdateRmmCompany,
    UpdateRmmSite,
)
from revsync.eventlog.store import EventStore
from revsync.messaging import DeliveryPolicy, make_broker, publish
from revsync.outbox import OutboxRelay
from revsync.tenancy import SyncSettings, Tenant
from revsync.tenant_store import TenantStore

from services.asset.app import register as register_asset
from services.asset.follower import follow_company_links
from services.asset.handlers import AssetService
from services.company.app import register as register_company
from services.company.handlers import CompanyService
from services.company.naming import company_description
from services.company.runs import watch_runs

FAST = DeliveryPolicy(max_deliver=6, backoff_s=(0.05, 0.1, 0.2, 0.5), ack_wait_s=10.0)
COMMANDS: dict[tuple[str, str, str], type[Command]] = {
    (model.system, model.entity, model.verb): model
    for model in (
        CreateRmmCompany,
        UpdateRmmCompany,
        CreateRmmSite,
        UpdateRmmSite,
        SetRmmEndpointCustomField,
        CreateRevioCustomer,
        UpdateRevioCustomer,
        UpsertRevioAsset,
    )
}
C = TypeVar("C", bound=Command)
# what `Harness.initial_sync` lists: a customer and its RMM company, in sync already
BASELINE_CUSTOMER = RevioCustomer(id="initial-sync-0", name="Initial Sync Baseline")
BASELINE_COMPANY = RmmCompany(
    id="initial-sync-r0",
    name=BASELINE_CUSTOMER.name,
    description=company_description(BASELINE_CUSTOMER),
)


async def eventually(check: Callable[[], Awaitable[Any]], within_s: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy; return that."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {within_s}s (last: {value!r})")
        await asyncio.sleep(0.05)


def settings_lookup(pool: asyncpg.Pool) -> Callable[[str], Awaitable[SyncSettings | None]]:
    store = TenantStore(pool)

    async def settings_for(tenant_id: str) -> SyncSettings | None:
        tenant = await store.load(tenant_id, with_secrets=False)
        return tenant.settings if tenant and tenant.enabled else None

    return settings_for


@dataclass
class Background:
    company: CompanyService
    asset: AssetService
    tasks: list[asyncio.Task[None]]


@asynccontextmanager
async def background(pool: asyncpg.Pool, js: JetStreamContext) -> AsyncIterator[Background]:
    settings_for = settings_lookup(pool)
    company = CompanyService(pool, settings_for, consumer="company")
    asset = AssetService(pool, settings_for, consumer="asset")
    checkpoint = f"asset:company-links:test-{secrets.token_hex(4)}"
    tasks = [
        asyncio.create_task(OutboxRelay(pool, js).run()),
        asyncio.create_task(watch_runs(company, poll_s=0.1, quiet_s=60.0)),
        asyncio.create_task(follow_company_links(asset, EventStore(pool), checkpoint)),
    ]
    try:
        yield Background(company, asset, tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Harness:
    tenant: str
    pool: asyncpg.Pool
    js: JetStreamContext
    services: str
    received: list[tuple[str, Command]] = field(default_factory=list)
    answered: set[object] = field(default_factory=set)
    _sub: Any = None

    # --- settings ---------------------------------------------------------------------

    async def configure(self, **settings: Any) -> None:
        tenant = Tenant(id=self.tenant, name=self.tenant, settings=SyncSettings(**settings))
        await TenantStore(self.pool).save(tenant, actor="test")

    # --- playing the connectors ---------------------------------------------------------

    async def publish(self, message: Message) -> None:
        await publish(self.js, message)

    async def redeliver(self, message: Message) -> None:
        """The same message again, past JetStream's duplicate window (a new Nats-Msg-Id)."""
        headers = {"Nats-Msg-Id": f"again-{secrets.token_hex(6)}"}
        await self.js.publish(message.subject, message.to_bytes(), headers=headers)

    async def answer(
        self,
        command: Command,
        external_ids: dict[str, str] | None = None,
        status: ResultStatus = ResultStatus.OK,
    ) -> Result:
        result = Result.of(
            command, status, external_ids, None if status is ResultStatus.OK else "refused"
        )
        self.answered.add(command.message_id)
        await publish(self.js, result)
        return result

    async def answer_rest(self, model: type[C], external_ids: dict[str, str]) -> int:
        """Answer every command of `model` not answered yet (as a connector would)."""
        await self._poll()
        waiting = [c for c in self.sent(model) if c.message_id not in self.answered]
        for command in waiting:
            await self.answer(command, external_ids)
        return len(waiting)

    async def _poll(self) -> None:
        if self._sub is None:
            self._sub = await self.js.pull_subscribe(
                f"cmd.{self.tenant}.>",
                stream="COMMANDS",
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
        try:
            messages = await self._sub.fetch(200, timeout=0.1)
        except TimeoutError:
            return
        for message in messages:
            _, _, system, entity, verb = message.subject.split(".")
            model = COMMANDS.get((system, entity, verb))
            if model is not None:
                self.received.append((message.subject, model.from_bytes(message.data)))
            await message.ack()

    def sent(self, model: type[C]) -> list[C]:
        return [command for _, command in self.received if isinstance(command, model)]

    async def wait_for(
        self,
        model: type[C],
        count: int = 1,
        where: Callable[[C], bool] = lambda _: True,
        within_s: float = 10.0,
    ) -> list[C]:
        async def enough() -> list[C]:
            await self._poll()
            found = [c for c in self.sent(model) if where(c)]
            return found if len(found) >= count else []

        return await eventually(enough, within_s)  # type: ignore[no-any-return]

    async def settle(self, seconds: float = 0.6) -> None:
        """Let in-flight work finish, collecting whatever commands it sends."""
        await self.processed()
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await self._poll()

    async def processed(self, within_s: float = 10.0) -> None:
        """Wait until the tenant's durable consumers have handled every message."""

        async def done() -> bool:
            for stream in ("CHANGES", "RESULTS"):
                for info in await self._consumers(stream):
                    if info.num_pending or info.num_ack_pending:
                        return False
            async with self.pool.acquire() as conn:
                return not await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE tenant_id = $1", self.tenant
                )

        await eventually(done, within_s)

    async def _consumers(self, stream: str) -> list[Any]:
        found = []
        for name in await self._consumer_names(stream):
            try:
                found.append(await self.js.consumer_info(stream, name))
            except NotFoundError:
                continue
        return found

    async def _consumer_names(self, stream: str) -> list[str]:
        infos = await self.js.consumers_info(stream)
        return [i.name for i in infos if i.name.startswith(self.services)]

    async def initial_sync(self, within_s: float = 10.0) -> uuid.UUID:
        """The tenant's first sync run as the connectors list it (one `seen` customer and
        its RMM company, each with its listing's total; already in sync, so nothing is
        sent); returns once the company service matched the run. Until then nothing is
        created automatically (`waiting_for_initial_sync`)."""
        run = uuid.uuid4()
        customer = RevioCustomerChanged(
            tenant_id=self.tenant, kind="seen", customer=BASELINE_CUSTOMER, sync_run_id=run, total=1
        )
        company = RmmCompanyChanged(
            tenant_id=self.tenant, kind="seen", company=BASELINE_COMPANY, sync_run_id=run, total=1
        )
        await self.publish(customer)
        await self.publish(company)
        await eventually(lambda: self.run_matched(run), within_s)
        await self.processed(within_s)
        return run

    async def run_matched(self, run: object) -> dict[str, Any] | None:
        """The run's row once the company service matched it."""
        row = await self.pool.fetchrow(
            "SELECT matched_at, counts FROM company_sync_runs"
            " WHERE tenant_id = $1 AND sync_run_id = $2",
            self.tenant,
            run,
        )
        return dict(row) if row and row["matched_at"] else None

    # --- reading what was decided -------------------------------------------------------

    async def events(self, stream: str) -> list[tuple[str, dict[str, Any]]]:
        recorded = await EventStore(self.pool).read_stream(self.tenant, stream)
        return [(event.type, event.data) for event in recorded]

    async def row(self, table: str, key: str, value: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            f"SELECT * FROM {table} WHERE tenant_id = $1 AND {key} = $2", self.tenant, value
        )
        return dict(row) if row else None

    async def link(self, customer_id: str) -> dict[str, Any] | None:
        return await self.row("company_links", "revio_customer_id", customer_id)

    async def wait_link(
        self, customer_id: str, state: str, within_s: float = 10.0
    ) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            row = await self.link(customer_id)
            return row if row and row["state"] == state else None

        return await eventually(reached, within_s)  # type: ignore[no-any-return]

    async def asset(self, identifier: str) -> dict[str, Any] | None:
        return await self.row("assets", "identifier", identifier)

    async def wait_asset(
        self, identifier: str, state: str, within_s: float = 10.0
    ) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            row = await self.asset(identifier)
            return row if row and row["state"] == state else None

        return await eventually(reached, within_s)  # type: ignore[no-any-return]


@asynccontextmanager
async def harness(
    background: Background,
    pool: asyncpg.Pool,
    js: JetStreamContext,
    nats_url: str,
    tenant: str,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Services subscribed for `tenant` only, with the tenant saved with `settings`."""
    suffix = secrets.token_hex(3)
    running = Harness(tenant, pool, js, services=f"t{suffix}")
    await running.configure(**settings)
    broker = make_broker(nats_url)
    register_company(
        broker, background.company, name=f"t{suffix}company", tenant=tenant, policy=FAST, workers=4
    )
    register_asset(
        broker, background.asset, name=f"t{suffix}asset", tenant=tenant, policy=FAST, workers=4
    )
    await broker.start()
    try:
        yield running
    finally:
        await broker.stop()
        if running._sub is not None:
            await running._sub.unsubscribe()
