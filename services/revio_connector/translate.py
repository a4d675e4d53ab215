"""Rev.io billing v1 JSON -> the normalized contracts of `revsync.contracts.revio`.

Tolerant where Rev.io is known to be loose: customers without a service or billing address,
`0001-01-01T00:00:00` for "no date", zone-less dates (read in the configured zone, UTC by
default). Strict where a record cannot mean anything: a record without its id, or with a
field of the wrong shape, raises a classified `VendorError` (INVALID_RESPONSE) keeping the
offending record, which the caller logs and counts instead of dropping it silently.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from revsync.contracts.revio import (
    JournalEntry,
    RevioAddress,
    RevioAsset,
    RevioCustomer,
    RevioTicket,
)

from services.revio_connector import markers
from services.revio_connector.values import (
    Record,
    custom_fields,
    drift,
    object_id,
    parse_date,
    text,
)

ROLES = ("service_address", "billing_address", "listing_address")
COUNTRIES = {235: "US", 40: "CA"}  # [inferred] Rev.io's integer country codes


def address(record: Record) -> RevioAddress:
    postal, extension = text(record, "postal_code"), text(record, "postal_code_extension")
    country = record.get("country_code")
    return RevioAddress(
        id=object_id(record, "address_id", "address"),
        company_name=text(record, "company_name"),
        first_name=text(record, "first_name"),
        last_name=text(record, "last_name"),
        line_1=text(record, "line_1"),
        line_2=text(record, "line_2"),
        city=text(record, "city"),
        state=text(record, "state_or_province"),
        postal_code=f"{postal}-{extension}" if postal and extension else postal,
        country=COUNTRIES.get(country, str(country)) if country not in (None, "") else None,
    )


def customer_name(record: Record) -> str:
    """`service_address.company_name`, else billing's, listing's, a contact, the account."""
    roles = [record.get(role) for role in ROLES]
    present = [role for role in roles if isinstance(role, dict)]
    for role in present:
        if role.get("company_name"):
            return str(role["company_name"])
    for role in present:
        person = " ".join(str(role.get(k) or "") for k in ("first_name", "last_name")).strip()
        if person:
            return person
    return str(record.get("account_number") or "")


def customer(
    record: Record, zone: ZoneInfo, extra_addresses: Iterable[Record] = ()
) -> RevioCustomer:
    """A customer with every address it has (its roles' and `extra_addresses`), by id."""
    customer_id = object_id(record, "customer_id", "customer")
    try:
        embedded = [record[r] for r in ROLES if isinstance(record.get(r), dict)]
        raw = {str(a.get("address_id")): a for a in [*embedded, *extra_addresses]}
        addresses = {a.id: a for a in map(address, raw.values())}
        finance, profile = record.get("finance") or {}, record.get("profile") or {}
        return RevioCustomer(
            id=customer_id,
            name=customer_name(record),
            status=str(record.get("status") or "OPEN").upper(),  # type: ignore[arg-type]
            email=text(record, "email"),
            customer_class=text(profile, "class"),
            bill_profile_id=text(finance, "bill_profile_id"),
            addresses=tuple(addresses[key] for key in sorted(addresses, key=int)),
            updated_at=parse_date(record.get("updated_date"), zone),
            rmm_company_id=custom_fields(record, "customer").get(markers.RMM_COMPANY_FIELD),
        )
    except (ValidationError, ValueError, TypeError, AttributeError) as error:
        raise drift("customer", record, f"customer {customer_id}: {error}") from None


def journal_entry(record: Record, zone: ZoneInfo) -> JournalEntry:
    entry_id = object_id(record, "ticket_journal_id", "ticket_journal")
    try:
        text, source_note = markers.read_note(str(record.get("message") or ""))
        return JournalEntry(
            id=entry_id,
            text=text,
            created_at=parse_date(record.get("created_date"), zone),
            written_by_revsync=source_note is not None,
        )
    except (ValidationError, ValueError) as error:
        raise drift("ticket_journal", record, f"journal {entry_id}: {error}") from None


def ticket(
    record: Record, zone: ZoneInfo, journals: Iterable[Record], type_names: Mapping[str, str]
) -> RevioTicket:
    ticket_id = object_id(record, "ticket_id", "ticket")
    try:
        fields = custom_fields(record, "ticket")
        created = _created_date(record, zone)
        updated = parse_date(record.get("modified_date"), zone) or created
        if updated is None:
            raise ValueError("neither modified_date nor created_date")
        entries = sorted((journal_entry(j, zone) for j in journals), key=lambda e: int(e.id))
        type_id = text(record, "ticket_type_id")
        status = str(record.get("status") or "")
        return RevioTicket(
            id=ticket_id,
            customer_id=text(record, "customer_id"),
            description=str(record.get("description") or ""),
            status=status,
            custom_status=text(record, "custom_status"),
            ticket_type=type_names.get(type_id, type_id) if type_id else None,
            closed=status.upper() == "CLOSED"
            or parse_date(record.get("closed_date"), zone) is not None,
            updated_at=updated,
            journal=tuple(entries),
            created_by_revsync=bool(fields.get(markers.SOURCE_KEY_FIELD)),
            rmm_ticket_id=fields.get(markers.RMM_TICKET_FIELD) or None,
            created_at=created,
        )
    except (ValidationError, ValueError, TypeError) as error:
        raise drift("ticket", record, f"ticket {ticket_id}: {error}") from None


def _created_date(record: Record, zone: ZoneInfo) -> datetime | None:
    """The ticket's creation date; None when it has none or it cannot be read (then the
    ticket is only never taken for our create's echo, see `echo.as_created`)."""
    try:
        return parse_date(record.get("created_date"), zone)
    except (ValueError, TypeError):
        return None


def asset(record: Record) -> RevioAsset:
    item_id = object_id(record, "inventory_item_id", "asset")
    try:
        return RevioAsset(
            id=item_id,
            customer_id=text(record, "customer_id"),
            identifier=str(record["identifier"]),
            asset_type_id=object_id(record, "inventory_type_id", "asset"),
            status=str(record.get("status") or ""),
            fields=custom_fields(record, "asset"),
        )
    except (ValidationError, KeyError) as error:
        raise drift("asset", record, f"inventory item {item_id}: {error!r}") from None
