"""What every page needs: the console, the signed-in user (else a redirect to the login
page) and the tenant in view (else the tenant picker; a tenant that does not exist is a 404
page, as the API answers 404); and its routes, which answer a request they cannot serve with
an HTML page where the API answers JSON."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from services.console.auth import Principal
from services.console.deps import (
    Console,
    authenticated,
    get_console,
    known_tenant,
    tenant_scope,
)
from services.console.pages.html import error_page


@dataclass(frozen=True)
class PageCtx:
    console: Console
    principal: Principal
    tenant: str


async def page_ctx(request: Request) -> PageCtx:
    """The page's context: its tenant must exist (else 404, as `KnownTenant` in the API)."""
    principal = await authenticated(request)
    tenant = await known_tenant(request, await tenant_scope(request, principal))
    return PageCtx(get_console(request), principal, tenant)


async def setup_ctx(request: Request) -> PageCtx:
    """The context of a page for a tenant that may not exist yet: the wizard (its first step
    creates the tenant) and the home page (which sends such a tenant to the wizard)."""
    principal = await authenticated(request)
    return PageCtx(get_console(request), principal, await tenant_scope(request, principal))


Page = Annotated[PageCtx, Depends(page_ctx)]
SetupPage = Annotated[PageCtx, Depends(setup_ctx)]


def safe_next(target: str | None) -> str:
    """Only a path of this site (never `//elsewhere`)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def invalid_input(errors: Any) -> str:
    """What was wrong with a page's path or query, by name (never the value: it is the
    user's input)."""
    said = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("path", "query"))
        said.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(said)


class PageRoute(APIRoute):
    """A page route: a path or query value of the wrong type (else the app's JSON 422) or an
    HTTP error of the page is answered with an HTML page of that status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        serve = super().get_route_handler()

        async def serve_page(request: Request) -> Response:
            try:
                return await serve(request)
            except RequestValidationError as error:
                return error_page(422, invalid_input(error.errors()))
            except HTTPException as error:
                answer = error_page(error.status_code, error.detail)
                answer.headers.update(error.headers or {})
                return answer

        return serve_page


def page_router() -> APIRouter:
    """The router of a module of pages (left out of the OpenAPI document)."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)
