"""What the console tests share: both sandboxes behind one httpx transport, an account pair
per tenant, fake connectors that answer a sync run's listing commands, and the real company
service running in process."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from fastapi import FastAPI
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import ListRevioEverything, RevioCustomer, RevioCustomerChanged
from revsync.contracts.rmm import ListRmmEverything, RmmCompany, RmmCompanyChanged
from revsync.messaging import DeliveryPolicy, make_broker, publish
from revsync.secrets_box import SecretBox
from revsync.tenancy import SyncSettings
from revsync.tenant_store import TenantCache, TenantStore

from services.console.config import ConsoleSettings
from services.console.deps import Console
from services.console.live_checks import LiveChecks
from services.console.mappings import CompanyServiceMappings
from services.sandbox.cwrmm.app import create_app as create_rmm_app
from services.sandbox.cwrmm.ids import stable_id
from services.sandbox.revio import create_app as create_revio_app

FAST = DeliveryPolicy(max_deliver=6, backoff_s=(0.05, 0.1, 0.2, 0.5), ack_wait_s=10.0)
REVIO_URL = "http://revio.test/v1"
RMM_URL = "http://rmm.test"
HELP_DESK = stable_id("board", "Help Desk")
PROJECTS = stable_id("board", "Projects")  # inactive
MANUAL = stable_id("source", "Manual")


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the in-process app of its host."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.routes = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = self.routes.get(request.url.host)
        if route is None:
            raise httpx.ConnectError(f"no such host {request.url.host}", request=request)
        return await route.handle_async_request(request)


def settings_reader(pool: asyncpg.Pool) -> Callable[[str], Awaitable[SyncSettings | None]]:
    """How a domain service reads a tenant's settings (as its runtime does, short cache)."""
    cache = TenantCache(TenantStore(pool), ttl_s=0.2)

    async def settings_for(tenant_id: str) -> SyncSettings | None:
        tenant = await cache.get(tenant_id)
        return tenant.settings if tenant and tenant.enabled else None

    return settings_for


def sandbox_transport() -> RoutingTransport:
    return RoutingTransport(
        {
            "revio.test": create_revio_app(seed=7, size="tiny", rate_limits_enabled=False),
            "rmm.test": create_rmm_app(seed=7, size="tiny", rate_limits_enabled=False),
        }
    )


@dataclass(frozen=True)
class Accounts:
    tenant: str
    client_code: str
    revio_password: str
    client_id: str
    client_secret: str


async def create_accounts(transport: httpx.AsyncBaseTransport, tenant: str) -> Accounts:
    """A Rev.io account and an RMM account of the tenant's own, with unmistakable secrets."""
    found = Accounts(
        tenant=tenant,
        client_code=tenant.upper(),
        revio_password=f"RevioPw-{secrets.token_hex(6)}",
        client_id=f"{tenant}-client",
        client_secret=f"RmmSecret-{secrets.token_hex(6)}",
    )
    async with httpx.AsyncClient(transport=transport) as client:
        answer = await client.post(
            "http://revio.test/_sandbox/accounts",
            json={"client_code": found.client_code, "password": found.revio_password},
        )
        assert answer.status_code == 201, answer.text
        answer = await client.post(
            "http://rmm.test/_sandbox/accounts",
            json={"client_id": found.client_id, "client_secret": found.client_secret},
        )
        assert answer.status_code == 201, answer.text
    return found


def good_settings(accounts: Accounts) -> dict[str, Any]:
    return {
        "name": f"MSP {accounts.tenant}",
        "create_mode": True,
        "bill_profile": "1",
        "customer_identity": "BUSINESS",
        "asset_sync_enabled": True,
        "endpoint_categories": ["platform", "network"],
        "asset_type": "RMM Endpoint",
        "write_revio_id_to_rmm": True,
        "sync_alerts": True,
        "min_alert_severity": "High",
        "sync_manual_tickets": True,
        "auto_close_on_alert_clear": True,
        "revio_to_rmm_tickets": True,
        "default_service_board": HELP_DESK,
        "default_ticket_source": MANUAL,
        "alert_ticket_type": "RMM Alert",
        "rmm": {
            "base_url": RMM_URL,
            "client_id": accounts.client_id,
            "client_secret": accounts.client_secret,
        },
        "revio": {
            "base_url": REVIO_URL,
            "username": "integration",
            "client_code": accounts.client_code,
            "password": accounts.revio_password,
        },
    }


def make_console(
    pool: asyncpg.Pool,
    js: JetStreamContext | None,
    transport: httpx.AsyncBaseTransport,
    key: str,
    **settings: Any,
) -> Console:
    config = ConsoleSettings(
        jaeger_ui_url=settings.pop("jaeger_ui_url", "http://jaeger.test:16686"),
        sync_quiet_s=settings.pop("sync_quiet_s", 0.5),
        **settings,
    )
    return Console(
        pool=pool,
        settings=config,
        mappings=CompanyServiceMappings(pool),
        js=js,
        checks=LiveChecks(transport),
        box=SecretBox(key),
    )


