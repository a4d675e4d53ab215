"""Rev.io field values: ids, texts, dates, custom fields, and drift as a classified error.

[doc] Dates carry no time zone (read in the configured zone, UTC by default); [client] an
empty date can come back as `0001-01-01T00:00:00`.
"""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from revsync.vendor import VendorError, VendorErrorKind

VENDOR = "revio"
Record = dict[str, Any]


def drift(entity: str, record: Any, message: str) -> VendorError:
    payload = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS)
    return VendorError(VendorErrorKind.INVALID_RESPONSE, VENDOR, entity, message, payload=payload)


def parse_date(value: Any, zone: ZoneInfo) -> datetime | None:
    """An aware UTC datetime; None for no date (null, "", `0001-01-01...`). Raises ValueError."""
    if value is None or value == "" or str(value).startswith("0001-01-01"):
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def vendor_date(moment: datetime, zone: ZoneInfo) -> str:
    """How Rev.io writes `moment`: zone-less, in the account's zone, with milliseconds."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="milliseconds")


def object_id(record: Any, key: str, entity: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise drift(entity, record, f"record without a valid {key}")
    return str(value)


def text(record: Record, key: str) -> str | None:
    value = record.get(key)
    return None if value is None or value == "" else str(value)


def custom_fields(record: Record, entity: str) -> dict[str, str]:
    """`fields[{field_id, label, value}]` as {label: value}."""
    entries = record.get("fields") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise drift(entity, record, "fields is not a list of objects")
    return {str(e.get("label")): str(e.get("value") or "") for e in entries if e.get("label")}
