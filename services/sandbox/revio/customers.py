"""`/v1/Customers`: list with filters, read, create, JSON-Patch update; webhooks on change."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.bodies import json_body, json_patch, parse_as, patched
from services.sandbox.revio.customer_records import (
    READ_ONLY,
    CustomerFields,
    create_customer,
    customer_name,
    customer_view,
    update_customer,
)
from services.sandbox.revio.envelopes import created, single
from services.sandbox.revio.sandbox import sandbox_of
from services.sandbox.revio.search import Searchable, search_page
from services.sandbox.revio.store import RevioStore

router = APIRouter(prefix="/v1")
Reader = Annotated[RevioAccount, Depends(require("Customers", "read"))]
Writer = Annotated[RevioAccount, Depends(require("Customers", "write"))]


def customer_searchables(store: RevioStore) -> list[Searchable]:
    return [
        Searchable("customer_id", "id"),
        Searchable("parent_customer_id", "id"),
        Searchable("account_number", "exact"),
        Searchable("status", "exact"),
        Searchable("email", "exact"),
        Searchable("name", "text", read=lambda record: customer_name(store, record)),
        Searchable("created_date", "date"),
        Searchable("updated_date", "date"),
        Searchable("fields", "custom_fields"),
    ]


@router.get("/Customers")
async def list_customers(request: Request, account: Reader) -> dict[str, Any]:
    store = account.store
    return search_page(
        request.query_params,
        list(store.customers.rows.values()),
        customer_searchables(store),
        account.time_zone,
        lambda record: customer_view(store, record),
    )


@router.get("/Customers/{customer_id}")
async def get_customer(request: Request, customer_id: int, account: Reader) -> dict[str, Any]:
    record = account.store.customers.require(customer_id, "Customer")
    return single(request, f"Customers/{customer_id}", customer_view(account.store, record))


@router.post("/Customers")
async def post_customer(request: Request, account: Writer) -> JSONResponse:
    fields = parse_as(CustomerFields, await json_body(request))
    customer_id = create_customer(account.store, fields, account.now())
    sandbox_of(request).notifier.publish(account, "customer.created", customer_id)
    return created(request, "Customers", customer_id)


@router.patch("/Customers/{customer_id}")
async def patch_customer(request: Request, customer_id: int, account: Writer) -> dict[str, Any]:
    store = account.store
    record = store.customers.require(customer_id, "Customer")
    patch = await json_patch(request)
    fields = parse_as(CustomerFields, patched(patch, customer_view(store, record), READ_ONLY))
    if update_customer(store, record, fields, account.now()):
        sandbox_of(request).notifier.publish(account, "customer.updated", customer_id)
    return single(request, f"Customers/{customer_id}", customer_view(store, record))
