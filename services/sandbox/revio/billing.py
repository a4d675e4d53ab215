"""Billing lookups and customer notes: `/v1/BillProfiles`, `/v1/Notes`."""

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
from services.sandbox.revio.search import Searchable, search_page

router = APIRouter(prefix="/v1")
ProfileReader = Annotated[RevioAccount, Depends(require("BillProfiles", "read"))]
NoteReader = Annotated[RevioAccount, Depends(require("Notes", "read"))]
NoteWriter = Annotated[RevioAccount, Depends(require("Notes", "write"))]

BILL_PROFILE_SEARCHABLES = [
    Searchable("bill_profile_id", "id"),
    Searchable("description", "text"),
    Searchable("active", "bool"),
]
NOTE_SEARCHABLES = [
    Searchable("note_id", "id"),
    Searchable("customer_id", "id"),
    Searchable("created_date", "date"),
]


class NoteFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int
    body: str = Field(min_length=1)


@router.get("/BillProfiles")
async def list_bill_profiles(request: Request, account: ProfileReader) -> dict[str, Any]:
    rows = list(account.store.bill_profiles.rows.values())
    return search_page(
        request.query_params, rows, BILL_PROFILE_SEARCHABLES, account.time_zone, dict
    )


@router.get("/BillProfiles/{bill_profile_id}")
async def get_bill_profile(
    request: Request, bill_profile_id: int, account: ProfileReader
) -> dict[str, Any]:
    profile = account.store.bill_profiles.require(bill_profile_id, "Bill profile")
    return single(request, f"BillProfiles/{bill_profile_id}", dict(profile))


@router.get("/Notes")
async def list_notes(request: Request, account: NoteReader) -> dict[str, Any]:
    rows = list(account.store.notes.rows.values())
    return search_page(request.query_params, rows, NOTE_SEARCHABLES, account.time_zone, dict)


@router.get("/Notes/{note_id}")
async def get_note(request: Request, note_id: int, account: NoteReader) -> dict[str, Any]:
    note = account.store.notes.require(note_id, "Note")
    return single(request, f"Notes/{note_id}", dict(note))


@router.post("/Notes")
async def post_note(request: Request, account: NoteWriter) -> JSONResponse:
    fields = parse_as(NoteFields, await json_body(request))
    if fields.customer_id not in account.store.customers.rows:
        raise RevioError(400, f"Customer {fields.customer_id} does not exist.")
    note = account.store.notes.insert({**fields.model_dump(), "created_date": account.now()})
    return created(request, "Notes", note["note_id"])
