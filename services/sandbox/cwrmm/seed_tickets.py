"""Existing RMM tickets of the seed world; open alert tickets are registered as open alerts."""

from datetime import timedelta

from services.sandbox.common.world import Ticket
from services.sandbox.cwrmm.alert_model import alert_key, alert_ticket_body
from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.ids import stable_id
from services.sandbox.cwrmm.lookups import SYSTEM_USER
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_fields import writable_fields

STATUS_NAMES = {"new": "New", "in_progress": "In Progress", "closed": "Closed"}


def seed_ticket(store: RmmStore, seed: Ticket, company_id: str, site_id: str) -> None:
    alert_id = stable_id("alert", seed.number)
    if seed.alert_condition and seed.endpoint_id:
        details = {"severity": seed.priority, "summary": seed.summary}
        details["description"] = seed.description
        body = alert_ticket_body(
            alert_id, seed.alert_condition, details, store.endpoints[seed.endpoint_id]
        )
    else:
        body = _manual_body(seed, company_id, site_id)
    body["status"] = {"name": STATUS_NAMES[seed.status]}
    ticket = {
        "id": stable_id("ticket", seed.number),
        "number": store.take_ticket_number(),
        **writable_fields(store, body),
        "createdAt": iso(seed.created_at),
        "createdBy": {"id": SYSTEM_USER},
        "updatedAt": iso(seed.created_at + timedelta(hours=1 + seed.number % 48)),
        "updatedBy": {"id": SYSTEM_USER},
        "version": 1 + seed.number % 4,
    }
    store.tickets[ticket["id"]] = ticket
    if seed.alert_condition and seed.endpoint_id and seed.status != "closed":
        store.open_alerts[alert_key(seed.endpoint_id, seed.alert_condition)] = {
            "alertId": alert_id,
            "ticketId": ticket["id"],
            "conditionId": seed.alert_condition,
        }


def _manual_body(seed: Ticket, company_id: str, site_id: str) -> Document:
    return {
        "summary": seed.summary,
        "description": seed.description,
        "serviceBoard": {"name": "Help Desk"},
        "source": {"name": "Manual" if seed.number % 3 else "Email"},
        "priority": {"name": seed.priority},
        "company": {"id": company_id},
        "site": {"id": site_id},
    }
