"""RMM-only sandbox controls (not vendor surface): add or delete an endpoint in an account, as
an agent install or a retired machine would, or reinstall an endpoint's agent (the same machine
under a new endpoint id, in one step)."""

import copy
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from services.sandbox.common import clock
from services.sandbox.common.world import Endpoint
from services.sandbox.cwrmm.documents import endpoint_record, iso
from services.sandbox.cwrmm.endpoint_documents import endpoint_document
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.sandbox import sandbox_of
from services.sandbox.cwrmm.store import Document, RmmStore

router = APIRouter(prefix="/_sandbox/rmm", include_in_schema=False)


class NewEndpoint(BaseModel):
    company_id: str
    site_id: str
    category: Literal["platform", "network", "cloud"] = "platform"
    endpoint_type: str = "Desktop"
    hostname: str
    os: str = "Windows 11 Pro"
    serial_number: str | None = None
    ip_address: str = "10.0.0.10"
    mac_address: str = "00:00:00:00:00:01"


@router.post("/accounts/{client_id}/endpoints", status_code=201)
def add_endpoint(client_id: str, new: NewEndpoint, request: Request) -> Document:
    store = _store(request, client_id)
    site = store.sites.get(new.site_id)
    if site is None or site["company"]["id"] != new.company_id:
        raise HTTPException(404, "no such site in that company")
    endpoint = Endpoint(
        id=new_id(),
        category=new.category,
        endpoint_type=new.endpoint_type,
        hostname=new.hostname,
        os=new.os,
        serial_number=new.serial_number,
        address_index=0,
        ip_address=new.ip_address,
        mac_address=new.mac_address,
        created_at=clock.now_utc(),
    )
    document = endpoint_document(endpoint)
    store.add_endpoints([endpoint_record(new.category, new.company_id, new.site_id, document)])
    return document


@router.post("/accounts/{client_id}/endpoints/{endpoint_id}/reinstall", status_code=201)
def reinstall_endpoint(client_id: str, endpoint_id: str, request: Request) -> Document:
    """The agent is reinstalled: the endpoint is replaced by a new one (new id, created now,
    no custom field values) describing the same machine (serial number, hostname, site)."""
    store = _store(request, client_id)
    record = store.endpoints.get(endpoint_id)
    if record is None:
        raise HTTPException(404, "no such endpoint")
    now = iso(clock.now_utc())
    document = {
        **copy.deepcopy(record["document"]),
        "endpointID": new_id(),
        "createdAt": now,
        "modifiedAt": now,
    }
    store.remove_endpoint(endpoint_id)
    store.add_endpoints(
        [endpoint_record(record["category"], record["companyID"], record["siteID"], document)]
    )
    return document


@router.delete("/accounts/{client_id}/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(client_id: str, endpoint_id: str, request: Request) -> None:
    store = _store(request, client_id)
    if endpoint_id not in store.endpoints:
        raise HTTPException(404, "no such endpoint")
    store.remove_endpoint(endpoint_id)


def _store(request: Request, client_id: str) -> RmmStore:
    account = sandbox_of(request).accounts.accounts.get(client_id)
    if account is None:
        raise HTTPException(404, f"no account {client_id}")
    return account.store
