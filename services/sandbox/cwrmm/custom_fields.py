"""Custom field definitions and the typed validation of values set against them."""

import re
from datetime import datetime
from typing import Any

from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.errors import ApiError, bad_request
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.store import Document, RmmStore

ENTITY_TYPES = ("client", "site", "endpoint", "contact", "ticket", "ticketnote")
ENTITY_ALIASES = {"device": "endpoint", "company": "client"}  # the list filter's own words
ATTRIBUTE_TYPES = ("boolean", "string", "enum", "datetime", "integer")


def new_definition(store: RmmStore, body: Any, user: str) -> Document:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise bad_request("name is required")
    entity_type, attribute_type = body.get("entityType"), body.get("attributeType", "string")
    if entity_type not in ENTITY_TYPES or attribute_type not in ATTRIBUTE_TYPES:
        raise bad_request(
            f"entityType must be one of {ENTITY_TYPES}, attributeType one of {ATTRIBUTE_TYPES}"
        )
    options = body.get("validationOptions") or {}
    if not isinstance(options, dict) or not _valid_options(options, attribute_type):
        raise bad_request("validationOptions holds one of: regex (text), enum (list of text)")
    for existing in store.field_definitions.values():
        if (existing["name"], existing["entityType"]) == (body["name"], entity_type):
            raise ApiError(409, "already_exists", f"definition {body['name']} already exists")
    default, description = body.get("defaultValue"), body.get("description", "")
    if not isinstance(default, str | None) or not isinstance(description, str):
        raise bad_request("defaultValue and description must be text")
    now = iso()
    definition = {
        "id": new_id(),
        "name": body["name"],
        "description": description,
        "entityType": entity_type,
        "attributeType": attribute_type,
        "validationOptions": options,
        "defaultValue": default,
        "isEditable": body.get("isEditable", True) is not False,
        "createdAt": now,
        "createdBy": user,
        "updatedAt": now,
        "updatedBy": user,
    }
    store.field_definitions[definition["id"]] = definition
    return definition


def check_value(definition: Document, value: Any) -> str | None:
    """The value as stored (text, or None to clear); 400 if it does not fit the definition."""
    if value is None:
        return None
    text = value if isinstance(value, str) else None
    kind, options = definition["attributeType"], definition.get("validationOptions") or {}
    valid = text is not None and {
        "boolean": lambda t: t in ("true", "false"),
        "integer": lambda t: re.fullmatch(r"-?\d+", t) is not None,
        "datetime": _is_datetime,
        "enum": lambda t: t in options.get("enum", []),
        "string": lambda t: "regex" not in options or re.fullmatch(options["regex"], t),
    }[kind](text)
    if not valid:
        raise bad_request(f"value {value!r} is not a valid {kind} for {definition['name']}")
    return text


def _valid_options(options: Document, attribute_type: str) -> bool:
    if not options:
        return attribute_type != "enum"
    if "enum" in options:
        return isinstance(options["enum"], list) and all(
            isinstance(o, str) for o in options["enum"]
        )
    if "regex" in options and isinstance(options["regex"], str):
        try:
            re.compile(options["regex"])
        except re.error:
            return False
        return len(options) == 1
    return False


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
