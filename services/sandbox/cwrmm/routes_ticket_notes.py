"""Ticket notes: list (with the spec's visibility / createdAt filters) and create.
A new note counts as an update of its ticket: `version` +1 and `updatedAt` moves."""

from fastapi import APIRouter

from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.rate_limits import SERVICE
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import api_user, touch
from services.sandbox.cwrmm.ticket_query import ticket_filter

NOTES = "/api/platform/v1/service/ticketing/tickets/{id}/notes"
VISIBILITIES = (1, 2, 7, 8)
READ = authorized("platform.tickets.read", SERVICE)
WRITE = authorized("platform.tickets.write", SERVICE)

router = APIRouter()


@router.get(NOTES)
def list_notes(
    id: str,
    visibility: str | None = None,
    createdAtFrom: str | None = None,
    createdAtTo: str | None = None,
    store: RmmStore = READ,
) -> list[Document]:
    store.ticket(id)
    window = [("createdAtFrom", createdAtFrom), ("createdAtTo", createdAtTo)]
    in_window = ticket_filter([(key, value) for key, value in window if value])
    wanted = {v.strip() for v in (visibility or "").split(",") if v.strip()}
    return [
        note
        for note in store.notes.get(id, [])
        if in_window(note) and (not wanted or str(note["visibility"]) in wanted)
    ]


@router.post(NOTES, status_code=201)
def create_note(
    id: str,
    body: JsonBody = None,
    store: RmmStore = WRITE,
) -> Document:
    ticket = store.ticket(id)
    if not isinstance(body, dict):
        raise bad_request("note body must be a JSON object")
    detail, visibility = body.get("detail"), body.get("visibility")
    if not isinstance(detail, str) or not 1 <= len(detail) <= 12_000:
        raise bad_request("detail is required: text of 1 to 12000 characters")
    if visibility not in VISIBILITIES or isinstance(visibility, bool):
        raise bad_request(f"visibility must be one of {VISIBILITIES}")
    user, now = api_user(store)["id"], iso()
    note = {
        "id": new_id(),
        "ticketId": id,
        "detail": detail,
        "visibility": visibility,
        "extendedAttributes": body.get("extendedAttributes") or [],
        "selfCreated": True,
        "createdAt": now,
        "createdBy": user,
        "createdById": user,
        "updatedAt": now,
        "updatedBy": user,
        "updatedById": user,
    }
    store.notes.setdefault(id, []).append(note)
    touch(ticket, api_user(store))
    return note
