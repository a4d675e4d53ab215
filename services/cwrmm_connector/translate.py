"""Vendor JSON -> normalized contracts (the anti-corruption layer, inbound): companies,
sites, endpoints, and the helpers `translate_tickets` shares.

Pure functions. Anything that cannot be translated raises `Untranslatable` (a classified
INVALID_RESPONSE vendor error keeping the offending document), never a KeyError.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from revsync.contracts.rmm import EndpointCategory, RmmCompany, RmmEndpoint, RmmSite

from services.cwrmm_connector.drift import SchemaDrift

Doc = Mapping[str, Any]


class Untranslatable(SchemaDrift):
    """A vendor object that cannot become a contract (a required field missing or mistyped)."""


def required_text(doc: Doc, key: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise Untranslatable(what, f"{key} missing or not text", doc)
    return value


def optional_text(doc: Doc | None, *path: str) -> str | None:
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) and value else None


def required_path(doc: Doc, what: str, *path: str) -> str:
    value = optional_text(doc, *path)
    if value is None:
        raise Untranslatable(what, f"{'.'.join(path)} missing or not text", doc)
    return value


def moment(text: Any, what: str) -> datetime:
    if not isinstance(text, str):
        raise Untranslatable(what, "timestamp missing", text)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Untranslatable(what, f"unreadable timestamp {text!r}", text) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def site(doc: Doc) -> RmmSite:
    address = doc.get("primaryAddress") if isinstance(doc.get("primaryAddress"), Mapping) else {}
    return RmmSite(
        id=required_text(doc, "id", "site"),
        company_id=required_path(doc, "site", "company", "id"),
        name=required_text(doc, "name", "site"),
        description=optional_text(doc, "description"),
        address_line_1=optional_text(address, "addressLine1"),
        address_line_2=optional_text(address, "addressLine2"),
        city=optional_text(address, "locality"),
        state=optional_text(address, "administrativeArea"),
        postal_code=optional_text(address, "postCode"),
        country=optional_text(address, "countryCode"),
        phone=optional_text(doc, "primaryPhoneNumber", "nationalNumber"),
    )


def company(doc: Doc, sites: Iterable[RmmSite]) -> RmmCompany:
    status = doc.get("activityStatus")
    active = status.get("activeFlag") if isinstance(status, Mapping) else None
    return RmmCompany(
        id=required_text(doc, "id", "company"),
        name=required_text(doc, "name", "company"),
        active=active is not False,
        description=optional_text(doc, "description"),
        sites=tuple(sorted(sites, key=lambda s: s.id)),
        external_ids=external_ids(doc),
    )


def external_ids(doc: Doc) -> tuple[str, ...]:
    """The distinct `externalIds[].externalId` values of a company, sorted (an id is only
    ever compared, and the order does not move its content hash); entries that are not
    objects or carry no text are skipped rather than failing the whole company."""
    entries = doc.get("externalIds")
    if not isinstance(entries, list):
        return ()
    found = {(optional_text(entry, "externalId") or "").strip() for entry in entries}
    return tuple(sorted(found - {""}))


def endpoint(
    doc: Doc, category: EndpointCategory, company_id: str, site_id: str | None
) -> RmmEndpoint:
    return RmmEndpoint(
        id=required_text(doc, "endpointID", "endpoint"),
        company_id=company_id,
        site_id=site_id,
        category=category,
        hostname=optional_text(doc, "deviceName") or required_text(doc, "friendlyName", "endpoint"),
        endpoint_type=optional_text(doc, "endpointType"),
        os=optional_text(doc, "os", "product"),
        serial_number=optional_text(doc, "system", "serialNumber")
        or optional_text(doc, "bios", "serialNumber"),
    )


def endpoint_groups(page: Doc, category: str) -> Iterable[tuple[str, str | None, list[Doc]]]:
    """(company id, site id, endpoint documents) of each group of a listing page."""
    groups = page.get(category, [])
    if not isinstance(groups, list):
        raise Untranslatable("endpoint page", f"{category} is not a list", page)
    for group in groups:
        if not isinstance(group, Mapping) or not isinstance(group.get("endpoints"), list):
            raise Untranslatable("endpoint page", "group without endpoints", group)
        company_id = required_text(group, "companyID", "endpoint group")
        yield company_id, optional_text(group, "siteID"), group["endpoints"]
