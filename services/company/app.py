"""Wiring of the company service: its durable subscribers and the sync-run watcher.

Subscribes (durable consumers `company-<name>`, shared by replicas):
- `change.*.revio.customer.*` -> `CompanyService.on_customer`
- `change.*.rmm.company.*` -> `CompanyService.on_rmm_company`
- `result.*.rmm.company.*`, `result.*.rmm.site.*`, `result.*.revio.customer.*` ->
  `CompanyService.on_result`
and runs `watch_runs` (matching of each sync run once its listings are in) and the release
of company commands held in their command window (`revsync.command_window`: a sync run's
matching decides thousands of company updates at once; `COMPANY_COMMAND_WINDOW` per tenant
and connector are in flight).
"""

from collections.abc import Coroutine
from typing import Any

from faststream.nats import NatsBroker
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from revsync.command_window import CommandWindowSettings, release_periodically
from revsync.contracts import Result, Subjects
from revsync.contracts.revio import RevioCustomerChanged
from revsync.contracts.rmm import RmmCompanyChanged
from revsync.messaging import DeliveryPolicy, Route, subscribe_routes
from revsync.messaging.backlog import changes_waiting
from revsync.messaging.subscriber import consumer_name
from revsync.runtime import ServiceContext

from services.company.handlers import CompanyService
from services.company.runs import watch_runs

SERVICE = "company"
CHANGE_ROUTES = ("revio-customers", "rmm-companies")  # their lag holds a quiet run back
CHANGES_STREAM = "CHANGES"
DEFAULT_POLICY = DeliveryPolicy()


class CompanyConfig(CommandWindowSettings):
    model_config = SettingsConfigDict(env_prefix="COMPANY_", env_file=".env", extra="ignore")

    workers: int = Field(8, ge=1, description="messages handled at once per subscriber")
    run_poll_s: float = Field(1.0, gt=0, description="how often sync runs are checked")
    run_quiet_s: float = Field(
        30.0,
        gt=0,
        description="a run's listings count as complete after this long quiet (while no"
        " customer or company change waits for the service)",
    )


def register(
    broker: NatsBroker,
    service: CompanyService,
    name: str = SERVICE,
    tenant: str = "*",
    policy: DeliveryPolicy = DEFAULT_POLICY,
    workers: int = 8,
) -> None:
    """Attach the durable subscribers (`tenant` narrows them, for tests)."""
    routes = [
        Route(CHANGE_ROUTES[0], Subjects.filter("change", tenant, "revio", "customer"),
              RevioCustomerChanged, service.on_customer),
        Route(CHANGE_ROUTES[1], Subjects.filter("change", tenant, "rmm", "company"),
              RmmCompanyChanged, service.on_rmm_company),
        Route("rmm-company-results", Subjects.filter("result", tenant, "rmm", "company"),
              Result, service.on_result),
        Route("rmm-site-results", Subjects.filter("result", tenant, "rmm", "site"),
              Result, service.on_result),
        Route("revio-customer-results", Subjects.filter("result", tenant, "revio", "customer"),
              Result, service.on_result),
    ]  # fmt: skip
    subscribe_routes(broker, name, routes, policy, workers)


async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    config = CompanyConfig()
    service = CompanyService(
        ctx.pool, ctx.tenants.settings_for, consumer=ctx.name, window=config.window()
    )
    register(
        ctx.broker,
        service,
        name=ctx.name,
        policy=ctx.delivery_policy(),
        workers=config.workers,
    )
    change_consumers = [consumer_name(ctx.name, route) for route in CHANGE_ROUTES]

    async def behind() -> bool:
        return await changes_waiting(ctx.js, CHANGES_STREAM, change_consumers)

    return [
        watch_runs(service, config.run_poll_s, config.run_quiet_s, behind),
        release_periodically(ctx.pool, ctx.name, service.window),
    ]
