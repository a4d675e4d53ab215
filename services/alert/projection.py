"""Read models of the alert service, folded in the transaction of each decision:

- `alert_tickets`: one row per (endpoint, condition): its phase (`state`), the reason it is
  skipped, parked or failed, the RMM and Rev.io tickets, the counter; the console's alert
  view and the lookups of the service (parked alerts of a company, our Rev.io tickets).
- `alert_commands`: every command sent, so its result finds the alert it is about.
"""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Rows, StreamRows, Write

from services.alert import events as E
from services.alert.state import CATEGORY, AlertState, apply, from_json, to_json

ALERT_TICKETS = Rows(
    "alert_tickets",
    ("tenant_id", "alert_key", "endpoint_id", "condition_id", "company_id", "customer_id",
     "rmm_ticket_id", "revio_ticket_id", "state", "reason", "severity", "summary", "episode",
     "count", "last_event", "version", "fold", "updated_at"),
    key=("tenant_id", "alert_key"),
    update=True,
    json=frozenset({"fold"}),
)  # fmt: skip


def reason_of(event: RecordedEvent, previous: str | None) -> str | None:
    """The visible reason of the row's state after `event`."""
    data = event.data
    if event.type in (E.SKIPPED, E.PARKED):
        return str(data["reason"])
    if event.type in (E.TICKET_CREATE_FAILED, E.COMMAND_FAILED):
        return f"{data['status']}: {data.get('reason') or ''}".strip()
    if event.type in (E.REPEATED, E.JOURNAL_WRITTEN):
        return previous  # a parked alert stays parked for the same reason
    return None


COMMANDS = Rows("alert_commands", ("tenant_id", "command_id", "alert_key", "verb"))
Folded = tuple[AlertState, str | None]
"""The alert's state and the reason shown for it."""


class AlertTickets(StreamRows[Folded]):
    name = "alert-tickets"
    tables = ("alert_tickets", "alert_commands")
    categories = (CATEGORY,)
    rows, loaded = ALERT_TICKETS, "fold, reason"

    def wanted(self, event: RecordedEvent) -> bool:
        return event.type in E.ALL  # not one of ours (another version, or a stray writer)

    def restore(self, key: str, row: asyncpg.Record | None) -> Folded:
        return (from_json(row["fold"]), row["reason"]) if row else (AlertState(key=key), None)

    def step(self, folded: Folded, event: RecordedEvent) -> Folded:
        before, reason = folded
        state = replace(apply(before, event.type, event.data), version=event.version)
        return state, reason_of(event, reason)

    def row(self, tenant_id: str, folded: Folded, event: RecordedEvent) -> Sequence[Any]:
        state, reason = folded
        return (
            tenant_id,
            self.key(event),
            state.endpoint_id,
            state.condition_id,
            state.company_id,
            state.customer_id,
            state.rmm_ticket_id,
            state.revio_ticket_id,
            state.phase,
            reason,
            state.severity,
            state.summary,
            state.episode,
            state.count,
            event.type,
            event.version,
            to_json(state),
            event.recorded_at,
        )

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        return self.sent_commands(COMMANDS, event)
