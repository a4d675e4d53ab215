"""`/v1/Tickets`: list with filters, read, create, JSON-Patch update; webhooks on change.

[notes unclear] Tickets filter on `search.modified_date_start`/`_end` and, as an alias of the
same date, `search.updated_date_start`/`_end`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.bodies import json_body, json_patch, parse_as, patched
from services.sandbox.revio.envelopes import created, single
from services.sandbox.revio.sandbox import sandbox_of
from services.sandbox.revio.search import Searchable, search_page
from services.sandbox.revio.ticket_records import (
    READ_ONLY,
    TicketFields,
    create_ticket,
    ticket_view,
    update_ticket,
)

router = APIRouter(prefix="/v1")
Reader = Annotated[RevioAccount, Depends(require("Tickets", "read"))]
Writer = Annotated[RevioAccount, Depends(require("Tickets", "write"))]

TICKET_SEARCHABLES = [
    Searchable("ticket_id", "id"),
    Searchable("customer_id", "id"),
    Searchable("status", "exact"),
    Searchable("custom_status", "exact"),
    Searchable("ticket_type_id", "id"),
    Searchable("priority", "exact"),
    Searchable("assigned_user_id", "id"),
    Searchable("assigned_group_id", "id"),
    Searchable("created_date", "date"),
    Searchable("modified_date", "date"),
    Searchable("updated_date", "date", read=lambda record: record["modified_date"]),
    Searchable("closed_date", "date"),
    Searchable("fields", "custom_fields"),
]


@router.get("/Tickets")
async def list_tickets(request: Request, account: Reader) -> dict[str, Any]:
    rows = list(account.store.tickets.rows.values())
    return search_page(
        request.query_params, rows, TICKET_SEARCHABLES, account.time_zone, ticket_view
    )


@router.get("/Tickets/{ticket_id}")
async def get_ticket(request: Request, ticket_id: int, account: Reader) -> dict[str, Any]:
    record = account.store.tickets.require(ticket_id, "Ticket")
    return single(request, f"Tickets/{ticket_id}", ticket_view(record))


@router.post("/Tickets")
async def post_ticket(request: Request, account: Writer) -> JSONResponse:
    fields = parse_as(TicketFields, await json_body(request))
    ticket_id = create_ticket(account.store, fields, account.now())
    sandbox_of(request).notifier.publish(account, "ticket.created", ticket_id)
    return created(request, "Tickets", ticket_id)


@router.patch("/Tickets/{ticket_id}")
async def patch_ticket(request: Request, ticket_id: int, account: Writer) -> dict[str, Any]:
    record = account.store.tickets.require(ticket_id, "Ticket")
    patch = await json_patch(request)
    fields = parse_as(TicketFields, patched(patch, ticket_view(record), READ_ONLY))
    if update_ticket(account.store, record, fields, account.now()):
        sandbox_of(request).notifier.publish(account, "ticket.updated", ticket_id)
    return single(request, f"Tickets/{ticket_id}", ticket_view(record))
