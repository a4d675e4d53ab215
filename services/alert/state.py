"""The alert service's state: a fold of one `alert:<endpoint>:<condition>` stream.

Why one stream per (endpoint, condition) and not per RMM ticket (`alert:<rmm_ticket_id>` in
the brief): the rule "one open Rev.io ticket per (endpoint, alert condition)" is about that
pair, and a stream is the unit of consistency. Every observation of the pair (whatever RMM
ticket carries it, a recurrence's new RMM ticket included) and every result of a command we
sent about it is decided on this one stream with an expected version, so two deliveries can
never both see "no ticket yet". A create whose result has not come back is state here too
(`phase == "requested"`): repeats and clears meanwhile are recorded and applied on the result.
So is a repeat's journal entry in flight (`journal_command_id`): repeats meanwhile are counted
in `deferred_repeats` and written in one entry when its result comes back.

Episodes: each Rev.io ticket is one episode; a recurrence after the ticket closed starts the
next one (a new ticket, a new `source_key`).
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal

from revsync.eventlog.model import RecordedEvent

from services.alert import events as E

Phase = Literal[
    "none",  # nothing decided yet
    "skipped",  # below the threshold or sync off: no ticket
    "parked",  # waiting for the company link
    "requested",  # create sent, result pending
    "open",  # Rev.io ticket open, alert active
    "cleared",  # alert cleared, Rev.io ticket left open (no auto-close)
    "closed",  # Rev.io ticket closed (auto-closed or closed in Rev.io), or parked alert gone
    "failed",  # the create was refused
]
CATEGORY = "alert"


def alert_key(endpoint_id: str | None, condition_id: str, rmm_ticket_id: str) -> str:
    """The (endpoint, condition) an alert is about; an alert without an endpoint is keyed by
    its own RMM ticket."""
    return f"{endpoint_id or 'ticket-' + rmm_ticket_id}:{condition_id}"


def stream_of(key: str) -> str:
    return f"{CATEGORY}:{key}"


@dataclass(frozen=True)
class AlertState:
    key: str = ""
    version: int = 0
    phase: Phase = "none"
    episode: int = 0
    count: int = 0
    endpoint_id: str | None = None
    endpoint_hostname: str | None = None  # as the asset service knew it when ticketed
    condition_id: str | None = None
    company_id: str | None = None
    customer_id: str | None = None
    rmm_ticket_id: str | None = None
    rmm_ticket_version: int = 0  # of the observation decided on last; 0: not known
    observed_at: datetime | None = None
    severity: str | None = None
    summary: str | None = None
    description: str | None = None
    revio_ticket_id: str | None = None
    create_command_id: str | None = None
    auto_close_command_id: str | None = None
    deferred_repeats: int = 0  # repeats not yet written in a journal entry
    journal_command_id: str | None = None  # the repeat journal entry in flight, if any
    clear_pending: bool = False
    attempts: int = 0
    skipped_as: tuple[str, str | None, str | None] | None = None  # (reason, ticket, severity)

    @property
    def has_live_ticket(self) -> bool:
        """A Rev.io ticket exists or is being created for the current episode."""
        return self.phase in ("requested", "open", "cleared")


def _observed(state: AlertState, data: dict[str, Any]) -> AlertState:
    """Fields every event about an observation carries."""
    if "rmm_ticket_id" not in data:
        return state
    same_ticket = data["rmm_ticket_id"] == state.rmm_ticket_id
    return replace(
        state,
        rmm_ticket_id=data["rmm_ticket_id"],
        rmm_ticket_version=data.get(
            "rmm_ticket_version", state.rmm_ticket_version if same_ticket else 0
        ),
        observed_at=datetime.fromisoformat(data["observed_at"]),
        endpoint_id=data.get("endpoint_id", state.endpoint_id),
        condition_id=data.get("condition_id", state.condition_id),
        company_id=data.get("company_id", state.company_id),
        severity=data.get("severity", state.severity),
        summary=data.get("summary", state.summary),
        description=data.get("description", state.description),
    )


def apply(state: AlertState, type_: str, data: dict[str, Any]) -> AlertState:
    state = _observed(state, data)
    if type_ == E.SKIPPED:
        return replace(
            state,
            phase="skipped",
            skipped_as=(data["reason"], data.get("rmm_ticket_id"), data.get("severity")),
        )
    if type_ == E.PARKED:
        return replace(state, phase="parked", count=1, skipped_as=None)
    if type_ == E.TICKET_REQUESTED:
        return replace(
            state,
            phase="requested",
            episode=data["episode"],
            customer_id=data["customer_id"],
            endpoint_hostname=data.get("endpoint_hostname"),
            create_command_id=data["command_id"],
            revio_ticket_id=None,
            attempts=data["attempt"],
            count=data["count"],
            deferred_repeats=0,
            journal_command_id=None,
            clear_pending=False,
            skipped_as=None,
        )
    if type_ == E.TICKET_LINKED:
        clear_action = data.get("clear_action")
        phase: Phase = {"auto_closed": "closed", "journal_entry": "cleared"}.get(
            clear_action or "", "open"
        )  # type: ignore[assignment]
        return replace(
            state,
            phase=phase,
            revio_ticket_id=data["revio_ticket_id"],
            deferred_repeats=0,
            journal_command_id=data.get("journal_command_id"),
            clear_pending=False,
            auto_close_command_id=data.get("auto_close_command_id"),
        )
    if type_ == E.TICKET_CREATE_FAILED:
        return replace(
            state,
            phase="closed" if state.clear_pending else "failed",
            clear_pending=False,
            deferred_repeats=0,
        )
    if type_ == E.REPEATED:
        state = replace(
            state,
            count=data["count"],
            phase="open" if state.phase == "cleared" else state.phase,
            deferred_repeats=state.deferred_repeats + (data["journal"] == "deferred"),
        )
        if data["journal"] == "sent" and "deferred_repeats" in data:  # not before the marker
            return replace(state, deferred_repeats=0, journal_command_id=data["command_id"])
        return state
    if type_ == E.JOURNAL_WRITTEN:
        return replace(
            state,
            deferred_repeats=state.deferred_repeats - data["deferred_repeats"],
            journal_command_id=data.get("next_command_id"),
        )
    if type_ == E.CLEARED:
        action = data["action"]
        state = replace(
            state, deferred_repeats=state.deferred_repeats - data.get("deferred_repeats", 0)
        )
        if action == "deferred_until_ticket_exists":
            return replace(state, clear_pending=True)
        if action == "auto_closed":
            return replace(state, phase="closed", auto_close_command_id=data.get("command_id"))
        if action == "journal_entry":
            return replace(state, phase="cleared")
        return replace(state, phase="closed")
    if type_ == E.TICKET_CLOSED:
        return replace(state, phase="closed")
    if type_ == E.COMMAND_FAILED:
        if data["command_id"] == state.auto_close_command_id:
            return replace(state, phase="cleared", auto_close_command_id=None)
        if data["command_id"] == state.journal_command_id:  # its repeats stay deferred
            return replace(state, journal_command_id=None)
        return state
    return state  # an event this version does not know: nothing to fold (replay stays safe)


def fold(key: str, events: Iterable[RecordedEvent]) -> AlertState:
    state = AlertState(key=key)
    for event in events:
        state = replace(apply(state, event.type, event.data), version=event.version)
    return state


def to_json(state: AlertState) -> dict[str, Any]:
    data = asdict(state)
    data["observed_at"] = state.observed_at.isoformat() if state.observed_at else None
    return data


def from_json(data: dict[str, Any]) -> AlertState:
    """A saved state; a field this version does not know (saved by a newer one, before a
    rollback) is dropped: the fold rebuilds it from the events if it matters."""
    known = {f.name for f in fields(AlertState)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("observed_at"):
        values["observed_at"] = datetime.fromisoformat(values["observed_at"])
    if values.get("skipped_as") is not None:
        values["skipped_as"] = tuple(values["skipped_as"])
    return AlertState(**values)
