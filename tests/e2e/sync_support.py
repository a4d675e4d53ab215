"""What the company and asset e2e tests share: reading mappings, customers, companies, sites,
endpoints and assets the way a person (or the operator) would, and sync runs of any kind."""

import json
from typing import Any

from tests.e2e.stack import E2ETenant, eventually

COMPANIES = "/api/platform/v1/company/companies"
CUSTOM_FIELDS = "/api/platform/v2/device/endpoints"  # .../{endpointID}/custom-fields
RMM_FIELD_WRITE = "PUT /api/platform/v2/device/endpoints/{endpointID}/custom-fields"


def items(answer: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = answer["items"] if isinstance(answer, dict) else answer
    return found


# -- the console (operator) -------------------------------------------------------------------


async def mappings(tenant: E2ETenant, state: str | None = None) -> list[dict[str, Any]]:
    params = {"state": state} if state else {}
    return items(await tenant.console("GET", "/api/mappings", params=params))


async def mapping(tenant: E2ETenant, customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await tenant.console("GET", f"/api/mappings/{customer_id}")
    return found


async def linked(tenant: E2ETenant) -> dict[str, str]:
    """RMM company id -> Rev.io customer id of every link."""
    return {str(m["rmm_company_id"]): str(m["revio_customer_id"]) for m in await mappings(
        tenant, "linked")}  # fmt: skip


async def sync_run(tenant: E2ETenant, kind: str = "full", within_s: float = 120.0) -> dict:
    """Start a sync run through the console and wait for it to be done."""
    run = await tenant.console("POST", "/api/sync-runs", json={"kind": kind})

    async def done() -> dict[str, Any] | None:
        progress = await tenant.console("GET", f"/api/sync-runs/{run['id']}")
        assert progress["phase"] not in ("failed", "cancelled"), progress
        return progress if progress["phase"] == "done" else None

    result: dict[str, Any] = await eventually(done, within_s=within_s, every_s=0.5)
    return result


async def decisions(tenant: E2ETenant, event_type: str, entity: str) -> list[dict[str, Any]]:
    """The audit entries of one type on one stream (`company-link:12`, `asset:SN-1`)."""
    answer = await tenant.console(
        "GET", "/api/audit", params={"type": event_type, "entity": entity, "limit": 500}
    )
    return items(answer)


# -- Rev.io (a person in its UI) --------------------------------------------------------------


def revio_name(customer: dict[str, Any]) -> str:
    """A customer's name as Rev.io shows it: its service address's company name, else its
    billing address's."""
    for role in ("service_address", "billing_address"):
        address = customer.get(role)
        if isinstance(address, dict) and address.get("company_name"):
            return str(address["company_name"])
    return ""


async def customer(tenant: E2ETenant, customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await tenant.revio("GET", f"/Customers/{customer_id}")
    return found


def address(name: str, line_1: str, city: str, state: str, postal_code: str) -> dict[str, Any]:
    return {
        "company_name": name, "first_name": "Dana", "last_name": "Whitfield",
        "line_1": line_1, "city": city, "state_or_province": state, "postal_code": postal_code,
    }  # fmt: skip


async def new_customer(tenant: E2ETenant, name: str, *addresses: dict[str, Any]) -> str:
    """A customer created by a person in Rev.io (first address: service, second: billing)."""
    roles = dict(zip(("service_address", "billing_address"), addresses, strict=False))
    body = {
        "email": "dana@example.com",
        "finance": {"bill_profile_id": 1, "billing_method": "EMAIL"},
        "profile": {"class": "BUSINESS"},
        **roles,
    }
    answer = await tenant.revio("POST", "/Customers", json=body)
    return str(answer["id"])


async def rename_customer(tenant: E2ETenant, customer_id: str, name: str) -> None:
    record = await customer(tenant, customer_id)
    role = "service_address" if record.get("service_address") else "billing_address"
    patch = [{"op": "replace", "path": f"/{role}/company_name", "value": name}]
    await tenant.revio(
        "PATCH", f"/Customers/{customer_id}", content=json.dumps(patch),
        headers={"Content-Type": "application/json-patch+json"},
    )  # fmt: skip


async def assets(tenant: E2ETenant) -> list[dict[str, Any]]:
    """Every Rev.io inventory item of the tenant's account."""
    return await tenant.revio_all("/InventoryItem")


def field(record: dict[str, Any], label: str) -> str | None:
    for entry in record.get("fields") or []:
        if str(entry.get("label", "")).casefold() == label.casefold():
            return str(entry["value"])
    return None


# -- RMM (an integrator) ----------------------------------------------------------------------


async def rmm_company(tenant: E2ETenant, company_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await tenant.rmm("GET", f"{COMPANIES}/{company_id}")
    return found


async def rmm_sites(tenant: E2ETenant, company_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await tenant.rmm("GET", f"{COMPANIES}/{company_id}/sites")
    return [s for s in found if not s.get("deletedDate")]


async def rename_rmm_company(tenant: E2ETenant, company_id: str, name: str) -> None:
    await tenant.rmm(
        "PATCH", f"{COMPANIES}/{company_id}", json=[{"op": "replace", "path": "/name",
                                                     "value": name}]
    )  # fmt: skip


async def rmm_company_named(tenant: E2ETenant, name: str) -> dict[str, Any] | None:
    return next((c for c in await tenant.rmm_companies() if c["name"] == name), None)


async def field_writes(tenant: E2ETenant, endpoint_id: str | None = None) -> int:
    """RMM custom-field writes (of one endpoint, else of all) this tenant's account made."""
    prefix = f"{CUSTOM_FIELDS}/{endpoint_id}/" if endpoint_id else CUSTOM_FIELDS
    return (await tenant.vendor_calls("rmm", prefix)).get(RMM_FIELD_WRITE, 0)


async def field_calls(tenant: E2ETenant, endpoint_id: str) -> int:
    """Every RMM custom-field call (read or write) about one endpoint."""
    return sum((await tenant.vendor_calls("rmm", f"{CUSTOM_FIELDS}/{endpoint_id}/")).values())


async def sandbox_rmm(tenant: E2ETenant, method: str, path: str, **kwargs: Any) -> Any:
    """The RMM sandbox's control API for this tenant's account (`/_sandbox/rmm/accounts/<id>`)."""
    import httpx

    url = f"{tenant.stack.rmm_url}/_sandbox/rmm/accounts/{tenant.tenant.rmm.client_id}{path}"
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.request(method, url, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None


async def endpoint_details(tenant: E2ETenant, category: str) -> list[dict[str, Any]]:
    """Every endpoint of `category` with its companyID, siteID and serial number."""
    answer = await tenant.rmm(
        "POST", f"/api/platform/v2/device/categories/{category}/endpoints",
        params={"limit": 500, "field": "system"},
        json={"resourceType": "company", "resources": []},
    )  # fmt: skip
    return [
        {**endpoint, "companyID": group["companyID"], "siteID": group["siteID"],
         "serial": (endpoint.get("system") or {}).get("serialNumber")}
        for group in answer.get(category) or []
        for endpoint in group["endpoints"]
    ]  # fmt: skip


async def assets_by_endpoint(tenant: E2ETenant) -> dict[str, dict[str, Any]]:
    """Rev.io assets by the RMM endpoint id they carry."""
    return {str(field(item, "rmm_endpoint_id")): item for item in await assets(tenant)}
