"""Ticket rules: creation, replacement, JSON-Patch `replace`, and the `version` / `updatedAt`
bookkeeping every update does."""

from typing import Any

import jsonpatch

from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.errors import ApiError, bad_request
from services.sandbox.cwrmm.ids import new_id, stable_id
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_fields import writable_fields

READ_ONLY = frozenset(
    {"id", "number", "nocTicketId", "createdAt", "createdBy", "updatedAt", "updatedBy", "version"}
)


def api_user(store: RmmStore) -> dict[str, str]:
    return {"id": stable_id("api-user", store.partner_id)}


def create_ticket(store: RmmStore, body: Any, actor: dict[str, str]) -> Document:
    fields, at = writable_fields(store, body), iso()
    ticket = {
        "id": new_id(),
        "number": store.take_ticket_number(),
        **fields,
        "createdAt": at,
        "createdBy": actor,
        "updatedAt": at,
        "updatedBy": actor,
        "version": 1,
    }
    store.tickets[ticket["id"]] = ticket
    return ticket


def replace_ticket(store: RmmStore, ticket: Document, body: Any, actor: dict[str, str]) -> Document:
    fields = writable_fields(store, body)
    kept = {name: ticket[name] for name in READ_ONLY if name in ticket}
    ticket.clear()
    ticket.update({**fields, **kept})
    return touch(ticket, actor)


def patch_ticket(
    store: RmmStore, ticket: Document, operations: Any, actor: dict[str, str]
) -> Document:
    if not isinstance(operations, list) or not operations:
        raise bad_request("body must be a non-empty JSON Patch array")
    for operation in operations:
        if not isinstance(operation, dict) or operation.get("op") != "replace":
            raise ApiError(405, "method_not_allowed", "Only replace operation is allowed")
        field_name = str(operation.get("path", "")).lstrip("/").split("/")[0]
        if field_name in READ_ONLY or not field_name:
            raise bad_request(f"path {operation.get('path')!r} is read-only or invalid")
    try:
        patched = jsonpatch.apply_patch(ticket, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise bad_request(f"patch cannot be applied: {error}") from error
    return replace_ticket(store, ticket, patched, actor)


def touch(ticket: Document, actor: dict[str, str]) -> Document:
    ticket["version"] = ticket.get("version", 0) + 1
    ticket["updatedAt"], ticket["updatedBy"] = iso(), actor
    return ticket
