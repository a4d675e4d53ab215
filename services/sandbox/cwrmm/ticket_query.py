"""Ticket list filters, as the spec describes them: each filter parameter may carry a numeric
suffix; parameters sharing a suffix form a group whose criteria are ANDed, and the groups are
ORed. List filters take comma-separated values, `[notIn],` first to negate."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.store import Document

Criterion = Callable[[Document], bool]
NOT_IN = "[notIn]"
PARAMETER = re.compile(r"^([A-Za-z]+?)(\d*)$")
# list filter -> (ticket field, key inside it)
LIST_FILTERS = {
    "ticketIds": ("id", None),
    "companyIds": ("company", "id"),
    "siteIds": ("site", "id"),
    "statusIds": ("status", "id"),
    "statusNames": ("status", "name"),
    "priorityIds": ("priority", "id"),
    "priorityNames": ("priority", "name"),
    "sourceIds": ("source", "id"),
    "sourceNames": ("source", "name"),
    "typeIds": ("type", "id"),
    "typeNames": ("type", "name"),
}
TIME_FILTERS = {"createdAt", "updatedAt"}


def ticket_filter(params: list[tuple[str, str]]) -> Criterion:
    groups: dict[str, list[Criterion]] = {}
    for key, value in params:
        match = PARAMETER.match(key)
        criterion = _criterion(match.group(1), value) if match else None
        if match and criterion:
            groups.setdefault(match.group(2), []).append(criterion)
    if not groups:
        return lambda ticket: True
    return lambda ticket: any(all(c(ticket) for c in group) for group in groups.values())


def _criterion(name: str, value: str) -> Criterion | None:
    if name in LIST_FILTERS:
        field, key = LIST_FILTERS[name]
        negate = value.startswith(NOT_IN)
        wanted = {v.strip() for v in value.removeprefix(NOT_IN).split(",") if v.strip()}
        return lambda t: (_field(t, field, key) in wanted) != negate
    if name == "number":
        return lambda t: t["number"] == value.strip()
    if name == "summary":
        return lambda t: value.lower() in t["summary"].lower()
    field = name.removesuffix("From").removesuffix("To")
    if field in TIME_FILTERS and field != name:
        if name.endswith("From"):
            since = _moment(value, end_of_day=False)
            return lambda t: _moment(t[field], False) >= since
        until = _moment(value, end_of_day=True)
        return lambda t: _moment(t[field], False) <= until
    return None


def _field(ticket: Document, field: str, key: str | None) -> Any:
    value = ticket.get(field)
    return value.get(key) if key and isinstance(value, dict) else value


def _moment(text: str, end_of_day: bool) -> datetime:
    """'2019-01-31' (end of that day for `To`), '2019-01-31T15:01:02', or RFC 3339."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as error:
        raise bad_request(f"cannot read {text!r} as a date or date-time") from error
    if end_of_day and len(text.strip()) == 10:
        moment = datetime.combine(moment.date(), time(23, 59, 59))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sort_key(sort_by: str | None) -> Callable[[Document], Any]:
    """Supported: number, createdAt (the default), updatedAt, summary, dueDate, and the names of
    status, type, priority and source."""
    if sort_by == "number":
        return lambda t: int(t["number"])
    if sort_by in ("updatedAt", "summary", "dueDate"):
        return lambda t: t.get(sort_by) or ""
    if sort_by in ("status", "type", "priority", "source"):
        return lambda t: (t.get(sort_by) or {}).get("name", "")
    return lambda t: t["createdAt"]
