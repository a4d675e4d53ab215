"""Rev.io dates: ISO 8601 with milliseconds and no time zone, in the account's zone."""

from datetime import datetime
from zoneinfo import ZoneInfo

from services.sandbox.common import clock

EMPTY_DATE = "0001-01-01T00:00:00"
"""What Rev.io answers for a date that has no value (e.g. `closed_date` of an open ticket)."""


def revio_now(zone: ZoneInfo) -> str:
    """The sandbox clock's current instant as a zone-less Rev.io date in `zone`."""
    return format_revio_date(datetime.fromtimestamp(clock.now(), tz=zone))


def format_revio_date(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_revio_date(text: str, zone: ZoneInfo) -> datetime:
    """A zone-less date in `zone`; an aware one is converted into `zone`. Raises ValueError."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed  # the stored form: date filters parse every record's, so no copy
    return parsed.astimezone(zone).replace(tzinfo=None)
