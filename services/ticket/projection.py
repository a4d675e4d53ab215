"""Read models of the ticket service, folded in the transaction of each decision:

- `ticket_links`: one row per link (or skipped ticket): both ticket ids, the company and
  customer, the phase (`state`) and its reason, the agreed status, notes carried; the
  console's ticket view and the service's lookups (which link a sighting belongs to).
- `ticket_commands`: every command sent, so its result finds the link it is about.
"""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Rows, StreamRows, Write

from services.ticket import events as E
from services.ticket.state import CATEGORY, LinkState, apply, from_json, to_json

TICKET_LINKS = Rows(
    "ticket_links",
    ("tenant_id", "link_key", "origin", "rmm_ticket_id", "revio_ticket_id", "rmm_company_id",
     "revio_customer_id", "state", "reason", "status", "notes_carried", "last_event",
     "version", "fold", "updated_at"),
    key=("tenant_id", "link_key"),
    update=True,
    json=frozenset({"fold"}),
)  # fmt: skip


def reason_of(event: RecordedEvent, state: LinkState, previous: str | None) -> str | None:
    if event.type == E.SKIPPED:
        return str(event.data["reason"])
    if event.type in (E.LINK_FAILED, E.COMMAND_FAILED):
        return f"{event.data['status']}: {event.data.get('reason') or ''}".strip()
    if event.type in (E.LINK_REQUESTED, E.LINKED):
        return None
    return previous


COMMANDS = Rows("ticket_commands", ("tenant_id", "command_id", "link_key", "verb"))
Folded = tuple[LinkState, str | None]
"""The link's state and the reason shown for it."""


class TicketLinks(StreamRows[Folded]):
    name = "ticket-links"
    tables = ("ticket_links", "ticket_commands")
    categories = (CATEGORY,)
    rows, loaded = TICKET_LINKS, "fold, reason"

    def wanted(self, event: RecordedEvent) -> bool:
        return event.type in E.ALL  # not one of ours (another version, or a stray writer)

    def restore(self, key: str, row: asyncpg.Record | None) -> Folded:
        return (from_json(row["fold"]), row["reason"]) if row else (LinkState(key=key), None)

    def step(self, folded: Folded, event: RecordedEvent) -> Folded:
        before, reason = folded
        state = replace(apply(before, event.type, event.data), version=event.version)
        return state, reason_of(event, state, reason)

    def row(self, tenant_id: str, folded: Folded, event: RecordedEvent) -> Sequence[Any]:
        state, reason = folded
        status = state.agreed.get("status")
        return (
            tenant_id,
            self.key(event),
            state.origin,
            state.rmm_ticket_id,
            state.revio_ticket_id,
            state.rmm_company_id,
            state.revio_customer_id,
            state.phase,
            reason,
            status.value if status else None,
            len(state.carried) - len(state.queued),
            event.type,
            event.version,
            to_json(state),
            event.recorded_at,
        )

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        return self.sent_commands(COMMANDS, event)
