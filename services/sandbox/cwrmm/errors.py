"""Vendor-shaped errors. The spec uses three error bodies, by API family:

- ticketing (`/service/ticketing/`): a list of `{code, message}` (`TicketAPIErrors`);
- custom fields: `{error, description}` (`Error`);
- everything else: `{code, message}` (`error`).
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} not found")


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def error_body(path: str, code: str, message: str) -> Any:
    if "/service/ticketing/" in path:
        return [{"code": code, "message": message}]
    if "custom-field" in path:
        return {"error": code, "description": message}
    return {"code": code, "message": message}


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        body = error_body(request.url.path, error.code, error.message)
        return JSONResponse(body, status_code=error.status, headers=error.headers)

    async def on_invalid_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        body = error_body(request.url.path, "invalid_request", problems)
        return JSONResponse(body, status_code=400)

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        """Framework errors (unparsable body, unknown route, wrong method) in vendor shape."""
        assert isinstance(error, HTTPException)
        code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_")
        body = error_body(request.url.path, code, str(error.detail))
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
