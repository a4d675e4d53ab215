"""Ticketing calls: tickets (v2), notes, and the lookups (statuses, sources, boards, ...)."""

from collections.abc import AsyncIterator
from typing import Any

from services.cwrmm_connector.client.limits import SERVICE
from services.cwrmm_connector.client.paging import ticket_pages
from services.cwrmm_connector.client.transport import RmmTransport, drift

TICKETS = "/api/platform/v2/service/ticketing/tickets"
TICKET = TICKETS + "/{id}"
NOTES = "/api/platform/v1/service/ticketing/tickets/{id}/notes"
LOOKUP = "/api/platform/v1/service/ticketing/{kind}"
LOOKUP_KINDS = ("statuses", "sources", "service-boards", "priorities")
NOTE_VISIBLE_TO_ALL = 1

Doc = dict[str, Any]


def as_object(template: str, body: Any) -> Doc:
    if not isinstance(body, dict):
        raise drift(template, "expected an object", body)
    return body


def as_list(template: str, body: Any) -> list[Doc]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise drift(template, "expected a list of objects", body)
    return body


class TicketingCalls:
    t: RmmTransport
    ticket_page_size: int

    def tickets(self, query: dict[str, str]) -> AsyncIterator[list[Doc]]:
        """Pages of tickets matching `query` (filters, `sortBy`, `sortDir`)."""
        return ticket_pages(self.t, TICKETS, SERVICE, query, self.ticket_page_size)

    async def ticket(self, ticket_id: str) -> Doc:
        body, _ = await self.t.read("GET", TICKET.format(id=ticket_id), TICKET, SERVICE)
        return as_object(TICKET, body)

    async def create_ticket(self, body: Doc) -> Doc | None:
        created = await self.t.write("POST", TICKETS, TICKETS, SERVICE, body)
        return None if created is None else as_object(TICKETS, created)

    async def patch_ticket(self, ticket_id: str, operations: list[Doc]) -> Doc:
        path = TICKET.format(id=ticket_id)
        patched = await self.t.write("PATCH", path, TICKET, SERVICE, operations)
        return as_object(TICKET, patched) if patched is not None else await self.ticket(ticket_id)

    async def notes(self, ticket_id: str) -> list[Doc]:
        body, _ = await self.t.read("GET", NOTES.format(id=ticket_id), NOTES, SERVICE)
        return as_list(NOTES, body)

    async def add_note(self, ticket_id: str, detail: str) -> Doc | None:
        body = {"detail": detail, "visibility": NOTE_VISIBLE_TO_ALL}
        created = await self.t.write("POST", NOTES.format(id=ticket_id), NOTES, SERVICE, body)
        return None if created is None else as_object(NOTES, created)

    async def lookup(self, kind: str) -> list[Doc]:
        if kind not in LOOKUP_KINDS:
            raise ValueError(f"unknown ticketing lookup {kind!r}")
        body, _ = await self.t.read("GET", LOOKUP.format(kind=kind), LOOKUP, SERVICE)
        return as_list(LOOKUP, body)
