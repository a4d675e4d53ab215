"""The alert model of this system (ARCHITECTURE section 6): an integrator alert on
(endpoint, condition) is an RMM ticket with source `Alert`, priority named after the severity,
the endpoint in `assets` and the alert and condition ids in `extendedAttributes`. Raising it
again while open updates that ticket; clearing it moves the ticket to `Auto Closed`."""

from typing import Any

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.ids import new_id, stable_id
from services.sandbox.cwrmm.lookups import (
    ALERT_BOARD,
    ALERT_SOURCE,
    AUTO_CLOSED_STATUS,
    SEVERITY_PRIORITIES,
    SYSTEM_USER,
)
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_fields import writable_fields
from services.sandbox.cwrmm.ticket_model import create_ticket, touch

SYSTEM_ACTOR = {"id": SYSTEM_USER}
PLACEMENT_KEYS = ("company_id", "site_id", "endpoint_id", "condition_id")


def alert_key(endpoint_id: str, condition_id: str) -> str:
    return f"{endpoint_id}|{condition_id}"


def extended_attributes(alert_id: str, condition_id: str) -> list[Document]:
    return [
        {"id": stable_id("attribute", "alertId"), "name": "alertId", "value": alert_id},
        {"id": stable_id("attribute", "conditionId"), "name": "conditionId", "value": condition_id},
    ]


def severity_of(details: Any) -> str:
    severity = str(details.get("severity", "")).capitalize() if isinstance(details, dict) else ""
    if severity not in SEVERITY_PRIORITIES:
        raise bad_request(f"alertDetails.severity must be one of {', '.join(SEVERITY_PRIORITIES)}")
    return severity


def alert_ticket_body(
    alert_id: str, condition_id: str, details: Document, record: Document
) -> Document:
    summary = details.get("summary")
    return {
        "summary": summary,
        "description": details.get("description") or summary,
        "serviceBoard": {"name": ALERT_BOARD},
        "source": {"name": ALERT_SOURCE},
        "priority": {"name": severity_of(details)},
        "type": {"name": "Incident"},
        "company": {"id": record["companyID"]},
        "site": {"id": record["siteID"]},
        "assets": [{"id": record["document"]["endpointID"]}],
        "extendedAttributes": extended_attributes(alert_id, condition_id),
    }


def check_placement(store: RmmStore, item: Any) -> Document:
    """The endpoint record an alert item names, after checking company and site match it."""
    if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in PLACEMENT_KEYS):
        raise bad_request(f"each alert needs string {', '.join(PLACEMENT_KEYS)}")
    record = store.endpoints.get(item["endpoint_id"])
    if record is None or (record["companyID"], record["siteID"]) != (
        item["company_id"],
        item["site_id"],
    ):
        raise bad_request(f"endpoint {item['endpoint_id']} is not in that company and site")
    return record


def check_raise(store: RmmStore, item: Any) -> Document:
    """Validate one raise item (placement, severity, summary) without changing anything."""
    record = check_placement(store, item)
    details = item.get("alertDetails")
    severity_of(details)
    summary = details.get("summary")
    if not isinstance(summary, str) or not 1 <= len(summary) <= 255:
        raise bad_request("alertDetails.summary is required: text of 1 to 255 characters")
    return record


def raise_alert(store: RmmStore, item: Document) -> Document:
    record = check_raise(store, item)
    endpoint_id, condition_id = item["endpoint_id"], item["condition_id"]
    open_alert = store.open_alerts.get(alert_key(endpoint_id, condition_id))
    ticket = store.tickets.get(open_alert["ticketId"]) if open_alert else None
    if open_alert and ticket and _category(store, ticket) != "Closed":
        body = alert_ticket_body(open_alert["alertId"], condition_id, item["alertDetails"], record)
        fields = writable_fields(store, {**body, "status": ticket["status"]})
        ticket.update({k: fields[k] for k in ("summary", "description", "priority")})
        touch(ticket, SYSTEM_ACTOR)
        return _result(open_alert["alertId"], ticket, "updated")
    alert_id = new_id()
    body = alert_ticket_body(alert_id, condition_id, item["alertDetails"], record)
    ticket = create_ticket(store, body, SYSTEM_ACTOR)
    store.open_alerts[alert_key(endpoint_id, condition_id)] = {
        "alertId": alert_id,
        "ticketId": ticket["id"],
        "conditionId": condition_id,
    }
    return _result(alert_id, ticket, "created")


def clear_alert(store: RmmStore, item: Document) -> Document:
    open_alert = store.open_alerts.pop(alert_key(item["endpoint_id"], item["condition_id"]), None)
    ticket = store.tickets.get(open_alert["ticketId"]) if open_alert else None
    if open_alert is None or ticket is None:
        return {**{k: item[k] for k in PLACEMENT_KEYS}, "state": "not_found"}
    closed = store.lookup("statuses", name=AUTO_CLOSED_STATUS)
    ticket["status"] = {"id": closed["id"], "name": closed["name"]}
    touch(ticket, SYSTEM_ACTOR)
    return {**_result(open_alert["alertId"], ticket, "closed"), "state": "cleared"}


def _category(store: RmmStore, ticket: Document) -> str:
    return str(store.lookup("statuses", ticket["status"]["id"])["category"])


def _result(alert_id: str, ticket: Document, ticket_action: str) -> Document:
    return {
        "alertId": alert_id,
        "ticketId": ticket["id"],
        "ticketNumber": ticket["number"],
        "ticketAction": ticket_action,
        "state": "raised",
    }
