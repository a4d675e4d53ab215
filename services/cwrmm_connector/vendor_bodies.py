"""Normalized commands -> vendor request bodies (the anti-corruption layer, outbound).

Updates are RFC 6902 JSON Patch documents holding only the fields that differ from the
vendor's current document, so an update that changes nothing sends nothing.
"""

from collections.abc import Mapping
from typing import Any

from revsync.contracts.rmm import CreateRmmCompany, CreateRmmTicket, RmmSite

from services.cwrmm_connector import markers

Doc = dict[str, Any]
ADDRESS_FIELDS = {
    "address_line_1": "addressLine1",
    "address_line_2": "addressLine2",
    "city": "locality",
    "state": "administrativeArea",
    "postal_code": "postCode",
    "country": "countryCode",
}


def set_op(current: Mapping[str, Any], key: str, value: Any) -> Doc | None:
    """The patch operation setting `key` to `value`, or None when it already has it."""
    if current.get(key) == value:
        return None
    return {"op": "replace" if key in current else "add", "path": f"/{key}", "value": value}


def keep_marker(current: str | None, wanted: str | None, find: Any) -> str | None:
    """`wanted`, still carrying the revsync marker line `current` has (if `wanted` has none)."""
    marker_id = find(current)
    if wanted is None or marker_id is None or find(wanted) is not None:
        return wanted
    line = next(line.strip() for line in (current or "").splitlines() if find(line) == marker_id)
    return markers.with_line(wanted, line)


def company_create(command: CreateRmmCompany, inactive: Doc | None) -> Doc:
    body: Doc = {
        "name": command.name,
        "description": markers.with_line(
            command.description, markers.company_marker(command.revio_customer_id)
        ),
    }
    if not command.active and inactive is not None:
        body["activityStatus"] = {"id": inactive["id"]}
    return body


def company_patch(
    current: Mapping[str, Any],
    name: str | None,
    description: str | None,
    activity: Doc | None,
) -> list[Doc]:
    description = keep_marker(current.get("description"), description, markers.revio_customer_id)
    wanted = {"name": name, "description": description, "activityStatus": activity}
    ops = [set_op(current, key, value) for key, value in wanted.items() if value is not None]
    return [op for op in ops if op is not None]


def _address(site: RmmSite, current: Mapping[str, Any], default_country: str) -> Doc | None:
    """The site's address as the vendor holds it: `current` with our fields set (or removed)."""
    values = {vendor: getattr(site, ours) for ours, vendor in ADDRESS_FIELDS.items()}
    if not any(values.values()) and not current:
        return None
    merged = {k: v for k, v in current.items() if k not in values}
    merged.update({k: v for k, v in values.items() if v is not None})
    merged.setdefault("countryCode", current.get("countryCode") or default_country)
    if merged["countryCode"] != current.get("countryCode"):
        merged.pop("country", None)  # the country's display name follows its code
    return merged


def _phone(site: RmmSite, current: Mapping[str, Any], default_country: str) -> Doc | None:
    if not site.phone:
        return None
    country = site.country or default_country
    return {
        **current,
        "nationalNumber": site.phone,
        "countryCode": current.get("countryCode") or country,
    }


def site_create(site: RmmSite, revio_address_id: str, time_zone: str, country: str) -> Doc:
    body: Doc = {
        "name": site.name,
        "timeZone": time_zone,
        "description": markers.with_line(site.description, markers.site_marker(revio_address_id)),
    }
    address, phone = _address(site, {}, country), _phone(site, {}, country)
    return (
        body
        | ({"primaryAddress": address} if address else {})
        | ({"primaryPhoneNumber": phone} if phone else {})
    )


def site_patch(current: Mapping[str, Any], site: RmmSite, country: str) -> list[Doc]:
    address = current.get("primaryAddress") or {}
    phone = current.get("primaryPhoneNumber") or {}
    wanted = {
        "name": site.name,
        "description": keep_marker(
            current.get("description"), site.description, markers.revio_address_id
        ),
        "primaryAddress": _address(site, address, country),
        "primaryPhoneNumber": _phone(site, phone, country),
    }
    ops = [set_op(current, key, value) for key, value in wanted.items() if value is not None]
    return [op for op in ops if op is not None]


def ticket_create(command: CreateRmmTicket) -> Doc:
    return {
        "summary": command.summary,
        "description": markers.with_line(
            command.description, markers.ticket_marker(command.revio_ticket_id)
        ),
        "serviceBoard": {"id": command.board_id},
        "source": {"id": command.source_id},
        "company": {"id": command.company_id},
        "extendedAttributes": [
            {"name": markers.TICKET_ATTRIBUTE, "value": command.revio_ticket_id}
        ],
    }


def ticket_patch(
    current: Mapping[str, Any],
    summary: str | None,
    description: str | None,
    status: Doc | None,
) -> list[Doc]:
    description = keep_marker(current.get("description"), description, markers.revio_ticket_id)
    ops = []
    if summary is not None:
        ops.append(set_op(current, "summary", summary))
    if description is not None:
        ops.append(set_op(current, "description", description))
    current_status = current.get("status") or {}
    if status is not None and current_status.get("id") != status["id"]:
        ops.append({"op": "replace", "path": "/status", "value": status})
    return [op for op in ops if op is not None]
