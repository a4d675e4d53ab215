"""Listing a collection: `search.<field>` filters, `search.sort`, paging, the page envelope.

Rules of the sandbox (documented in /openapi.json):
- `page_size` 1..500 (default 10) and `page` from 1 (default 1); `search.page_size` and
  `search.page` are accepted too, the plain names winning when both are sent;
- `search.<field>` matches exactly (ids, codes: case-blind), except `text` fields (such as
  `name`), which match a case-blind substring; date fields take `search.<field>_start` and
  `search.<field>_end`, both inclusive; `search.fields.<label>=<value>` matches a custom field;
- an unknown `search.` parameter is refused with 400, so a typo cannot list everything;
- `search.sort=<field>` or `-<field>` (descending); ties and the default stay in id order.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from services.sandbox.revio.customfields import field_value
from services.sandbox.revio.dates import parse_revio_date
from services.sandbox.revio.envelopes import Record, collection
from services.sandbox.revio.errors import RevioError

SearchKind = Literal["id", "exact", "text", "date", "bool", "custom_fields"]
Predicate = Callable[[Record], bool]
MAX_PAGE_SIZE = 500
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class Searchable:
    """A field clients may filter and sort on; `read` takes it from a record (default: by name).

    Kind `custom_fields` (name `fields`) enables `search.fields.<label>`.
    """

    name: str
    kind: SearchKind
    read: Callable[[Record], Any] | None = None

    def value(self, record: Record) -> Any:
        return self.read(record) if self.read else record.get(self.name)


def _integer(params: QueryParams, names: tuple[str, str], default: int, low: int, high: int) -> int:
    """The first of `names` that is sent (each sent one must be valid), else `default`."""
    values = []
    for name in names:
        raw = params.get(name)
        if raw is not None:
            if not WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
                raise RevioError(400, f"{name} must be a whole number from {low} to {high}.")
            values.append(int(raw))
    return values[0] if values else default


def _predicate(field: Searchable, suffix: str, raw: str, zone: ZoneInfo) -> Predicate:
    if field.kind == "date":
        try:
            bound = parse_revio_date(raw, zone)
        except (ValueError, OverflowError):
            raise RevioError(400, f"search.{field.name}{suffix} is not a date: {raw}") from None

        def in_range(record: Record) -> bool:
            value = field.value(record)
            if value is None:
                return False
            moment = parse_revio_date(value, zone)
            return moment >= bound if suffix == "_start" else moment <= bound

        return in_range
    if field.kind == "id":
        if not WHOLE_NUMBER.fullmatch(raw):
            raise RevioError(400, f"search.{field.name} must be a whole number.")
        number = int(raw)  # once, not per record: searches go through every record
        return lambda record: field.value(record) == number
    if field.kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise RevioError(400, f"search.{field.name} must be true or false.")
        return lambda record: field.value(record) is (raw.lower() == "true")
    wanted = raw.casefold()
    if field.kind == "text":
        return lambda record: wanted in str(field.value(record) or "").casefold()
    return lambda record: str(field.value(record)).casefold() == wanted


def _custom_field_equals(label: str, value: str) -> Predicate:
    """Whether the record's field `label` holds `value`. Every record is looked at (a
    connector looks for its marker before each create), so the records holding `value` in
    no field at all are passed over first, without folding any label's case."""

    def matches(record: Record) -> bool:
        fields = record["fields"]
        for entry in fields:
            if entry["value"] == value:
                return field_value(fields, label) == value
        return False

    return matches


def _filters(params: QueryParams, fields: dict[str, Searchable], zone: ZoneInfo) -> list[Predicate]:
    predicates: list[Predicate] = []
    for key, raw in params.items():
        if not key.startswith("search.") or key in (
            "search.page",
            "search.page_size",
            "search.sort",
        ):
            continue
        name = key.removeprefix("search.")
        custom = fields.get("fields")
        if name.startswith("fields.") and custom and custom.kind == "custom_fields":
            label = name.removeprefix("fields.")
            predicates.append(_custom_field_equals(label, raw))
            continue
        base, _, suffix = name.rpartition("_")
        if suffix in ("start", "end") and base in fields and fields[base].kind == "date":
            predicates.append(_predicate(fields[base], f"_{suffix}", raw, zone))
        elif name in fields and fields[name].kind not in ("date", "custom_fields"):
            predicates.append(_predicate(fields[name], "", raw, zone))
        else:
            raise RevioError(400, f"Unknown search parameter: {key}")
    return predicates


def _sort_key(field: Searchable) -> Callable[[Record], tuple[bool, Any]]:
    def key(record: Record) -> tuple[bool, Any]:
        value = field.value(record)
        return (value is None, value.casefold() if isinstance(value, str) else value)

    return key


def search_page(
    params: QueryParams,
    rows: list[Record],
    fields: list[Searchable],
    zone: ZoneInfo,
    view: Callable[[Record], Record],
) -> Record:
    """The requested page of `rows` (in id order) as a Rev.io collection envelope."""
    page = _integer(params, ("page", "search.page"), 1, 1, 10**9)
    page_size = _integer(params, ("page_size", "search.page_size"), 10, 1, MAX_PAGE_SIZE)
    by_name = {field.name: field for field in fields}
    predicates = _filters(params, by_name, zone)
    matched = list(rows)
    for predicate in predicates:  # each narrows the last: no per-record loop over them
        matched = list(filter(predicate, matched))
    sort = params.get("search.sort")
    if sort:
        field = by_name.get(sort.removeprefix("-"))
        if field is None or field.kind == "custom_fields":
            raise RevioError(400, f"Cannot sort by {sort.removeprefix('-')}.")
        matched.sort(key=_sort_key(field), reverse=sort.startswith("-"))
    start = (page - 1) * page_size
    return collection(
        [view(row) for row in matched[start : start + page_size]],
        has_more=len(matched) > start + page_size,
    )
