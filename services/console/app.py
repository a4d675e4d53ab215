"""The console's FastAPI app: the REST API under `/api` (OpenAPI at `/openapi.json`) and the
server-rendered UI, over one `Console` context."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from revsync.secrets_box import SecretKeyMissing

from services.console import (
    api_audit,
    api_auth,
    api_health,
    api_mappings,
    api_settings,
    api_sync_runs,
    api_tenants,
)
from services.console.deps import Console, NotAuthenticated, TenantNeeded
from services.console.pages import audit, health, login, mappings, sync, tenants, wizard
from services.console.pages.common import SetupPage
from services.console.pages.html import esc, page
from services.console.settings_service import settings_document

DESCRIPTION = """The revsync console API. Authenticate with `Authorization: Bearer <token>`
(from `POST /api/auth/token`); operators name the tenant with `?tenant=<id>`. Secrets are
write-only: no response ever contains one."""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    return ".".join(loc) or "body"


def _not_json(error: dict[str, Any], body: Any) -> str:
    """Why a body is not JSON and where (the parser's words, never the body's text): its
    `loc` is ("body", offset), which `_field_of` would take for a field named by a number."""
    why = str((error.get("ctx") or {}).get("error") or "cannot be parsed")
    offset = error["loc"][-1] if len(error.get("loc", ())) > 1 else None
    if not isinstance(offset, int) or not isinstance(body, str):
        return f"the body is not valid JSON: {why}"
    line = body.count("\n", 0, offset) + 1
    column = offset - body.rfind("\n", 0, offset)
    return f"the body is not valid JSON: {why} at line {line}, column {column}"


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """One `{field, message}` per problem; never the input (it may hold a secret)."""
    return [
        {"field": "body", "message": _not_json(e, exc.body)}
        if e.get("type") == "json_invalid"
        else {"field": _field_of(e), "message": str(e.get("msg"))}
        for e in exc.errors()
    ]


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(TenantNeeded)
    async def tenant_needed(request: Request, exc: TenantNeeded) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return RedirectResponse("/tenants", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"errors": _field_errors(exc)}, status_code=422)

    @app.exception_handler(SecretKeyMissing)
    async def no_key(_: Request, exc: SecretKeyMissing) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)


def create_app(console: Console) -> FastAPI:
    app = FastAPI(
        title="revsync console",
        version="1",
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.console = console
    install_handlers(app)
    for module in (
        api_auth,
        api_settings,
        api_sync_runs,
        api_mappings,
        api_audit,
        api_health,
        api_tenants,
    ):
        app.include_router(module.router)
    for pages in (login, tenants, wizard, sync, mappings, audit, health):
        app.include_router(pages.router)

    @app.get("/", include_in_schema=False)
    async def home(ctx: SetupPage) -> Response:
        configured = await settings_document(ctx.console, ctx.tenant)
        return RedirectResponse("/sync" if configured else "/wizard/initial", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        detail = getattr(exc, "detail", "not found")
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=404)
        return page("Not found", f"<p>{esc(detail)}</p>", None, status_code=404)

    return app
