"""Reading tickets as contracts: alert tickets become `RmmAlert`, the others `RmmTicket` with
their notes. Notes cost one call per ticket, so they are read only for tickets whose own
fields changed since last reported (a new note moves the ticket's `updatedAt` and `version`),
or for every ticket when a full listing asks for them."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from revsync.connector import content_hash
from revsync.contracts.rmm import RmmAlert, RmmTicket

from services.cwrmm_connector import translate_tickets as tt
from services.cwrmm_connector.observe import Snapshot
from services.cwrmm_connector.tenants import TenantHandle
from services.cwrmm_connector.translate import Untranslatable, moment, optional_text

HEAD = "ticket-head"  # hash of a ticket without its notes: decides whether to read notes


@dataclass
class TicketBatch:
    tickets: Snapshot[RmmTicket] = field(default_factory=Snapshot)
    alerts: Snapshot[RmmAlert] = field(default_factory=Snapshot)
    heads: dict[str, str] = field(default_factory=dict)  # record once the tickets are emitted
    latest: str | None = None  # the greatest `updatedAt` read, as the vendor wrote it

    def saw(self, updated_at: Any) -> None:
        if isinstance(updated_at, str) and (
            self.latest is None or moment(updated_at, "ticket") > moment(self.latest, "ticket")
        ):
            self.latest = updated_at


async def read_tickets(
    handle: TenantHandle,
    pages: AsyncIterator[list[dict[str, Any]]],
    alert_source: str,
    all_notes: bool = False,
) -> TicketBatch:
    batch = TicketBatch()
    heads = handle.hashes(HEAD)
    async for page in pages:
        ids = [doc["id"] for doc in page if isinstance(doc.get("id"), str)]
        known = {} if all_notes else await heads.get_many(ids)
        for doc in page:
            try:
                await _read_one(handle, doc, alert_source, known, batch)
            except Untranslatable as error:
                target = batch.alerts if tt.is_alert(doc, alert_source) else batch.tickets
                target.skip(handle.id, error, doc.get("id"))
            batch.saw(doc.get("updatedAt"))
    return batch


async def _read_one(
    handle: TenantHandle,
    doc: dict[str, Any],
    alert_source: str,
    known_heads: dict[str, str],
    batch: TicketBatch,
) -> None:
    category = await handle.lookups.category_of(optional_text(doc, "status", "id"))
    if tt.is_alert(doc, alert_source):
        alert = tt.alert(doc, category)
        batch.alerts.objects.append((alert.ticket_id, alert))
        return
    head = tt.ticket(doc, category)
    digest = content_hash(head)
    if known_heads.get(head.id) == digest:
        return  # neither the ticket nor its notes changed
    notes = [tt.note(note) for note in await handle.client.notes(head.id)]
    ticket = tt.ticket(doc, category, notes)
    batch.tickets.objects.append((ticket.id, ticket))
    batch.heads[ticket.id] = digest


async def ticket_with_notes(
    handle: TenantHandle, doc: dict[str, Any], alert_source: str
) -> tuple[str, RmmTicket | RmmAlert, str | None]:
    """(entity, contract, head hash) of one ticket document, as a watcher would report it."""
    category = await handle.lookups.category_of(optional_text(doc, "status", "id"))
    if tt.is_alert(doc, alert_source):
        return "alert", tt.alert(doc, category), None
    head = tt.ticket(doc, category)
    notes = [tt.note(note) for note in await handle.client.notes(head.id)]
    return "ticket", tt.ticket(doc, category, notes), content_hash(head)
