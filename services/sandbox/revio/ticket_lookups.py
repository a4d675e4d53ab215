"""Ticket lookups: `/v1/TicketTypes` and `/v1/TicketStatuses` (custom statuses).

[inferred] No public reference: a type is `{ticket_type_id, name, description, active}`, a
custom status `{ticket_status_id, name, status, active}` where `status` is the base status
(OPEN, INWORK, PENDING, CLOSED) a ticket takes when it is given that custom status.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.envelopes import single
from services.sandbox.revio.search import Searchable, search_page

router = APIRouter(prefix="/v1")
TypeReader = Annotated[RevioAccount, Depends(require("TicketTypes", "read"))]
StatusReader = Annotated[RevioAccount, Depends(require("TicketStatuses", "read"))]

TYPE_SEARCHABLES = [
    Searchable("ticket_type_id", "id"),
    Searchable("name", "text"),
    Searchable("active", "bool"),
]
STATUS_SEARCHABLES = [
    Searchable("ticket_status_id", "id"),
    Searchable("name", "text"),
    Searchable("status", "exact"),
    Searchable("active", "bool"),
]


@router.get("/TicketTypes")
async def list_ticket_types(request: Request, account: TypeReader) -> dict[str, Any]:
    rows = list(account.store.ticket_types.rows.values())
    return search_page(request.query_params, rows, TYPE_SEARCHABLES, account.time_zone, dict)


@router.get("/TicketTypes/{ticket_type_id}")
async def get_ticket_type(
    request: Request, ticket_type_id: int, account: TypeReader
) -> dict[str, Any]:
    ticket_type = account.store.ticket_types.require(ticket_type_id, "Ticket type")
    return single(request, f"TicketTypes/{ticket_type_id}", dict(ticket_type))


@router.get("/TicketStatuses")
async def list_ticket_statuses(request: Request, account: StatusReader) -> dict[str, Any]:
    rows = list(account.store.ticket_statuses.rows.values())
    return search_page(request.query_params, rows, STATUS_SEARCHABLES, account.time_zone, dict)


@router.get("/TicketStatuses/{ticket_status_id}")
async def get_ticket_status(
    request: Request, ticket_status_id: int, account: StatusReader
) -> dict[str, Any]:
    status = account.store.ticket_statuses.require(ticket_status_id, "Ticket status")
    return single(request, f"TicketStatuses/{ticket_status_id}", dict(status))
