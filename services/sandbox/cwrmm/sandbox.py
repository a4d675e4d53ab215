"""What one RMM sandbox app holds, reachable from a request, and the auth + quota dependency
every vendor route declares."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Body, Depends, Request

from services.sandbox.common.control import SandboxControl
from services.sandbox.cwrmm.accounts import RmmAccount, RmmAccounts
from services.sandbox.cwrmm.errors import ApiError
from services.sandbox.cwrmm.rate_limits import Bucket
from services.sandbox.cwrmm.store import RmmStore

JsonBody = Annotated[Any, Body()]  # any JSON: routes validate it themselves, vendor-style


@dataclass
class RmmSandbox:
    accounts: RmmAccounts
    control: SandboxControl


def sandbox_of(request: Request) -> RmmSandbox:
    sandbox: RmmSandbox = request.app.state.cwrmm
    return sandbox


def caller(request: Request, scope: str | None = None) -> RmmAccount:
    """The account of a valid, unexpired bearer token that carries `scope`; 401/403 if not."""
    sandbox = sandbox_of(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = sandbox.accounts.tokens.valid(value.strip()) if scheme.lower() == "bearer" else None
    account = sandbox.accounts.accounts.get(token.client_id) if token else None
    if token is None or account is None:
        raise ApiError(401, "unauthorized", "Missing, invalid or expired bearer token")
    if scope is not None and scope not in token.scopes:
        raise ApiError(403, "forbidden", f"Token lacks the scope {scope}")
    return account


def authorized(scope: str, bucket: Bucket) -> Any:
    """Dependency: the caller's store, after auth (`scope`) and quota (`bucket`) checks."""

    def dependency(request: Request) -> RmmStore:
        account = caller(request, scope)
        if sandbox_of(request).control.rate_limits.enabled:
            account.limits.consume(bucket)
        return account.store

    return Depends(dependency)
