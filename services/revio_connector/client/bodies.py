"""Request bodies and JSON Patch operations for Rev.io writes (vendor field names)."""

from typing import Any

from revsync.contracts.revio import RevioAddress
from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector import translate
from services.revio_connector.client.http import VENDOR
from services.revio_connector.translate import COUNTRIES

Record = dict[str, Any]
COUNTRY_CODES = {name: code for code, name in COUNTRIES.items()}
PRIORITIES = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
PRIORITIES |= {"info": "LOW"}
TICKET_STATUSES = ("OPEN", "INWORK", "PENDING", "CLOSED")


def numeric(value: str, what: str) -> int:
    """A Rev.io id from a command; a value that cannot be one is refused, not sent."""
    if not str(value).isdigit():
        raise VendorError(
            VendorErrorKind.REJECTED, VENDOR, what, f"{what} {value!r} is not a Rev.io id"
        )
    return int(value)


def address_fields(address: RevioAddress | None) -> Record:
    if address is None:
        return {}
    values: Record = {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "line_1": address.line_1,
        "line_2": address.line_2,
        "city": address.city,
        "state_or_province": address.state,
        "postal_code": address.postal_code,
    }
    country = address.country
    if country and (country.upper() in COUNTRY_CODES or country.isdigit()):
        values["country_code"] = COUNTRY_CODES.get(country.upper()) or int(country)
    return {name: value for name, value in values.items() if value is not None}


def with_field(fields: Any, label: str, value: str) -> list[Record]:
    """A record's custom fields with `label` set to `value` (added when missing)."""
    entries = [dict(e) for e in fields or [] if isinstance(e, dict)]
    for entry in entries:
        if str(entry.get("label", "")).casefold() == label.casefold():
            entry["value"] = value
            return entries
    return [*entries, {"label": label, "value": value}]


def replace(path: str, value: Any) -> Record:
    return {"op": "replace", "path": path, "value": value}


def replacements(current: Record, wanted: Record, prefix: str = "") -> list[Record]:
    """`replace` operations for the values of `wanted` that differ from `current`."""
    return [
        replace(f"{prefix}/{name}", value)
        for name, value in wanted.items()
        if current.get(name) != value
    ]


def role_patch(record: Record, name: str | None, address: RevioAddress | None) -> list[Record]:
    """Set the customer's name and address on its service address (else billing's)."""
    wanted = address_fields(address) | ({"company_name": name} if name is not None else {})
    if not wanted:
        return []
    for role in ("service_address", "billing_address"):
        if isinstance(record.get(role), dict):
            return replacements(record[role], wanted, f"/{role}")
    return [{"op": "add", "path": "/service_address", "value": wanted}]


def _written_role(record: Record) -> Record | None:
    """The address role `role_patch` writes to: the service address, else billing's."""
    return next(
        (
            record[r]
            for r in ("service_address", "billing_address")
            if isinstance(record.get(r), dict)
        ),
        None,
    )


def held_values(record: Record) -> dict[str, str | None]:
    """What a customer record holds for the fields `UpdateRevioCustomer.expected` names:
    `name` and the `RevioAddress` fields of the address `role_patch` writes to, read as the
    watchers read them (`translate`), so they compare with what the sender observed."""
    values: dict[str, str | None] = {"name": translate.customer_name(record)}
    role = _written_role(record)
    if role is not None:
        address = translate.address({**role, "address_id": 0}).model_dump()  # id: unused
        values |= {f: v for f, v in address.items() if f not in ("id", "company_name")}
    return values


def stale_fields(
    expected: dict[str, str | None], held: dict[str, str | None], wanted: dict[str, str | None]
) -> list[tuple[str, str | None, str | None]]:
    """(field, expected, held) of each field whose value changed since the sender read it:
    it holds neither what the sender expected nor what it wants written (pure)."""
    return [
        (field, value, held.get(field))
        for field, value in sorted(expected.items())
        if held.get(field) not in (value, wanted.get(field, value))
    ]


def conflict(customer_id: str, stale: list[tuple[str, str | None, str | None]]) -> VendorError:
    fields = "; ".join(
        f"{field} is {held!r} in Rev.io, expected {value!r}" for field, value, held in stale
    )
    message = f"customer {customer_id} changed since revsync read it ({fields}); nothing written"
    return VendorError(VendorErrorKind.CONFLICT, VENDOR, "Customers/{id}", message)


def priority(value: str | None) -> str | None:
    return PRIORITIES.get(value.casefold()) if value else None


def ticket_status(value: str) -> str:
    status = value.strip().upper().replace(" ", "").replace("_", "")
    if status not in TICKET_STATUSES:
        raise VendorError(
            VendorErrorKind.REJECTED, VENDOR, "Tickets", f"unknown ticket status {value!r}"
        )
    return status
