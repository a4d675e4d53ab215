"""Request bodies: JSON for POST, RFC 6902 JSON Patch for PATCH, validated into 400s."""

import json
from collections.abc import Iterable
from typing import Any, TypeVar

import jsonpatch
import jsonpointer
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from services.sandbox.revio.errors import RevioError, validation_message

JSON_PATCH = "application/json-patch+json"
Model = TypeVar("Model", bound=BaseModel)


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise RevioError(400, "The request body is not valid JSON.") from None


def parse_as(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RevioError(400, validation_message(exc)) from None


async def json_patch(request: Request) -> jsonpatch.JsonPatch:
    """The PATCH body; [doc] its content type must be `application/json-patch+json`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON_PATCH:
        raise RevioError(400, f"PATCH takes a JSON Patch document ({JSON_PATCH}).")
    operations = await json_body(request)
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise RevioError(400, "A JSON Patch document is a list of operation objects.")
    try:
        return jsonpatch.JsonPatch(operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise RevioError(400, f"Invalid JSON Patch: {exc}") from None


def patched(
    patch: jsonpatch.JsonPatch, document: dict[str, Any], read_only: Iterable[str]
) -> dict[str, Any]:
    """`document` with `patch` applied (a copy); 400 if it fails or touches a read-only field."""
    try:
        result = patch.apply(document)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise RevioError(400, f"The patch cannot be applied: {exc}") from None
    if not isinstance(result, dict):
        raise RevioError(400, "The patch must leave an object.")
    for name in read_only:
        if result.get(name) != document.get(name):
            raise RevioError(400, f"{name} is read-only.")
    return {name: value for name, value in result.items() if name not in read_only}
