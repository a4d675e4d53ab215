"""Companies: list, create, get, and JSON-Patch update (as in newer API versions)."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from services.sandbox.cwrmm.documents import (
    ACTIVE,
    INACTIVE,
    company_document,
    company_reference,
    id_mapping,
    iso,
)
from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.patching import patched
from services.sandbox.cwrmm.rate_limits import CLIENTS
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.site_requests import site_fields
from services.sandbox.cwrmm.sites import add_site
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import api_user

PREFIX = "/api/platform/v1/company/companies"
READ = authorized("platform.companies.read", CLIENTS)
WRITE = authorized("platform.companies.write", CLIENTS)
TEXT_FIELDS = ("friendlyName", "description", "industryCode", "acquiredDate")
MAPPING_FIELDS = ("externalId", "productId", "productInstanceId")  # IdMappingCompany, required
READ_ONLY = frozenset(
    {"id", "partnerId", "createdBy", "createdDate", "updatedBy", "updatedDate", "primarySite"}
    | {"deleteTxnId", "deletedBy", "deletedDate", "account", "corpContainer"}
)

router = APIRouter()


@router.get(PREFIX)
def list_companies(store: RmmStore = READ) -> list[Document]:
    return list(store.companies.values())


@router.post(PREFIX)
def create_company(body: JsonBody = None, store: RmmStore = WRITE) -> Document:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise bad_request("name is required")
    primary_site = site_fields(body["primarySite"], True) if body.get("primarySite") else None
    fields = {key: body[key] for key in TEXT_FIELDS if isinstance(body.get(key), str)}
    _check_acquired_date(fields)
    status = body.get("activityStatus")
    inactive = isinstance(status, dict) and status.get("id") == INACTIVE["id"]
    company_id = new_id()
    company = company_document(
        company_id,
        body["name"],
        store.partner_id,
        iso(),
        activityStatus={**(INACTIVE if inactive else ACTIVE), "defaultFlag": not inactive},
        externalIds=_external_ids(body.get("externalIds"), company_id, []),
        createdBy=api_user(store)["id"],
        updatedBy=api_user(store)["id"],
        **fields,
    )
    store.companies[company["id"]] = company
    if primary_site is not None:
        add_site(store, company, {**primary_site, "primaryFlag": True})
    return company


def _external_ids(value: Any, company_id: str, known: list[Document]) -> list[Document]:
    """A company's `externalIds` from the id mappings of a request (each needs externalId,
    productId and productInstanceId as text); a mapping keeps its id if the company already
    has it (a JSON Patch carries the mappings back), else it gets a new one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("externalIds must be an array")
    known_ids = {mapping.get("id") for mapping in known}
    mappings = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in MAPPING_FIELDS
        ):
            raise bad_request("each externalIds entry needs " + ", ".join(MAPPING_FIELDS))
        kept = item.get("id")
        mapping_id = kept if isinstance(kept, str) and kept in known_ids else new_id()
        mappings.append(id_mapping(mapping_id, company_id, *(item[k] for k in MAPPING_FIELDS)))
    return mappings


def _check_acquired_date(fields: Document) -> None:
    """The spec types acquiredDate as a date-time: refuse what is not one (as the vendor's
    validation would) instead of storing and echoing it."""
    value = fields.get("acquiredDate")
    if not value:
        return
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise bad_request("acquiredDate must be an RFC 3339 date-time") from None


@router.get(PREFIX + "/{companyId}")
def get_company(companyId: str, store: RmmStore = READ) -> Document:
    return store.company(companyId)


@router.patch(PREFIX + "/{companyId}")
def patch_company(
    companyId: str,
    operations: JsonBody = None,
    store: RmmStore = WRITE,
) -> Document:
    company = store.company(companyId)
    result = patched(company, operations, READ_ONLY)
    for key in (*TEXT_FIELDS, "name"):
        if key in result and not isinstance(result[key], str):
            raise bad_request(f"{key} must be a string")
    _check_acquired_date(result)
    result["externalIds"] = _external_ids(
        result.get("externalIds"), companyId, company.get("externalIds", [])
    )
    company.clear()
    company.update(result, updatedDate=iso(), updatedBy=api_user(store)["id"])
    for site in store.sites.values():
        if site["company"]["id"] == companyId:
            site["company"] = company_reference(company)
    return company
