"""Command subscribers: `cmd.<tenant>.rmm.<entity>.<verb>` -> vendor -> `result.<tenant>...`.

One durable consumer per command type (entity and verb: the verb is only in the subject, and
some bodies cannot be told apart, e.g. `UpdateRmmTicket` and `CloseRmmTicket`). Each command
runs through `CommandExecutor`: at most one vendor execution, its outcome and `Result`
committed with the inbox record; transient vendor failures are redelivered, permanent ones
answered with a failed `Result`. In-flight commands are bounded per process and per tenant:
the tenant's bound is one `TenantSlots` shared by every command consumer (the tenant's vendor
limit is shared too), enforced by `durable_subscriber`, which defers a busy tenant's command
instead of letting it hold a worker.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from faststream.nats import NatsBroker
from revsync.connector import CommandExecutor
from revsync.contracts import Subjects
from revsync.contracts.rmm import (
    AddRmmTicketNote,
    CloseRmmTicket,
    CreateRmmCompany,
    CreateRmmSite,
    CreateRmmTicket,
    ListRmmEverything,
    RmmCommand,
    SetRmmEndpointCustomField,
    UpdateRmmCompany,
    UpdateRmmSite,
    UpdateRmmTicket,
)
from revsync.logs import get_logger
from revsync.messaging import DeliveryPolicy, TenantSlots, durable_subscriber
from revsync.vendor import VendorError, VendorErrorKind

from services.cwrmm_connector import listings
from services.cwrmm_connector.drift import SchemaDrift
from services.cwrmm_connector.handlers import companies, endpoints, tickets
from services.cwrmm_connector.handlers.common import reject
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import TenantHandle, TenantRegistry

log = get_logger(__name__)


def garbled_is_transient(error: VendorError) -> VendorError:
    """A response that was not even JSON (read three times) is a vendor glitch, not an answer
    about the command: it is retried by redelivery rather than answered as a failure."""
    return VendorError(
        VendorErrorKind.UNAVAILABLE, error.vendor, error.endpoint, error.message, error.status,
        error.payload,
    )  # fmt: skip


Run = Callable[
    [TenantHandle, Any, asyncpg.Connection, ConnectorSettings], Awaitable[dict[str, str]]
]


async def _listing(
    handle: TenantHandle, command: ListRmmEverything, conn: asyncpg.Connection, _: Any
) -> dict[str, str]:
    await listings.request(conn, handle.id, command.run_id)
    return {"run_id": str(command.run_id), "listing": "started"}


ROUTES: dict[type[RmmCommand], Run] = {
    CreateRmmCompany: lambda h, c, conn, s: companies.create_company(h, c, conn),
    UpdateRmmCompany: lambda h, c, conn, s: companies.update_company(h, c, conn),
    CreateRmmSite: companies.create_site,
    UpdateRmmSite: companies.update_site,
    SetRmmEndpointCustomField: lambda h, c, conn, s: endpoints.set_custom_field(h, c, conn),
    CreateRmmTicket: lambda h, c, conn, s: tickets.create_ticket(h, c, conn, s.rmm_alert_source),
    UpdateRmmTicket: lambda h, c, conn, s: tickets.update_ticket(h, c, conn, s.rmm_alert_source),
    CloseRmmTicket: lambda h, c, conn, s: tickets.close_ticket(h, c, conn, s.rmm_alert_source),
    AddRmmTicketNote: lambda h, c, conn, s: tickets.add_note(h, c, conn, s.rmm_alert_source),
    ListRmmEverything: _listing,
}


class CommandHandlers:
    def __init__(
        self, registry: TenantRegistry, pool: asyncpg.Pool, settings: ConnectorSettings
    ) -> None:
        self.registry, self.settings = registry, settings
        self.executor = CommandExecutor(pool, consumer=settings.service_name)
        self.in_flight = asyncio.Semaphore(settings.rmm_max_in_flight_commands)
        self.tenant_slots = TenantSlots(
            settings.rmm_tenant_max_in_flight, f"{settings.service_name}-commands"
        )

    async def handle(self, command: RmmCommand) -> None:
        if not self.registry.serves(command.tenant_id):
            return  # another deployment serves this tenant, with consumers of its own
        run = ROUTES[type(command)]
        handle = await self.registry.get(command.tenant_id)
        if handle is None:

            async def refuse(_: asyncpg.Connection) -> dict[str, str]:
                why = "is unknown, disabled or has no RMM connection"
                raise reject("tenant", f"tenant {command.tenant_id} {why}")

            await self.executor.execute(command, refuse)
            return

        async def perform(conn: asyncpg.Connection) -> dict[str, str]:
            try:
                return await run(handle, command, conn, self.settings)
            except SchemaDrift:
                raise  # answered as a failure, for a person to look at
            except VendorError as error:
                if error.kind is not VendorErrorKind.INVALID_RESPONSE:
                    raise
                raise garbled_is_transient(error) from error

        # the tenant's own bound is already held (`tenant_slots`): a busy tenant's commands
        # are deferred by the subscriber and never queue here for the process's slots
        async with self.in_flight:
            await self.executor.execute(command, perform)

    def register(self, broker: NatsBroker) -> None:
        served = self.settings.served_tenants()
        tenant = next(iter(served)) if served and len(served) == 1 else "*"
        service = self.settings.service_name
        if served:  # a deployment sharded by tenant has consumers of its own
            shard = hashlib.blake2b(",".join(sorted(served)).encode(), digest_size=4)
            service = f"{service}-{shard.hexdigest()}"
        policy = DeliveryPolicy(
            max_deliver=self.settings.rmm_command_max_deliver,
            backoff_s=(1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
            ack_wait_s=self.settings.rmm_command_ack_wait_s,
        )
        for model in ROUTES:
            durable_subscriber(
                broker,
                service=service,
                name=f"{model.entity}-{model.verb}".replace("_", "-"),
                subject=Subjects.filter("cmd", tenant, "rmm", model.entity, model.verb),
                model=model,
                handler=self.handle,
                policy=policy,
                workers=self.settings.rmm_command_workers,
                slots=self.tenant_slots,
                answer_dead_letters=True,  # the issuer decides on it instead of waiting
            )
