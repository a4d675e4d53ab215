"""Both vendors' tickets as one shape: what the rules compare (a `Sighting`), and the status
mapping between RMM status categories and Rev.io base statuses."""

from dataclasses import dataclass
from datetime import datetime

from revsync.contracts.revio import RevioTicket
from revsync.contracts.rmm import RmmTicket

from services.ticket.state import Side

REVIO_TO_CATEGORY = {"OPEN": "New", "INWORK": "InProgress", "PENDING": "InProgress"}
CATEGORY_TO_REVIO = {"New": "OPEN", "InProgress": "INWORK", "Closed": "CLOSED"}
SUMMARY_MAX = 100


def revio_status_category(ticket: RevioTicket) -> str:
    """Rev.io base status -> RMM status category (custom statuses imply a base status)."""
    status = ticket.status.upper()
    if ticket.closed or status == "CLOSED":
        return "Closed"
    return REVIO_TO_CATEGORY.get(status, "InProgress")


def summary_from(description: str) -> str:
    """An RMM summary for a Rev.io ticket (which has only a description)."""
    first = (description.strip().splitlines() or ["Rev.io ticket"])[0].strip()
    return first if len(first) <= SUMMARY_MAX else first[: SUMMARY_MAX - 1] + "…"


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    written_by_revsync: bool
    created_at: datetime | None = None


@dataclass(frozen=True)
class Sighting:
    side: Side
    ticket_id: str
    at: datetime
    fields: dict[str, str | None]  # description, status (an RMM status category)
    notes: tuple[Note, ...]
    owner_id: str | None  # RMM company / Rev.io customer
    written_by_revsync: bool  # revsync created this ticket (its marker names the origin)
    summary: str

    @property
    def closed(self) -> bool:
        return self.fields["status"] == "Closed"


def rmm_sighting(ticket: RmmTicket) -> Sighting:
    notes = tuple(
        Note(n.id, n.text, n.written_by_revsync, n.created_at)
        for n in sorted(ticket.notes, key=lambda n: (n.created_at is None, n.created_at, n.id))
    )
    return Sighting(
        side="rmm",
        ticket_id=ticket.id,
        at=ticket.updated_at,
        fields={
            "description": ticket.description or ticket.summary,
            "status": ticket.status_category,
        },
        notes=notes,
        owner_id=ticket.company_id,
        written_by_revsync=ticket.revio_ticket_id is not None,
        summary=ticket.summary,
    )


def revio_sighting(ticket: RevioTicket) -> Sighting:
    notes = tuple(
        Note(j.id, j.text, j.written_by_revsync, j.created_at)
        for j in sorted(ticket.journal, key=lambda j: (j.created_at is None, j.created_at, j.id))
    )
    return Sighting(
        side="revio",
        ticket_id=ticket.id,
        at=ticket.updated_at,
        fields={"description": ticket.description, "status": revio_status_category(ticket)},
        notes=notes,
        owner_id=ticket.customer_id,
        written_by_revsync=ticket.created_by_revsync or ticket.rmm_ticket_id is not None,
        summary=summary_from(ticket.description),
    )
