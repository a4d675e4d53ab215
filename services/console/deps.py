"""The console's context and the request dependencies every route uses: who is calling
(bearer token or session cookie, with CSRF for unsafe cookie requests) and for which tenant.
"""

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qs

import asyncpg
from fastapi import Depends, HTTPException, Request
from nats.js import JetStreamContext
from revsync.contracts.subjects import validate_tenant_id
from revsync.eventlog import EventStore
from revsync.secrets_box import SecretBox
from revsync.tenant_store import TenantStore

from services.console.auth import Principal, Users, csrf_matches
from services.console.config import ConsoleSettings
from services.console.live_checks import LiveChecks
from services.console.mappings import MappingStore
from services.console.validation import SettingsValidator

SESSION_COOKIE = "revsync_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Console:
    pool: asyncpg.Pool
    settings: ConsoleSettings
    mappings: MappingStore
    js: JetStreamContext | None = None
    checks: LiveChecks = field(default_factory=LiveChecks)
    box: SecretBox | None = None

    def __post_init__(self) -> None:
        self.tenants = TenantStore(self.pool, self.box)
        self.users = Users(self.pool)
        self.store = EventStore(self.pool)
        self.validator = SettingsValidator(self.checks)


class NotAuthenticated(Exception):
    """No valid token or session: 401 for the API, a redirect to the login page for pages."""


class TenantNeeded(Exception):
    """An operator who sees several tenants has not said which one."""


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The urlencoded form of a page POST (parsed here: no python-multipart needed)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return parse_qs((await request.body()).decode(), keep_blank_values=True)
    return {}


async def authenticated(request: Request) -> Principal:
    console = get_console(request)
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    if header.lower().startswith("bearer "):
        principal = await console.users.resolve(header[7:].strip(), "api")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await console.users.resolve(cookie, "session")
        if principal is not None and request.method not in SAFE_METHODS:
            offered = request.headers.get(CSRF_HEADER)
            if offered is None:
                offered = next(iter((await form_fields(request)).get(CSRF_FIELD, [])), None)
            if not csrf_matches(principal, offered):
                raise HTTPException(403, "missing or wrong CSRF token")
    if principal is None:
        raise NotAuthenticated()
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(authenticated)]


def presents_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization")) or SESSION_COOKIE in request.cookies


async def caller_if_any(request: Request) -> Principal | None:
    """The caller of a route open to anonymous callers: None when the request presents no
    credentials; credentials that do not verify are refused (401) as on every other route,
    never taken for anonymous."""
    return await authenticated(request) if presents_credentials(request) else None


Caller = Annotated[Principal | None, Depends(caller_if_any)]


def writer(principal: CurrentUser) -> Principal:
    if not principal.can_write:
        raise HTTPException(403, "this user may only read")
    return principal


Writer = Annotated[Principal, Depends(writer)]


async def tenant_scope(request: Request, principal: CurrentUser) -> str:
    """The tenant of this request: the user's own, or for an operator `?tenant=`, else the
    tenant chosen in the UI, else the only tenant there is."""
    asked = request.query_params.get("tenant")
    if not principal.is_operator:
        if asked and asked != principal.tenant_id:
            raise HTTPException(403, "this user belongs to another tenant")
        assert principal.tenant_id is not None
        return principal.tenant_id
    if asked:
        try:
            return validate_tenant_id(asked)
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
    if principal.selected_tenant:
        return principal.selected_tenant
    ids = await get_console(request).tenants.list_ids(enabled_only=False)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise TenantNeeded("no tenant exists yet: pass ?tenant=<new id> to configure one")
    raise TenantNeeded(f"this operator sees {len(ids)} tenants: pass ?tenant=<id>")


async def known_tenant(request: Request, tenant: Annotated[str, Depends(tenant_scope)]) -> str:
    """The tenant of this request, which must exist (a disabled one does): 404 otherwise. A
    user of one tenant asking for another was refused (403) before any lookup, so only an
    operator learns whether a tenant exists."""
    if await get_console(request).tenants.load(tenant, with_secrets=False) is None:
        raise tenant_not_known(tenant)
    return tenant


def tenant_not_known(tenant: str) -> HTTPException:
    return HTTPException(404, f"tenant {tenant!r} is not known")


TenantId = Annotated[str, Depends(tenant_scope)]
"""The tenant a request names, which may not exist yet: only for saving settings (which
creates it). Every other tenant-scoped route takes `KnownTenant`."""
KnownTenant = Annotated[str, Depends(known_tenant)]
Ctx = Annotated[Console, Depends(get_console)]
