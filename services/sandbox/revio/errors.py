"""Rev.io error answers: `{"ok": false, "message": ...}` for every vendor failure, routing too.

The control API under `/_sandbox` keeps FastAPI's own error answers.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.sandbox.common import CONTROL_PREFIX


class RevioError(Exception):
    """Raised anywhere in a request to answer with Rev.io's error envelope."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"ok": False, "message": message}, status_code=status, headers=headers)


def validation_message(errors: Sequence[Mapping[str, Any]] | ValidationError) -> str:
    """One readable sentence from pydantic errors, e.g. `finance.bill_profile_id is required`."""
    details = errors.errors() if isinstance(errors, ValidationError) else errors
    parts = []
    for error in details:
        location = ".".join(str(step) for step in error["loc"] if step not in ("body", "path"))
        reason = "is required" if error["type"] == "missing" else f"is invalid: {error['msg']}"
        parts.append(f"{location} {reason}")
    return "The request is invalid: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    async def on_revio_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RevioError)
        return error_response(exc.status, exc.message, exc.headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(CONTROL_PREFIX):
            return await http_exception_handler(request, exc)
        message = {404: "The resource was not found.", 405: "The method is not allowed."}
        return error_response(
            exc.status_code, message.get(exc.status_code, str(exc.detail)), exc.headers
        )

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(CONTROL_PREFIX):
            return await request_validation_exception_handler(request, exc)
        return error_response(400, validation_message(list(exc.errors())))

    app.add_exception_handler(RevioError, on_revio_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
