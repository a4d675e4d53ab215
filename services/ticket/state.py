"""The ticket service's state: a fold of one `ticket-link:<origin>-<ticket id>` stream.

A link is keyed by where the ticket came from (`rmm-<id>` or `revio-<id>`), known from its
first sighting, so concurrent sightings of a new ticket decide on one stream (one create),
and the echo of the created counterpart finds the same stream through the marker revsync
wrote on it (RmmTicket.revio_ticket_id / RevioTicket.rmm_ticket_id).

Per synced field (`description`, `status`) the state keeps the agreed value with the vendor
timestamp and side of the write that set it; what each side is known to show (`observed`:
from its sightings, or from our write once its result came back OK, since connectors do not
echo their own writes); and our writes still in flight (`pending`). A side changed a field
when it shows something else than it is known to show and than we are writing to it, so a
stale sighting from before our write landed is never mistaken for a change. Notes carried
(or queued until the target exists) are remembered by source id: each once.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from revsync.eventlog.model import RecordedEvent

from services.ticket import events as E

Side = Literal["rmm", "revio"]
Phase = Literal["none", "skipped", "requested", "linked", "failed", "deleted"]
FIELDS = ("description", "status")
CATEGORY = "ticket-link"


def other(side: Side) -> Side:
    return "revio" if side == "rmm" else "rmm"


def link_key(origin: Side, ticket_id: str) -> str:
    return f"{origin}-{ticket_id}"


def stream_of(key: str) -> str:
    return f"{CATEGORY}:{key}"


def note_key(side: Side, note_id: str) -> str:
    return f"{side}:{note_id}"


@dataclass(frozen=True)
class Agreed:
    value: str | None = None
    at: datetime | None = None
    by: Side | None = None


@dataclass(frozen=True)
class LinkState:
    key: str = ""
    version: int = 0
    phase: Phase = "none"
    origin: Side | None = None
    rmm_ticket_id: str | None = None
    revio_ticket_id: str | None = None
    rmm_company_id: str | None = None
    revio_customer_id: str | None = None
    create_command_id: str | None = None
    skip_reason: str | None = None
    attempts: int = 0
    agreed: dict[str, Agreed] = field(default_factory=dict)
    observed: dict[str, dict[str, str | None]] = field(default_factory=dict)
    pending: dict[str, dict[str, tuple[str, str | None]]] = field(default_factory=dict)
    carried: frozenset[str] = frozenset()
    queued: tuple[tuple[str, str, str], ...] = ()  # (source side, note id, text)

    def ticket_of(self, side: Side) -> str | None:
        return self.rmm_ticket_id if side == "rmm" else self.revio_ticket_id

    def seen_on(self, side: Side, name: str) -> str | None:
        return self.observed.get(side, {}).get(name)

    def writing(self, side: Side, name: str) -> tuple[str, str | None] | None:
        """(command id, value) of our write of `name` to `side` still in flight."""
        return self.pending.get(side, {}).get(name)


def _seen(state: LinkState, side: str, values: dict[str, str | None]) -> LinkState:
    observed = {**state.observed, side: {**state.observed.get(side, {}), **values}}
    return replace(state, observed=observed)


def _writing(state: LinkState, side: str, name: str, data: dict[str, Any]) -> LinkState:
    """Record our write (the event's `command_id`) of `name` to `side`, if one was sent."""
    if not data.get("command_id"):
        return state
    entry = (data["command_id"], data["written"])
    pending = {**state.pending, side: {**state.pending.get(side, {}), name: entry}}
    return replace(state, pending=pending)


def _landed(state: LinkState, side: str, name: str, value: str | None) -> LinkState:
    """`side` shows `value` for `name`: known now, and no longer in flight."""
    state = _seen(state, side, {name: value})
    in_flight = dict(state.pending.get(side, {}))
    in_flight.pop(name, None)
    return replace(state, pending={**state.pending, side: in_flight})


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def apply(state: LinkState, type_: str, data: dict[str, Any]) -> LinkState:
    if type_ == E.SKIPPED:
        return replace(state, phase="skipped", skip_reason=data["reason"])
    if type_ == E.LINK_REQUESTED:
        origin: Side = data["origin"]
        at = _at(data["at"])
        agreed = {name: Agreed(value, at, origin) for name, value in data["fields"].items()}
        state = replace(
            state,
            phase="requested",
            origin=origin,
            rmm_ticket_id=data.get("rmm_ticket_id"),
            revio_ticket_id=data.get("revio_ticket_id"),
            rmm_company_id=data["rmm_company_id"],
            revio_customer_id=data["revio_customer_id"],
            create_command_id=data["command_id"],
            attempts=data["attempt"],
            skip_reason=None,
            agreed=agreed,
        )
        return _seen(_seen(state, origin, data["fields"]), data["target"], data["sent_fields"])
    if type_ == E.LINKED:
        state = replace(
            state,
            phase="linked",
            rmm_ticket_id=data["rmm_ticket_id"],
            revio_ticket_id=data["revio_ticket_id"],
        )
        target = other(state.origin or "rmm")
        for name, (command_id, value) in data.get("pushed", {}).items():
            state = _writing(state, target, name, {"command_id": command_id, "written": value})
        return state
    if type_ == E.LINK_FAILED:
        return replace(state, phase="failed")
    if type_ == E.FIELD_SYNCED:
        name, value, side = data["field"], data["value"], data["from_side"]
        agreed = {**state.agreed, name: Agreed(value, _at(data["at"]), side)}
        state = _seen(replace(state, agreed=agreed), side, {name: value})
        return _writing(state, data["to_side"], name, data)
    if type_ == E.FIELD_CONFIRMED:
        return _landed(state, data["side"], data["field"], data["value"])
    if type_ == E.CONFLICT_RESOLVED:
        name, loser = data["field"], data["discarded_from"]
        state = _seen(state, loser, {name: data["discarded"]})
        return _writing(state, loser, name, data)
    if type_ == E.CLOSED:
        side = data["closed_on"]
        agreed = {**state.agreed, "status": Agreed("Closed", _at(data["at"]), side)}
        state = _seen(replace(state, agreed=agreed), side, {"status": "Closed"})
        return _writing(state, other(side), "status", data)
    if type_ == E.NOTE_QUEUED:
        item = (data["source_side"], data["source_note_id"], data["text"])
        key = note_key(data["source_side"], data["source_note_id"])
        return replace(state, carried=state.carried | {key}, queued=(*state.queued, item))
    if type_ == E.NOTE_CARRIED:
        key = note_key(data["source_side"], data["source_note_id"])
        queued = tuple(q for q in state.queued if note_key(q[0], q[1]) != key)  # type: ignore[arg-type]
        return replace(state, carried=state.carried | {key}, queued=queued)
    if type_ == E.COMMAND_FAILED:
        pending = {
            side: {n: w for n, w in writes.items() if w[0] != data["command_id"]}
            for side, writes in state.pending.items()
        }
        return replace(state, pending=pending)
    if type_ == E.DELETED:
        return replace(state, phase="deleted")
    return state  # an event this version does not know: nothing to fold (replay stays safe)


def fold(key: str, events: Iterable[RecordedEvent]) -> LinkState:
    state = LinkState(key=key)
    for event in events:
        state = replace(apply(state, event.type, event.data), version=event.version)
    return state


def to_json(state: LinkState) -> dict[str, Any]:
    return {
        **{
            name: getattr(state, name)
            for name in (
                "key",
                "version",
                "phase",
                "origin",
                "rmm_ticket_id",
                "revio_ticket_id",
                "rmm_company_id",
                "revio_customer_id",
                "create_command_id",
                "skip_reason",
                "attempts",
                "observed",
            )
        },
        "pending": {
            side: {name: list(write) for name, write in writes.items()}
            for side, writes in state.pending.items()
        },
        "agreed": {
            name: [a.value, a.at.isoformat() if a.at else None, a.by]
            for name, a in state.agreed.items()
        },
        "carried": sorted(state.carried),
        "queued": [list(q) for q in state.queued],
    }


def from_json(data: dict[str, Any]) -> LinkState:
    values = dict(data)
    values["agreed"] = {
        name: Agreed(value, _at(at), by) for name, (value, at, by) in data["agreed"].items()
    }
    values["pending"] = {
        side: {name: (write[0], write[1]) for name, write in writes.items()}
        for side, writes in data.get("pending", {}).items()
    }
    values["carried"] = frozenset(data["carried"])
    values["queued"] = tuple(tuple(q) for q in data["queued"])
    return LinkState(**values)
