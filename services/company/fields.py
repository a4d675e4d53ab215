"""Field sync between a linked customer and company, one field at a time (pure).

Each synced field has a value on the Rev.io side, a value on the RMM side and a baseline:
both values as they were when the field was last in sync. Comparing each side with its
baseline tells who changed it:

| Rev.io changed | RMM changed | outcome                                                   |
|----------------|-------------|-----------------------------------------------------------|
| -              | -           | nothing                                                   |
| (both now equal)             | baseline moves, nothing sent                              |
| yes            | no          | push to RMM (`revio_changed`)                             |
| yes            | yes         | push to RMM (`conflict_revio_wins`): Rev.io wins          |
| no             | yes         | push to Rev.io if inbound sync is on for this field       |
|                |             | (`rmm_to_revio_sync`), else RMM follows Rev.io again      |
|                |             | (`rmm_to_revio_sync_off`, `one_way_field`)                |
| no baseline (just linked), values differ | push to RMM (`revio_authoritative_on_link`) |
"""

from dataclasses import dataclass
from typing import Any, Literal

from revsync.contracts.revio import RevioAddress
from revsync.contracts.rmm import RmmSite

from services.company.naming import normalize_name, revio_address_id_in
from services.company.state import Baseline

Action = Literal["none", "baseline", "push_rmm", "push_revio"]
UNREADABLE_IN_REVIO = ("description",)  # written to a custom field, read as something else
SITE_FIELDS = ("address_line_1", "address_line_2", "city", "state", "postal_code", "country")


@dataclass(frozen=True)
class FieldSync:
    action: Action
    rule: str | None = None
    conflict: bool = False


def sync_field(
    revio: Any, rmm: Any, baseline: Baseline | None, inbound: bool, one_way: bool = False
) -> FieldSync:
    """What to do with one field (see the module's table). `inbound`: RMM -> Rev.io sync
    is on; `one_way`: the field never flows back (e.g. active status)."""
    if baseline is None:
        if revio == rmm:
            return FieldSync("baseline", "both_sides_agree")
        return FieldSync("push_rmm", "revio_authoritative_on_link")
    revio_changed, rmm_changed = revio != baseline.get("revio"), rmm != baseline.get("rmm")
    if not revio_changed and not rmm_changed:
        return FieldSync("none")
    if revio == rmm:
        return FieldSync("baseline", "both_sides_agree")
    if revio_changed and rmm_changed:
        return FieldSync("push_rmm", "conflict_revio_wins", conflict=True)
    if revio_changed:
        return FieldSync("push_rmm", "revio_changed")
    if one_way:
        return FieldSync("push_rmm", "one_way_field")
    if inbound:
        return FieldSync("push_revio", "rmm_to_revio_sync")
    return FieldSync("push_rmm", "rmm_to_revio_sync_off")


def expected_in_revio(changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What revsync believes Rev.io holds for the fields a write changes (`was`), sent with
    the write so that Rev.io's connector refuses it when a person changed them meanwhile
    (else the write would overwrite the newer Rev.io edit, which must win). The description
    is left out: revsync cannot read back what it writes there."""
    return {f: c["was"] for f, c in changes.items() if f not in UNREADABLE_IN_REVIO}


@dataclass(frozen=True)
class Seen:
    """A side's value as the sync rules see it while revsync's own write to it is in flight."""

    value: Any
    concurrent_edit: bool = False  # the side shows neither what revsync wrote nor what it replaced


def through_write(observed: Any, write: dict[str, Any] | None) -> Seen:
    """An observation taken before revsync's write landed still shows the old value: count
    the write as done. One that shows a third value was edited meanwhile: a conflict."""
    if write is None or observed == write["value"]:
        return Seen(observed)
    if observed == write["was"]:
        return Seen(write["value"])
    return Seen(observed, concurrent_edit=True)


def through_writes(observed: dict[str, Any], writes: dict[str, dict[str, Any]]) -> Seen:
    """`through_write` for each field of a multi-field value (a site's address)."""
    value, conflict = dict(observed), False
    for field, write in writes.items():
        seen = through_write(observed.get(field), write)
        value[field] = seen.value
        conflict = conflict or seen.concurrent_edit
    return Seen(value, conflict)


def site_values_of_address(address: RevioAddress) -> dict[str, str | None]:
    return {
        "address_line_1": address.line_1,
        "address_line_2": address.line_2,
        "city": address.city,
        "state": address.state,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def site_values(site: RmmSite) -> dict[str, str | None]:
    return {field: getattr(site, field) for field in SITE_FIELDS}


ADDRESS_FIELD_OF_SITE = {
    "address_line_1": "line_1",
    "address_line_2": "line_2",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
}
SITE_FIELD_OF_ADDRESS = {v: k for k, v in ADDRESS_FIELD_OF_SITE.items()}


def address_values_of_site(values: dict[str, Any]) -> dict[str, Any]:
    """Site address fields under the Rev.io address's field names."""
    return {ADDRESS_FIELD_OF_SITE[field]: value for field, value in values.items()}


def site_values_of(address_values: dict[str, Any]) -> dict[str, Any]:
    return {SITE_FIELD_OF_ADDRESS[field]: value for field, value in address_values.items()}


def site_name(address: RevioAddress) -> str:
    """The name of the RMM site revsync creates for a Rev.io address."""
    place = ", ".join(part for part in (address.line_1, address.city) if part)
    return place or address.company_name or f"Rev.io address {address.id}"


def _same_place(address: RevioAddress, site: RmmSite) -> bool:
    line, postal = address.line_1, address.postal_code
    return bool(line and site.address_line_1) and (
        normalize_name(line or "") == normalize_name(site.address_line_1 or "")
        and (postal or "").replace(" ", "") == (site.postal_code or "").replace(" ", "")
    )


def find_site(address: RevioAddress, unmapped: list[RmmSite]) -> tuple[RmmSite, str] | None:
    """An existing RMM site for a Rev.io address: the one whose description names the
    address (the connector's marker), else same street line and postal code, else the same
    name as revsync would give it."""
    for site in unmapped:
        if revio_address_id_in(site.description) == address.id:
            return site, "strong_key"
    for site in unmapped:
        if _same_place(address, site):
            return site, "same_address"
    wanted = normalize_name(site_name(address))
    for site in unmapped:
        if normalize_name(site.name) == wanted:
            return site, "same_name"
    return None