def new_key() -> str:
    return Fernet.generate_key().decode()


async def bearer(console: Console, username: str, role: str, tenant: str | None) -> str:
    await console.users.create(username, "pw-" + username, role, tenant)  # type: ignore[arg-type]
    issued = await console.users.issue(username, "api", timedelta(hours=1))
    return issued.token


@dataclass
class World:
    """What the fake connectors report for a tenant."""

    companies: list[RmmCompany]
    customers: list[RevioCustomer]


def small_world() -> World:
    """With the company service's rules: 101 links to c1 (same normalized name), 102 and 103
    are suggested c2 and c3 (similar names), 104 and 105 are held (nothing close); c4 and c5
    stay unlinked."""
    return World(
        companies=[
            RmmCompany(id="c1", name="Acme Corp"),
            RmmCompany(id="c2", name="Globex Industries"),
            RmmCompany(id="c3", name="Umbrella Health"),
            RmmCompany(id="c4", name="Initrode Technologies"),
            RmmCompany(id="c5", name="Vandelay Imports"),
        ],
        customers=[
            RevioCustomer(id="101", name="Acme Corporation"),
            RevioCustomer(id="102", name="Globex Industrial"),
            RevioCustomer(id="103", name="Umbrella Health Partners"),
            RevioCustomer(id="104", name="Initech"),
            RevioCustomer(id="105", name="Soylent Foods"),
        ],
    )


async def fake_connectors(
    js: JetStreamContext, tenant: str, world: World, delay_s: float = 0.0, within_s: float = 60.0
) -> None:
    """Answer the tenant's next two listing commands as the connectors would: a `seen`
    change per object (with the run id and the total), then the command's result. Fails if
    the two commands have not come within `within_s` (a test awaiting it never hangs)."""
    sub = await js.pull_subscribe(f"cmd.{tenant}.*.listing.start", stream="COMMANDS")
    deadline = asyncio.get_running_loop().time() + within_s
    try:
        answered = 0
        while answered < 2:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{answered} of 2 listing commands came within {within_s} s")
            try:
                messages = await sub.fetch(2, timeout=1.0)
            except TimeoutError:
                continue
            for message in messages:
                await message.ack()
                command: Any
                if message.subject.endswith(".rmm.listing.start"):
                    command = ListRmmEverything.from_bytes(message.data)
                    changes: list[Any] = [
                        RmmCompanyChanged(
                            tenant_id=tenant,
                            kind="seen",
                            company=company,
                            sync_run_id=command.run_id,
                            total=len(world.companies),
                        )
                        for company in world.companies
                    ]
                else:
                    command = ListRevioEverything.from_bytes(message.data)
                    changes = [
                        RevioCustomerChanged(
                            tenant_id=tenant,
                            kind="seen",
                            customer=customer,
                            sync_run_id=command.run_id,
                            total=len(world.customers),
                        )
                        for customer in world.customers
                    ]
                for change in changes:
                    await publish(js, change)
                    await asyncio.sleep(delay_s)
                await publish(js, Result.of(command, ResultStatus.OK))
                answered += 1
    finally:
        await sub.unsubscribe()


async def start_company_service(
    servers_nats_url: str, pool: asyncpg.Pool, tenant: str, quiet_s: float = 2.0
) -> tuple[NatsBroker, asyncio.Task[None]]:
    """The real company service for one tenant (other tests' tenants are theirs), on a
    broker of its own, with its run watcher: it matches each run's records once both
    listings are in."""
    from services.company.app import register
    from services.company.handlers import CompanyService
    from services.company.runs import watch_runs

    broker = make_broker(servers_nats_url)
    name = f"company{secrets.token_hex(3)}"
    service = CompanyService(pool, settings_reader(pool), consumer=name)
    register(broker, service, name=name, tenant=tenant, policy=FAST, workers=4)
    await broker.start()
    return broker, asyncio.create_task(watch_runs(service, 0.1, quiet_s))


async def wait_until(check: Any, within_s: float = 20.0, every_s: float = 0.1) -> Any:
    """Poll `check()` (async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {within_s} s")
        await asyncio.sleep(every_s)


def alert_skipped(
    ticket_id: str, severity: str, minimum: str = "High", summary: str = "CPU above 90%"
) -> dict[str, Any]:
    """An `AlertSkipped` as the alert service records it (the rule's inputs and the
    observation it skipped)."""
    return {
        "reason": "below_threshold",
        "rule": "severity_meets_minimum",
        "minimum": minimum,
        "rmm_ticket_id": ticket_id,
        "observed_at": "2026-01-05T10:00:00+00:00",
        "kind": "raised",
        "endpoint_id": "e1",
        "condition_id": "cpu",
        "company_id": "c1",
        "severity": severity,
        "summary": summary,
        "description": None,
    }
