"""What each Rev.io command does (see `handlers` for how it is made safe to repeat)."""

from typing import Any

import asyncpg
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioCustomer,
    CreateRevioTicket,
    ListRevioEverything,
    UpdateRevioCustomer,
    UpdateRevioTicket,
    UpsertRevioAsset,
)
from revsync.vendor import VendorError

from services.revio_connector import echo
from services.revio_connector.client.bodies import ticket_status
from services.revio_connector.handlers import (
    Handlers,
    create_once,
    first_try,
    record,
    record_created_ticket,
    record_ticket,
    rejected,
    ticket_before,
)
from services.revio_connector.tenants import TenantRuntime

Conn = asyncpg.Connection


class RevioCommands(Handlers):
    async def create_customer(self, command: CreateRevioCustomer) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            api, method = runtime.api, runtime.settings.revio_billing_method
            customer_id = await create_once(
                lambda: api.find_customer(command.rmm_company_id),
                lambda: api.create_customer(command, method),
                runtime.settings.revio_create_settle_s,
                look_first=not await first_try(runtime, f"customer:{command.rmm_company_id}"),
            )
            await record(runtime, conn, "customer", customer_id)
            return {"customer_id": customer_id}

        await self.run(command, "customer", work)

    async def update_customer(self, command: UpdateRevioCustomer) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            await runtime.api.update_customer(command)
            await record(runtime, conn, "customer", command.customer_id)
            return {"customer_id": command.customer_id}

        await self.run(command, "customer", work)

    async def upsert_asset(self, command: UpsertRevioAsset) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            api = runtime.api
            await echo.one_writer(conn, command.tenant_id, "asset", command.identifier)
            type_id = await api.asset_type_id(command.asset_type_id)
            if type_id is None:
                raise rejected("InventoryTypes", f"no inventory type {command.asset_type_id!r}")
            held: dict[str, Any] | None = None
            if command.asset_id:
                held = await api.asset_record(command.asset_id)
            held = held or await api.find_asset(command.identifier, type_id)
            if held is not None:
                asset_id = str(held["inventory_item_id"])
                await api.update_asset(held, command, type_id)
            else:

                async def find() -> str | None:
                    found = await api.find_asset(command.identifier, type_id)
                    return str(found["inventory_item_id"]) if found else None

                asset_id = await create_once(
                    find,
                    lambda: api.create_asset(command, type_id),
                    runtime.settings.revio_create_settle_s,
                    look_first=False,  # it looked just now
                )
            await record(runtime, conn, "asset", asset_id)
            return {"asset_id": asset_id}

        await self.run(command, "asset", work)

    async def create_ticket(self, command: CreateRevioTicket) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            api = runtime.api
            type_name = command.ticket_type or runtime.settings.revio_default_ticket_type
            type_id = await api.ticket_type_id(type_name)
            if type_id is None:
                raise rejected("TicketTypes", f"ticket type {type_name!r} does not exist")
            created: list[str] = []

            async def create() -> str:
                created.append(await api.create_ticket(command, type_id))
                return created[-1]

            ticket_id = await create_once(
                lambda: api.find_ticket(command.source_key),
                create,
                runtime.settings.revio_create_settle_s,
                look_first=not await first_try(runtime, f"ticket:{command.source_key}"),
            )
            if created:  # by this call, so as its create left it unless a person was quicker
                await record_created_ticket(runtime, conn, ticket_id)
            else:  # found: an earlier attempt made it, and it may have changed since
                await record(runtime, conn, "ticket", ticket_id)
            return {"ticket_id": ticket_id}

        await self.run(command, "ticket", work)

    async def update_ticket(self, command: UpdateRevioTicket) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            status = ticket_status(command.status) if command.status is not None else None
            before = await ticket_before(runtime, command.ticket_id)
            await runtime.api.update_ticket(command)
            await record_ticket(
                runtime,
                conn,
                command.ticket_id,
                before,
                lambda b, a: echo.only_our_update(b, a, command, status),
            )
            return {"ticket_id": command.ticket_id}

        await self.run(command, "ticket", work)

    async def add_journal(self, command: AddRevioJournalEntry) -> None:
        async def work(runtime: TenantRuntime, conn: Conn) -> dict[str, str]:
            api = runtime.api
            before = await ticket_before(runtime, command.ticket_id)
            marker = f"journal:{command.ticket_id}:{command.source_note_id}"
            journal_id = await create_once(
                lambda: api.find_journal(command.ticket_id, command.source_note_id),
                lambda: api.add_journal(command),
                runtime.settings.revio_create_settle_s,
                look_first=not await first_try(runtime, marker),
            )
            await record_ticket(
                runtime,
                conn,
                command.ticket_id,
                before,
                lambda b, a: echo.only_our_journal(b, a, journal_id),
            )
            return {"ticket_id": command.ticket_id, "journal_id": journal_id}

        await self.run(command, "ticket", work)

    async def list_everything(self, command: ListRevioEverything) -> None:
        """The listing runs outside any transaction (it can take minutes); its changes have
        ids derived from the run, so running it again after a crash repeats nothing."""
        if await self.answered(command):
            return
        served = await self.registry.get(command.tenant_id)
        failure: VendorError | None = None
        counts: dict[str, int] = {}
        try:
            if served is None:
                raise rejected(command.subject, f"tenant {command.tenant_id} is not served")
            counts = await served.watcher.list_everything(command.run_id)
        except VendorError as error:
            if error.transient:
                raise
            failure = error

        async def perform(_: Conn) -> dict[str, str]:
            if failure is not None:
                raise failure
            return {kind: str(total) for kind, total in counts.items()}

        await self.executor.execute(command, perform)
