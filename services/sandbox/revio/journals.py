"""`/v1/TicketJournals`: notes on tickets, filterable by `search.ticket_id`.

[inferred] Adding a journal entry counts as a change of its ticket: the ticket's
`modified_date` moves and `ticket.updated` is sent, so pollers and webhooks see new notes.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.bodies import json_body, parse_as
from services.sandbox.revio.envelopes import created, single
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.sandbox import sandbox_of
from services.sandbox.revio.search import Searchable, search_page

router = APIRouter(prefix="/v1")
Reader = Annotated[RevioAccount, Depends(require("TicketJournals", "read"))]
Writer = Annotated[RevioAccount, Depends(require("TicketJournals", "write"))]

JOURNAL_SEARCHABLES = [
    Searchable("ticket_journal_id", "id"),
    Searchable("ticket_id", "id"),
    Searchable("created_date", "date"),
]


class JournalFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: int
    message: str = Field(min_length=1)


@router.get("/TicketJournals")
async def list_journals(request: Request, account: Reader) -> dict[str, Any]:
    rows = list(account.store.ticket_journals.rows.values())
    return search_page(request.query_params, rows, JOURNAL_SEARCHABLES, account.time_zone, dict)


@router.get("/TicketJournals/{ticket_journal_id}")
async def get_journal(request: Request, ticket_journal_id: int, account: Reader) -> dict[str, Any]:
    journal = account.store.ticket_journals.require(ticket_journal_id, "Ticket journal")
    return single(request, f"TicketJournals/{ticket_journal_id}", dict(journal))


@router.post("/TicketJournals")
async def post_journal(request: Request, account: Writer) -> JSONResponse:
    fields = parse_as(JournalFields, await json_body(request))
    ticket = account.store.tickets.get(fields.ticket_id)
    if ticket is None:
        raise RevioError(400, f"Ticket {fields.ticket_id} does not exist.")
    at = account.now()
    journal = account.store.ticket_journals.insert({**fields.model_dump(), "created_date": at})
    ticket["modified_date"] = at
    sandbox_of(request).notifier.publish(account, "ticket.updated", fields.ticket_id)
    return created(request, "TicketJournals", journal["ticket_journal_id"])
