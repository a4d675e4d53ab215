"""HTTP Basic `username@clientcode:password`, the per-account quota and per-user permissions.

Order for each vendor call: credentials (401), quota (429), permission (403).
"""

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request

from services.sandbox.common import clock
from services.sandbox.revio.accounts import Access, RevioAccount
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.sandbox import sandbox_of

DENIED = "Authorization has been denied for this request."


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(username, client code, password) from the Authorization header, if well formed.

    [doc] The user name must not itself be an e-mail address: exactly one `@` is allowed.
    """
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    username, at, client_code = user.partition("@")
    if not colon or not at or "@" in client_code or not username or not client_code:
        return None
    return username, client_code, password


def client_code_of(headers: Mapping[str, str]) -> str | None:
    """The client code a request claims, unverified (request log and per-account faults)."""
    credentials = basic_credentials(headers)
    return credentials[1] if credentials else None


async def authenticated_account(request: Request) -> RevioAccount:
    sandbox = sandbox_of(request)
    credentials = basic_credentials(request.headers)
    account = sandbox.accounts.get(credentials[1]) if credentials else None
    if (
        credentials is None
        or account is None
        or (account.username, account.password)
        != (
            credentials[0],
            credentials[2],
        )
    ):
        raise RevioError(401, DENIED, {"WWW-Authenticate": 'Basic realm="Rev.io"'})
    if sandbox.rate_limiting.enabled:
        wait_s = account.calls.admit(sandbox.limits, clock.now())
        if wait_s is not None:
            message = "API rate limit exceeded. Try again later."
            raise RevioError(429, message, {"Retry-After": str(wait_s)})
    return account


def require(resource: str, access: Access) -> Callable[[Request], Awaitable[RevioAccount]]:
    """A FastAPI dependency: the caller's account, once it may `access` `resource`."""

    async def permitted_account(request: Request) -> RevioAccount:
        account = await authenticated_account(request)
        if not account.may(resource, access):
            raise RevioError(403, f"The user has no {access} permission on {resource}.")
        return account

    return permitted_account
