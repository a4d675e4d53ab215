"""RFC 6902 JSON Patch on company and site documents, guarding read-only fields."""

from typing import Any

import jsonpatch

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.store import Document

OPERATIONS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def patched(document: Document, operations: Any, read_only: frozenset[str]) -> Document:
    """A patched copy of `document`; 400 for a malformed patch or one touching `read_only`."""
    if not isinstance(operations, list) or not operations:
        raise bad_request("body must be a non-empty JSON Patch array")
    for operation in operations:
        op = operation.get("op") if isinstance(operation, dict) else None
        if not isinstance(op, str) or op not in OPERATIONS:
            raise bad_request(f"invalid patch operation {operation!r}")
        for pointer in (operation.get("path"), operation.get("from")):
            if pointer is not None and _top_field(pointer) in read_only:
                raise bad_request(f"{pointer} is read-only")
    try:
        result = jsonpatch.apply_patch(document, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as error:
        raise bad_request(f"patch cannot be applied: {error}") from error
    if not isinstance(result, dict):
        raise bad_request("patch must leave an object")
    name = result.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name must stay a non-empty string")
    return result


def _top_field(pointer: Any) -> str:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise bad_request(f"invalid JSON pointer {pointer!r}")
    return pointer[1:].split("/")[0]
