"""`/v1/Addresses`: every address of the account, each with its `customer_id` (read-only API)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.envelopes import single
from services.sandbox.revio.search import Searchable, search_page

router = APIRouter(prefix="/v1")
Reader = Annotated[RevioAccount, Depends(require("Addresses", "read"))]

ADDRESS_SEARCHABLES = [
    Searchable("address_id", "id"),
    Searchable("customer_id", "id"),
    Searchable("company_name", "text"),
    Searchable("city", "text"),
    Searchable("state_or_province", "exact"),
    Searchable("postal_code", "exact"),
    Searchable("country_code", "id"),
]


@router.get("/Addresses")
async def list_addresses(request: Request, account: Reader) -> dict[str, Any]:
    rows = list(account.store.addresses.rows.values())
    return search_page(request.query_params, rows, ADDRESS_SEARCHABLES, account.time_zone, dict)


@router.get("/Addresses/{address_id}")
async def get_address(request: Request, address_id: int, account: Reader) -> dict[str, Any]:
    address = account.store.addresses.require(address_id, "Address")
    return single(request, f"Addresses/{address_id}", dict(address))
