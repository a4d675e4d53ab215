"""Builders of vendor-shaped documents (companies, sites, endpoint records)."""

from datetime import UTC, datetime
from typing import Any

from services.sandbox.common import clock
from services.sandbox.cwrmm.ids import stable_id
from services.sandbox.cwrmm.lookups import SYSTEM_USER

Document = dict[str, Any]
ACTIVE = {"id": stable_id("activity", "Active"), "name": "Active", "activeFlag": True}
INACTIVE = {"id": stable_id("activity", "Inactive"), "name": "Inactive", "activeFlag": False}
SITE_REFERENCE_FIELDS = ("id", "name", "friendlyName", "primaryAddress", "primaryFlag", "timeZone")
# The product of the id mappings the seed world gives companies: the Rev.io customer id, as
# a billing integration would have stamped it on the RMM company
REVIO_PRODUCT_ID = stable_id("product", "Rev.io")


def iso(moment: datetime | None = None) -> str:
    moment = moment or clock.now_utc()
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def company_document(
    company_id: str, name: str, partner_id: str, created: str, **fields: Any
) -> Document:
    return {
        "id": company_id,
        "name": name,
        "friendlyName": name,
        "description": "",
        "partnerId": partner_id,
        "activityStatus": {**ACTIVE, "defaultFlag": True},
        "externalIds": [],
        "createdBy": SYSTEM_USER,
        "createdDate": created,
        "updatedBy": SYSTEM_USER,
        "updatedDate": created,
        **fields,
    }


def site_document(
    site_id: str, company: Document, name: str, created: str, **fields: Any
) -> Document:
    return {
        "id": site_id,
        "name": name,
        "friendlyName": name,
        "description": "",
        "activeFlag": True,
        "primaryFlag": False,
        "partnerId": company["partnerId"],
        "company": company_reference(company),
        "timeZone": "(UTC-05:00) Eastern Time (US & Canada)",
        "externalIds": [],
        "createdBy": SYSTEM_USER,
        "createdDate": created,
        "updatedBy": SYSTEM_USER,
        "updatedDate": created,
        **fields,
    }


def company_reference(company: Document) -> Document:
    """The `company` a site document carries (CompanyAsParentReference)."""
    external_ids = [dict(mapping) for mapping in company.get("externalIds", [])]
    return {"id": company["id"], "name": company["name"], "externalIds": external_ids}


def id_mapping(
    mapping_id: str, company_id: str, external_id: str, product_id: str, instance_id: str
) -> Document:
    """One of a company's `externalIds` (CompanyIdMappingReference): the id another product
    (instance) keeps for the company."""
    return {
        "id": mapping_id,
        "companyId": company_id,
        "externalId": external_id,
        "productId": product_id,
        "productInstanceId": instance_id,
    }


def site_reference(site: Document) -> Document:
    """The `primarySite` a company document carries."""
    return {key: site[key] for key in SITE_REFERENCE_FIELDS if key in site}


def address_document(
    line_1: str, city: str, state: str, postal_code: str, country_code: str
) -> Document:
    return {
        "addressLine1": line_1,
        "locality": city,
        "administrativeArea": state,
        "postCode": postal_code,
        "countryCode": country_code,
        "country": {"US": "United States", "CA": "Canada"}.get(country_code, country_code),
        "primaryFlag": True,
    }


def endpoint_record(category: str, company_id: str, site_id: str, document: Document) -> Document:
    return {"category": category, "companyID": company_id, "siteID": site_id, "document": document}
