"""Rev.io tickets: what a client may write, status rules, the stored record and its view.

Status rules of the sandbox [inferred]: `custom_status` names a TicketStatuses entry and
implies that entry's base `status`. Setting a custom status moves `status` to its base;
setting a `status` the held custom status does not belong to clears the custom status.
`closed_date` is set when a ticket closes and is `0001-01-01T00:00:00` while it is not closed.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sandbox.revio.customfields import CustomFieldValue, resolve_fields
from services.sandbox.revio.dates import EMPTY_DATE
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.store import Record, RevioStore

READ_ONLY = ("ticket_id", "created_date", "modified_date", "closed_date")
TicketStatus = Literal["OPEN", "INWORK", "PENDING", "CLOSED"]


class TicketFields(BaseModel):
    """The writable part of a ticket (POST body; a PATCHed view minus read-only fields)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int
    ticket_type_id: int
    description: str = Field(min_length=1)
    resolution: str = ""
    status: TicketStatus = "OPEN"
    custom_status: str | None = None
    ticket_step_id: int | None = None
    priority: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "MEDIUM"
    assigned_user_id: int | None = None
    assigned_group_id: int | None = None
    fields: list[CustomFieldValue] = Field(default_factory=list)


TICKET_KEYS = (
    "ticket_id",
    "customer_id",
    "description",
    "resolution",
    "status",
    "custom_status",
    "ticket_type_id",
    "ticket_step_id",
    "priority",
    "assigned_user_id",
    "assigned_group_id",
    "created_date",
    "modified_date",
    "closed_date",
)


def ticket_view(record: Record) -> Record:
    view = {name: record[name] for name in TICKET_KEYS}
    return view | {"fields": [dict(entry) for entry in record["fields"]]}


def _settled_status(
    store: RevioStore, fields: TicketFields, existing: Record | None
) -> tuple[str, str | None]:
    """(status, custom_status) after the rules above; 400 for an unknown custom status."""
    if fields.custom_status is None:
        return fields.status, None
    if existing is not None and existing["custom_status"] == fields.custom_status:
        if existing["status"] == fields.status:
            return fields.status, fields.custom_status
        return fields.status, None
    wanted = fields.custom_status.casefold()
    definition = next(
        (row for row in store.ticket_statuses.rows.values() if row["name"].casefold() == wanted),
        None,
    )
    if definition is None or not definition["active"]:
        raise RevioError(400, f"Ticket status '{fields.custom_status}' does not exist.")
    return definition["status"], definition["name"]


def _check_references(store: RevioStore, fields: TicketFields, existing: Record | None) -> None:
    if existing is None or existing["customer_id"] != fields.customer_id:
        if fields.customer_id not in store.customers.rows:
            raise RevioError(400, f"Customer {fields.customer_id} does not exist.")
    if existing is None or existing["ticket_type_id"] != fields.ticket_type_id:
        ticket_type = store.ticket_types.get(fields.ticket_type_id)
        if ticket_type is None or not ticket_type["active"]:
            raise RevioError(400, f"Ticket type {fields.ticket_type_id} does not exist.")


def _values(store: RevioStore, fields: TicketFields, existing: Record | None, at: str) -> Record:
    _check_references(store, fields, existing)
    status, custom_status = _settled_status(store, fields, existing)
    was_closed = existing is not None and existing["status"] == "CLOSED"
    closed_date = EMPTY_DATE
    if status == "CLOSED":
        closed_date = existing["closed_date"] if existing and was_closed else at
    values: dict[str, Any] = fields.model_dump(exclude={"fields"})
    return values | {
        "status": status,
        "custom_status": custom_status,
        "closed_date": closed_date,
        "fields": resolve_fields(store.custom_fields, fields.fields),
    }


def create_ticket(store: RevioStore, fields: TicketFields, at: str) -> int:
    values = _values(store, fields, None, at)
    record = store.tickets.insert({"created_date": at, "modified_date": at, **values})
    return int(record["ticket_id"])


def update_ticket(store: RevioStore, record: Record, fields: TicketFields, at: str) -> bool:
    """Rewrite a ticket; True (and `modified_date` = `at`) if anything changed."""
    values = _values(store, fields, record, at)
    changed = any(record[name] != value for name, value in values.items())
    if changed:
        record |= values | {"modified_date": at}
    return changed
