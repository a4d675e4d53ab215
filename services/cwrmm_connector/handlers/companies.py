"""Companies and sites: create (found by its marker first) and update (JSON Patch of what
differs). Results name the ids: {"company_id"} and {"company_id", "site_id"}."""

from typing import Any

import asyncpg
from revsync.contracts.rmm import (
    CreateRmmCompany,
    CreateRmmSite,
    RmmSite,
    UpdateRmmCompany,
    UpdateRmmSite,
)

from services.cwrmm_connector import markers, translate, vendor_bodies
from services.cwrmm_connector.handlers.common import (
    Doc,
    create_marked,
    not_found,
    object_id,
    record,
    reject,
    written_anyway,
)
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import TenantHandle


def activity_status(companies: list[Doc], active: bool) -> Doc | None:
    """An activity status with the wanted flag, as the account's companies carry it (the API
    has no lookup of them)."""
    for company in companies:
        status = company.get("activityStatus")
        if isinstance(status, dict) and status.get("id") and status.get("activeFlag") is active:
            return {k: v for k, v in status.items() if k != "defaultFlag"}
    return None


async def _record_company(
    handle: TenantHandle, company: Doc, conn: asyncpg.Connection, sites: Any = None
) -> str:
    company_id = object_id(company, "company")
    site_docs = sites if sites is not None else await handle.client.company_sites(company_id)
    with written_anyway(handle, "company", company_id):
        model = translate.company(company, [translate.site(s) for s in site_docs])
        await record(handle, "company", company_id, model, conn)
    return company_id


async def create_company(
    handle: TenantHandle, command: CreateRmmCompany, conn: asyncpg.Connection
) -> dict[str, str]:
    listed: list[Doc] = []

    async def find() -> Doc | None:
        listed[:] = await handle.client.companies()
        wanted = command.revio_customer_id
        return next(
            (c for c in listed if markers.revio_customer_id(c.get("description")) == wanted), None
        )

    async def post() -> Doc | None:
        inactive = None if command.active else activity_status(listed, False)
        return await handle.client.create_company(vendor_bodies.company_create(command, inactive))

    company, _ = await create_marked("company", find, post)
    return {"company_id": await _record_company(handle, company, conn)}


async def update_company(
    handle: TenantHandle, command: UpdateRmmCompany, conn: asyncpg.Connection
) -> dict[str, str]:
    current = await handle.client.company(command.company_id)
    activity = None
    current_active = (current.get("activityStatus") or {}).get("activeFlag") is not False
    if command.active is not None and command.active != current_active:
        activity = activity_status(await handle.client.companies(), command.active)
        if activity is None:
            raise reject("company", f"no activity status with activeFlag={command.active} known")
    ops = vendor_bodies.company_patch(current, command.name, command.description, activity)
    company = await handle.client.patch_company(command.company_id, ops) if ops else current
    return {"company_id": await _record_company(handle, company, conn)}


def _site_with_marker(sites: list[Doc], revio_address_id: str) -> Doc | None:
    return next(
        (s for s in sites if markers.revio_address_id(s.get("description")) == revio_address_id),
        None,
    )


async def create_site(
    handle: TenantHandle, command: CreateRmmSite, conn: asyncpg.Connection, s: ConnectorSettings
) -> dict[str, str]:
    before: list[Doc] = []

    async def find() -> Doc | None:
        before[:] = await handle.client.company_sites(command.company_id)
        return _site_with_marker(before, command.revio_address_id)

    async def post() -> Doc | None:
        body = vendor_bodies.site_create(
            command.site, command.revio_address_id, s.rmm_site_time_zone, s.rmm_default_country_code
        )
        return await handle.client.create_site(command.company_id, body)

    site, _ = await create_marked("site", find, post)
    site_id = object_id(site, "site")
    sites = [other for other in before if other.get("id") != site_id] + [site]
    company = await handle.client.company(command.company_id)
    await _record_company(handle, company, conn, sites)
    return {"company_id": command.company_id, "site_id": site_id}


async def update_site(
    handle: TenantHandle, command: UpdateRmmSite, conn: asyncpg.Connection, s: ConnectorSettings
) -> dict[str, str]:
    wanted: RmmSite = command.site
    sites = await handle.client.company_sites(wanted.company_id)
    current = next((site for site in sites if site.get("id") == wanted.id), None)
    if current is None:
        raise not_found("site", f"site {wanted.id} is not a site of company {wanted.company_id}")
    ops = vendor_bodies.site_patch(current, wanted, s.rmm_default_country_code)
    if ops:
        patched = await handle.client.patch_site(wanted.company_id, wanted.id, ops)
        if patched is None:
            sites = await handle.client.company_sites(wanted.company_id)
        else:
            sites = [patched if site.get("id") == wanted.id else site for site in sites]
    company = await handle.client.company(wanted.company_id)
    await _record_company(handle, company, conn, sites)
    return {"company_id": wanted.company_id, "site_id": wanted.id}
