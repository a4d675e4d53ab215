"""What every page needs: the console, the signed-in user (else a redirect to the login
page) and the tenant in view (else the tenant picker)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.console.auth import Principal
from services.console.deps import Console, authenticated, get_console, tenant_scope


@dataclass(frozen=True)
class PageCtx:
    console: Console
    principal: Principal
    tenant: str


async def page_ctx(request: Request) -> PageCtx:
    principal = await authenticated(request)
    tenant = await tenant_scope(request, principal)
    return PageCtx(get_console(request), principal, tenant)


Page = Annotated[PageCtx, Depends(page_ctx)]


def safe_next(target: str | None) -> str:
    """Only a path of this site (never `//elsewhere`)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"
