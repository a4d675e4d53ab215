"""Endpoints: the paginated category listing (`limit` <= 500, integer `cursor`, `Link` next)
and one endpoint's details."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from services.sandbox.cwrmm.endpoint_documents import os_type
from services.sandbox.cwrmm.endpoint_listing import (
    grouped_page,
    project,
    projection,
    selected_ids,
)
from services.sandbox.cwrmm.errors import bad_request, not_found
from services.sandbox.cwrmm.rate_limits import ASSET, ENDPOINTS
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.store import CATEGORIES, Document, RmmStore

MAX_LIMIT = 500
LIST = authorized("platform.devices.read", ENDPOINTS)
DETAIL = authorized("platform.devices.read", ASSET)
router = APIRouter()


@router.post("/api/platform/v2/device/categories/{category}/endpoints")
def list_endpoints(
    category: str,
    request: Request,
    response: Response,
    body: JsonBody = None,
    limit: int = MAX_LIMIT,
    cursor: int = 0,
    sortBy: str | None = None,
    field: str | None = None,
    filter: str | None = None,
    store: RmmStore = LIST,
) -> Document:
    if category not in (*CATEGORIES, "all"):
        raise bad_request("category must be platform, network, cloud or all")
    if not 1 <= limit <= MAX_LIMIT or cursor < 0:
        raise bad_request(f"limit must be 1..{MAX_LIMIT} and cursor a non-negative integer")
    fields = projection(field)
    ids = selected_ids(store, category, body, filter, sortBy)
    page = ids[cursor : cursor + limit]
    if cursor + limit < len(ids):
        query = request.query_params.multi_items()
        kept = [(k, v) for k, v in query if k not in ("cursor", "limit")]
        following = urlencode([*kept, ("cursor", cursor + limit), ("limit", limit)])
        response.headers["Link"] = f'<{request.url.path}?{following}>; rel="next"'
    shaped = grouped_page(store, page, fields)
    return shaped if category == "all" else {category: shaped[category]}


@router.get("/api/platform/v2/device/companies/{companyID}/sites/{siteID}/endpoints/{endpointID}")
def get_endpoint(
    companyID: str,
    siteID: str,
    endpointID: str,
    field: str | None = None,
    store: RmmStore = DETAIL,
) -> Document:
    record = store.endpoints.get(endpointID)
    if record is None or (record["companyID"], record["siteID"]) != (companyID, siteID):
        raise not_found("endpoint", endpointID)
    document = record["document"]
    return {
        "companyID": companyID,
        "siteID": siteID,
        "endpointID": endpointID,
        "clientId": companyID,
        "siteId": siteID,
        "endpointId": endpointID,
        "endpointType": document["endpointType"],
        "osType": os_type(document.get("os", {}).get("product", "")),
        record["category"]: project(document, projection(field, ("os", "system"))),
    }
