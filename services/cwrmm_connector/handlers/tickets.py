"""Tickets: create (found first by the Rev.io ticket id it carries), update, close, and add
a note (found first by the source note id in its marker). Every write records the hash of
the ticket as it is afterwards, so it does not come back as a foreign change.
Results: {"ticket_id"} (+ "ticket_number" on create, "note_id" on add_note)."""

import asyncpg
from revsync.contracts.rmm import (
    AddRmmTicketNote,
    CloseRmmTicket,
    CreateRmmTicket,
    StatusCategory,
    UpdateRmmTicket,
)

from services.cwrmm_connector import markers, vendor_bodies
from services.cwrmm_connector.handlers.common import (
    Doc,
    create_marked,
    object_id,
    record,
    written_anyway,
)
from services.cwrmm_connector.observe_tickets import HEAD, ticket_with_notes
from services.cwrmm_connector.tenants import TenantHandle
from services.cwrmm_connector.translate import optional_text
from services.cwrmm_connector.translate_tickets import extended_attribute


async def _record_ticket(
    handle: TenantHandle, ticket: Doc, alert_source: str, conn: asyncpg.Connection
) -> str:
    ticket_id = object_id(ticket, "ticket")
    with written_anyway(handle, "ticket", ticket_id):
        entity, model, head = await ticket_with_notes(handle, ticket, alert_source)
        await record(handle, entity, ticket_id, model, conn)
        if head is not None:
            await handle.hashes(HEAD).put(ticket_id, head, conn)
    return ticket_id


def _carries(ticket: Doc, revio_ticket_id: str) -> bool:
    attribute = extended_attribute(ticket, markers.TICKET_ATTRIBUTE)
    in_text = markers.revio_ticket_id(optional_text(ticket, "description"))
    return revio_ticket_id in (attribute, in_text)


async def create_ticket(
    handle: TenantHandle, command: CreateRmmTicket, conn: asyncpg.Connection, alert_source: str
) -> dict[str, str]:
    async def find() -> Doc | None:
        query = {"companyIds": command.company_id, "summary": command.summary}
        async for page in handle.client.tickets(query):
            for ticket in page:
                if _carries(ticket, command.revio_ticket_id):
                    return ticket
        return None

    async def post() -> Doc | None:
        return await handle.client.create_ticket(vendor_bodies.ticket_create(command))

    ticket, _ = await create_marked("ticket", find, post)
    ticket_id = await _record_ticket(handle, ticket, alert_source, conn)
    return {"ticket_id": ticket_id, "ticket_number": str(ticket.get("number", ""))}


async def _change(
    handle: TenantHandle,
    ticket_id: str,
    summary: str | None,
    description: str | None,
    category: StatusCategory | None,
    alert_source: str,
    conn: asyncpg.Connection,
) -> dict[str, str]:
    current = await handle.client.ticket(ticket_id)
    status = None
    if category is not None:
        current_category = await handle.lookups.category_of(optional_text(current, "status", "id"))
        if current_category != category:
            status = await handle.lookups.status_for(category)
    ops = vendor_bodies.ticket_patch(current, summary, description, status)
    ticket = await handle.client.patch_ticket(ticket_id, ops) if ops else current
    return {"ticket_id": await _record_ticket(handle, ticket, alert_source, conn)}


async def update_ticket(
    handle: TenantHandle, command: UpdateRmmTicket, conn: asyncpg.Connection, alert_source: str
) -> dict[str, str]:
    return await _change(
        handle,
        command.ticket_id,
        command.summary,
        command.description,
        command.status_category,
        alert_source,
        conn,
    )


async def close_ticket(
    handle: TenantHandle, command: CloseRmmTicket, conn: asyncpg.Connection, alert_source: str
) -> dict[str, str]:
    return await _change(handle, command.ticket_id, None, None, "Closed", alert_source, conn)


async def add_note(
    handle: TenantHandle, command: AddRmmTicketNote, conn: asyncpg.Connection, alert_source: str
) -> dict[str, str]:
    async def find() -> Doc | None:
        for note in await handle.client.notes(command.ticket_id):
            _, source = markers.split_note(str(note.get("detail", "")))
            if source == command.source_note_id:
                return note
        return None

    async def post() -> Doc | None:
        detail = markers.note_text(command.text, command.source_note_id)
        return await handle.client.add_note(command.ticket_id, detail)

    note, _ = await create_marked("ticket note", find, post)
    ticket = await handle.client.ticket(command.ticket_id)
    await _record_ticket(handle, ticket, alert_source, conn)
    return {"ticket_id": command.ticket_id, "note_id": object_id(note, "ticket note")}
