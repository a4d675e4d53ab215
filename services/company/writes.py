"""revsync's own writes as part of a link's state (pure, used by the fold in `state.py`).

A write is applied to the state at once (the connectors do not report the echo of their own
writes), kept as "in flight" until an observation of that side taken after the write landed,
and undone (`revert`) when it fails.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from revsync.contracts.revio import RevioAddress
from revsync.contracts.rmm import RmmSite

from services.company import events as E

if TYPE_CHECKING:
    from services.company.state import LinkState


def as_time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def revert(link: "LinkState", undo: dict[str, Any]) -> "LinkState":
    """The link with a failed write's assumed effects undone."""
    rmm, customer = link.rmm, link.customer
    if rmm is not None and undo.get("rmm"):
        rmm = rmm.model_copy(update=undo["rmm"])
    if rmm is not None and undo.get("rmm_sites"):
        old = {k: RmmSite.model_validate(v) for k, v in undo["rmm_sites"].items()}
        rmm = rmm.model_copy(update={"sites": tuple(old.get(s.id, s) for s in rmm.sites)})
    if customer is not None and undo.get("customer"):
        customer = customer.model_copy(update=undo["customer"])
    if customer is not None and undo.get("addresses"):
        old_a = {k: RevioAddress.model_validate(v) for k, v in undo["addresses"].items()}
        addresses = tuple(old_a.get(a.id, a) for a in customer.addresses)
        customer = customer.model_copy(update={"addresses": addresses})
    baseline = {**link.baseline, **(undo.get("baseline") or {})}
    return link.with_(rmm=rmm, customer=customer, baseline={k: v for k, v in baseline.items() if v})


def pushed_to_rmm(link: "LinkState", data: dict[str, Any]) -> dict[str, Any]:
    """The RMM company (or one of its sites) as revsync just asked it to be."""
    values = {field: change["value"] for field, change in data["changes"].items()}
    if link.rmm is None:
        return {}
    if "site_id" in data:
        sites = tuple(
            s.model_copy(update=values) if s.id == data["site_id"] else s for s in link.rmm.sites
        )
        return {"rmm": link.rmm.model_copy(update={"sites": sites})}
    return {"rmm": link.rmm.model_copy(update=values)}


def pushed_to_revio(link: "LinkState", data: dict[str, Any]) -> dict[str, Any]:
    """The Rev.io customer (or one of its addresses) as revsync just asked it to be."""
    customer = link.customer
    if customer is None:
        return {}
    values = {field: change["value"] for field, change in data["changes"].items()}
    if "address_id" in data:
        addresses = tuple(
            a.model_copy(update=values) if a.id == data["address_id"] else a
            for a in customer.addresses
        )
        return {"customer": customer.model_copy(update={"addresses": addresses})}
    named = {k: v for k, v in values.items() if k == "name"}
    return {"customer": customer.model_copy(update=named)}


def write_entry(type_: str, data: dict[str, Any], seq: int) -> dict[str, Any]:
    """A write to one side in flight: kept until an observation of that side taken after
    it landed (its result's time) shows what that side holds now. `seq` orders the writes
    (the state is stored as JSONB, which does not keep the order of keys)."""
    side = "revio" if type_ == E.REVIO_UPDATE_REQUESTED else "rmm"
    target = data.get("site_id") or data.get("address_id") or "company"
    changes = {f: {"value": c["value"], "was": c["was"]} for f, c in data["changes"].items()}
    entry = {"verb": E.REQUESTS[type_], "side": side, "target": target, "changes": changes}
    return {**entry, "seq": seq}


def writes_to(link: "LinkState", side: str, target: str) -> list[tuple[str, dict[str, Any]]]:
    """(command id, entry) of revsync's writes in flight to one object, oldest first."""
    found = [
        (command_id, entry)
        for command_id, entry in link.pending.items()
        if entry.get("side") == side and entry.get("target") == target
    ]
    return sorted(found, key=lambda item: item[1]["seq"])


def settled(pending: dict[str, dict[str, Any]], side: str, observed_at: datetime) -> dict[str, Any]:
    """Writes to `side` that landed before this observation was taken are now reflected in
    it: forget them."""
    return {
        k: v
        for k, v in pending.items()
        if not (
            v.get("side") == side and v.get("landed_at") and as_time(v["landed_at"]) <= observed_at
        )
    }


def writes_in_flight(link: "LinkState", side: str, target: str) -> dict[str, dict[str, Any]]:
    """field -> {value, was} of revsync's writes to one side's object not yet seen landed."""
    found: dict[str, dict[str, Any]] = {}
    for _, entry in writes_to(link, side, target):
        found.update(entry["changes"])
    return found


def still_refused(link: "LinkState", target: str, revio: dict[str, Any]) -> bool:
    """Rev.io refused a write to `target` for no longer holding values that the link still
    shows for it (`revio`: field -> value as the link shows it), and Rev.io has not been
    observed since: its newer values are on their way and win, so nothing is sent to it."""
    stale = link.revio_stale.get(target) or {}
    return bool(stale) and all(revio.get(field) == value for field, value in stale.items())
