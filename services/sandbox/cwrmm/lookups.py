"""Ticketing lookups every account starts with: service boards, sources, statuses, priorities,
types. Ids are stable, so they are the same in every account."""

from typing import Any

from services.sandbox.cwrmm.ids import stable_id

ALERT_SOURCE = "Alert"
ALERT_BOARD = "NOC"
AUTO_CLOSED_STATUS = "Auto Closed"
SEVERITY_PRIORITIES = ("Critical", "High", "Medium", "Low", "Info")
SOURCES = (ALERT_SOURCE, "Manual", "Email", "Phone", "Portal")
TYPES = ("Incident", "Service Request", "Problem", "Change")
# (name, category, slaStatus)
STATUSES = (
    ("New", "New", "NotResponded"),
    ("In Progress", "InProgress", "Responded"),
    ("Waiting on Customer", "InProgress", "Waiting"),
    ("Resolved", "Closed", "Resolved"),
    ("Closed", "Closed", "Resolved"),
    (AUTO_CLOSED_STATUS, "Closed", "Resolved"),
)
# (name, default priority, inactive)
BOARDS = (("Help Desk", "Medium", False), (ALERT_BOARD, "High", False), ("Projects", "Low", True))
CREATED_AT = "2024-01-01T00:00:00Z"
SYSTEM_USER = stable_id("user", "system")


def _entry(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": stable_id(kind, name),
        "name": name,
        "createdAt": CREATED_AT,
        "createdBy": SYSTEM_USER,
        "updatedAt": CREATED_AT,
        "updatedBy": SYSTEM_USER,
        **extra,
    }


def default_lookups() -> dict[str, list[dict[str, Any]]]:
    priorities = [_entry("priority", name) for name in SEVERITY_PRIORITIES]
    by_name = {priority["name"]: priority for priority in priorities}
    boards = [
        _entry(
            "board",
            name,
            description=f"{name} board",
            inactiveFlag=inactive,
            defaultPriority={"id": by_name[priority]["id"], "name": priority},
        )
        for name, priority, inactive in BOARDS
    ]
    statuses = [
        _entry("status", name, category=category, slaStatus=sla, inactiveFlag=False)
        for name, category, sla in STATUSES
    ]
    return {
        "serviceBoards": boards,
        "sources": [_entry("source", name) for name in SOURCES],
        "statuses": statuses,
        "priorities": priorities,
        "types": [_entry("type", name) for name in TYPES],
    }
