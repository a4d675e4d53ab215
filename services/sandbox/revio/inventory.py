"""`/v1/InventoryTypes` and `/v1/InventoryItem` (singular path): assets are inventory items.

[inferred] Item `status` is ACTIVE, INACTIVE or RETIRED; an item needs an ACTIVE type.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.bodies import json_body, json_patch, parse_as, patched
from services.sandbox.revio.customfields import CustomFieldValue, resolve_fields
from services.sandbox.revio.envelopes import created, single
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.search import Searchable, search_page
from services.sandbox.revio.store import Record, RevioStore

router = APIRouter(prefix="/v1")
TypeReader = Annotated[RevioAccount, Depends(require("InventoryTypes", "read"))]
ItemReader = Annotated[RevioAccount, Depends(require("InventoryItem", "read"))]
ItemWriter = Annotated[RevioAccount, Depends(require("InventoryItem", "write"))]

TYPE_SEARCHABLES = [
    Searchable("inventory_type_id", "id"),
    Searchable("category", "exact"),
    Searchable("name", "text"),
    Searchable("status", "exact"),
]
ITEM_SEARCHABLES = [
    Searchable("inventory_item_id", "id"),
    Searchable("inventory_type_id", "id"),
    Searchable("identifier", "exact"),
    Searchable("customer_id", "id"),
    Searchable("status", "exact"),
    Searchable("fields", "custom_fields"),
]


class InventoryItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inventory_type_id: int
    identifier: str = Field(min_length=1)
    customer_id: int | None = None
    status: Literal["ACTIVE", "INACTIVE", "RETIRED"] = "ACTIVE"
    note: str = ""
    fields: list[CustomFieldValue] = Field(default_factory=list)


def item_view(record: Record) -> Record:
    return {**record, "fields": [dict(entry) for entry in record["fields"]]}


def _item_values(store: RevioStore, fields: InventoryItemFields, existing: Record | None) -> Record:
    if existing is None or existing["inventory_type_id"] != fields.inventory_type_id:
        item_type = store.inventory_types.get(fields.inventory_type_id)
        if item_type is None or item_type["status"] != "ACTIVE":
            raise RevioError(400, f"Inventory type {fields.inventory_type_id} is not available.")
    customer_id = fields.customer_id
    if customer_id is not None and customer_id not in store.customers.rows:
        if existing is None or existing["customer_id"] != customer_id:
            raise RevioError(400, f"Customer {customer_id} does not exist.")
    values = fields.model_dump(exclude={"fields"})
    return values | {"fields": resolve_fields(store.custom_fields, fields.fields)}


@router.get("/InventoryTypes")
async def list_inventory_types(request: Request, account: TypeReader) -> dict[str, Any]:
    rows = list(account.store.inventory_types.rows.values())
    return search_page(request.query_params, rows, TYPE_SEARCHABLES, account.time_zone, dict)


@router.get("/InventoryTypes/{inventory_type_id}")
async def get_inventory_type(
    request: Request, inventory_type_id: int, account: TypeReader
) -> dict[str, Any]:
    item_type = account.store.inventory_types.require(inventory_type_id, "Inventory type")
    return single(request, f"InventoryTypes/{inventory_type_id}", dict(item_type))


@router.get("/InventoryItem")
async def list_inventory_items(request: Request, account: ItemReader) -> dict[str, Any]:
    items = account.store.inventory_items
    identifier = request.query_params.get("search.identifier")
    # the lookup by identifier before each create goes through the index, not every item
    rows = items.matching("identifier", identifier) if identifier else list(items.rows.values())
    return search_page(request.query_params, rows, ITEM_SEARCHABLES, account.time_zone, item_view)


@router.get("/InventoryItem/{inventory_item_id}")
async def get_inventory_item(
    request: Request, inventory_item_id: int, account: ItemReader
) -> dict[str, Any]:
    item = account.store.inventory_items.require(inventory_item_id, "Inventory item")
    return single(request, f"InventoryItem/{inventory_item_id}", item_view(item))


@router.post("/InventoryItem")
async def post_inventory_item(request: Request, account: ItemWriter) -> JSONResponse:
    fields = parse_as(InventoryItemFields, await json_body(request))
    item = account.store.inventory_items.insert(_item_values(account.store, fields, None))
    return created(request, "InventoryItem", item["inventory_item_id"])


@router.patch("/InventoryItem/{inventory_item_id}")
async def patch_inventory_item(
    request: Request, inventory_item_id: int, account: ItemWriter
) -> dict[str, Any]:
    item = account.store.inventory_items.require(inventory_item_id, "Inventory item")
    patch = await json_patch(request)
    document = patched(patch, item_view(item), ("inventory_item_id",))
    item |= _item_values(account.store, parse_as(InventoryItemFields, document), item)
    account.store.inventory_items.reindexed(item)
    return single(request, f"InventoryItem/{inventory_item_id}", item_view(item))
