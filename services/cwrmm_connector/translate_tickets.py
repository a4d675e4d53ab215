"""Vendor JSON -> normalized contracts for tickets, their notes, and alerts.

An RMM alert is observed as a ticket whose source is the alert source (ARCHITECTURE
section 6): its priority carries the severity, its `extendedAttributes` the alert and
condition ids, and it has cleared when its status is of category `Closed`.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast, get_args

from revsync.contracts.rmm import RmmAlert, RmmTicket, Severity, StatusCategory, TicketNote

from services.cwrmm_connector import markers
from services.cwrmm_connector.translate import Doc, moment, optional_text, required_text

SEVERITIES: tuple[str, ...] = get_args(Severity)
STATUS_CATEGORIES: tuple[str, ...] = get_args(StatusCategory)
UNKNOWN_PRIORITY_SEVERITY: Severity = "Medium"
EPOCH = datetime.min.replace(tzinfo=UTC)


def severity(priority_name: str | None) -> Severity:
    """The severity a priority name carries ("High", "P1 - Critical"); unknown: Medium."""
    name = (priority_name or "").lower()
    exact = [s for s in SEVERITIES if s.lower() == name.strip()]
    within = [s for s in SEVERITIES if s.lower() in name]
    found = exact or within
    return cast(Severity, found[0]) if found else UNKNOWN_PRIORITY_SEVERITY


def status_category(value: str | None) -> StatusCategory:
    return cast(StatusCategory, value) if value in STATUS_CATEGORIES else "New"


def note(doc: Doc) -> TicketNote:
    text, source = markers.split_note(required_text(doc, "detail", "ticket note"))
    created = doc.get("createdAt")
    return TicketNote(
        id=required_text(doc, "id", "ticket note"),
        text=text,
        author=optional_text(doc, "createdBy"),
        created_at=moment(created, "ticket note") if created else None,
        written_by_revsync=source is not None,
    )


def extended_attribute(doc: Doc, name: str) -> str | None:
    for attribute in doc.get("extendedAttributes") or ():
        if isinstance(attribute, Mapping) and attribute.get("name") == name:
            value = attribute.get("value")
            return str(value) if value not in (None, "") else None
    return None


def asset_ids(doc: Doc) -> tuple[str, ...]:
    assets = doc.get("assets") or ()
    return tuple(a["id"] for a in assets if isinstance(a, Mapping) and isinstance(a.get("id"), str))


def is_alert(doc: Doc, alert_source: str) -> bool:
    return (optional_text(doc, "source", "name") or "").lower() == alert_source.lower()


def version_of(doc: Doc) -> int:
    """The ticket's `version` (1 on creation, +1 on every update); 0 when it has none."""
    version = doc.get("version", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def ticket(doc: Doc, category: StatusCategory, notes: Iterable[TicketNote] = ()) -> RmmTicket:
    return RmmTicket(
        id=required_text(doc, "id", "ticket"),
        company_id=optional_text(doc, "company", "id"),
        summary=required_text(doc, "summary", "ticket"),
        description=optional_text(doc, "description"),
        status_id=optional_text(doc, "status", "id"),
        status_name=optional_text(doc, "status", "name"),
        status_category=category,
        priority=optional_text(doc, "priority", "name"),
        board_id=optional_text(doc, "serviceBoard", "id"),
        source=optional_text(doc, "source", "name"),
        updated_at=moment(doc.get("updatedAt"), "ticket"),
        version=version_of(doc),
        endpoint_ids=asset_ids(doc),
        notes=tuple(sorted(notes, key=lambda n: (n.created_at or EPOCH, n.id))),
        revio_ticket_id=extended_attribute(doc, markers.TICKET_ATTRIBUTE)
        or markers.revio_ticket_id(optional_text(doc, "description")),
    )


def alert(doc: Doc, category: StatusCategory) -> RmmAlert:
    ticket_id = required_text(doc, "id", "alert ticket")
    endpoints = asset_ids(doc)
    return RmmAlert(
        ticket_id=ticket_id,
        endpoint_id=endpoints[0] if endpoints else None,
        company_id=optional_text(doc, "company", "id"),
        site_id=optional_text(doc, "site", "id"),
        condition_id=extended_attribute(doc, "conditionId") or f"ticket:{ticket_id}",
        alert_id=extended_attribute(doc, "alertId"),
        severity=severity(optional_text(doc, "priority", "name")),
        summary=required_text(doc, "summary", "alert ticket"),
        description=optional_text(doc, "description"),
        status_category=category,
        updated_at=moment(doc.get("updatedAt"), "alert ticket"),
        version=version_of(doc),
    )
