"""Tickets v2: list (filters, sorting, `pageSize` + `pageNum`), create, get, PUT, PATCH."""

from fastapi import APIRouter, Request

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.rate_limits import SERVICE
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import (
    api_user,
    create_ticket,
    patch_ticket,
    replace_ticket,
)
from services.sandbox.cwrmm.ticket_query import sort_key, ticket_filter

TICKETS = "/api/platform/v2/service/ticketing/tickets"
READ = authorized("platform.tickets.read", SERVICE)
WRITE = authorized("platform.tickets.write", SERVICE)

router = APIRouter()


@router.get(TICKETS)
def list_tickets(
    request: Request,
    pageSize: int | None = None,
    pageNum: int | None = None,
    sortBy: str | None = None,
    sortDir: str | None = None,
    store: RmmStore = READ,
) -> Document:
    if (pageSize is None) != (pageNum is None):
        raise bad_request("pageSize and pageNum must be sent together")
    matches = ticket_filter(list(request.query_params.multi_items()))
    tickets = sorted(
        (t for t in store.tickets.values() if matches(t)),
        key=sort_key(sortBy),
        reverse=sortDir != "asc",
    )
    if pageSize and pageNum and pageSize > 0 and pageNum > 0:
        page = tickets[(pageNum - 1) * pageSize : pageNum * pageSize]
        # the vendor's documented quirk: a page past the end reports totalCount 0
        return {"tickets": page, "totalCount": len(tickets) if page else 0}
    return {"tickets": tickets, "totalCount": len(tickets)}


@router.post(TICKETS, status_code=201)
def create(body: JsonBody = None, store: RmmStore = WRITE) -> Document:
    return create_ticket(store, body, api_user(store))


@router.get(TICKETS + "/{id}")
def get_ticket(id: str, store: RmmStore = READ) -> Document:
    return store.ticket(id)


@router.put(TICKETS + "/{id}")
def replace(id: str, body: JsonBody = None, store: RmmStore = WRITE) -> Document:
    return replace_ticket(store, store.ticket(id), body, api_user(store))


@router.patch(TICKETS + "/{id}")
def patch(id: str, operations: JsonBody = None, store: RmmStore = WRITE) -> Document:
    return patch_ticket(store, store.ticket(id), operations, api_user(store))
