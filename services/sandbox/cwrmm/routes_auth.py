"""`POST /v1/token` (client credentials, JSON body) and `GET /v1/rate_limits`."""

from typing import Any

from fastapi import APIRouter, Request

from services.sandbox.cwrmm.errors import ApiError, bad_request
from services.sandbox.cwrmm.sandbox import JsonBody, caller, sandbox_of
from services.sandbox.cwrmm.tokens import ALL_SCOPES, TOKEN_LIFETIME_S

router = APIRouter()


@router.post("/v1/token")
def issue_token(request: Request, body: JsonBody = None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object with client credentials")
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if body.get("grant_type", "client_credentials") != "client_credentials":
        raise bad_request("only grant_type client_credentials is supported", "unsupported_grant")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise bad_request("client_id and client_secret are required", "invalid_request")
    accounts = sandbox_of(request).accounts
    accounts.tokens.admit(client_id)
    account = accounts.accounts.get(client_id)
    if account is None or account.client_secret != secret:
        raise ApiError(401, "invalid_client", "Unknown client or wrong client secret")
    requested = body.get("scope")
    scopes = frozenset(str(requested).split()) if requested else ALL_SCOPES
    if not scopes <= ALL_SCOPES:
        unknown = ", ".join(sorted(scopes - ALL_SCOPES))
        raise bad_request(f"unknown scope(s): {unknown}", "invalid_scope")
    token = accounts.tokens.issue(client_id, scopes)
    return {
        "access_token": token.value,
        "scope": " ".join(sorted(scopes)),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_S,
    }


@router.get("/v1/rate_limits")
def rate_limits(request: Request) -> dict[str, Any]:
    return caller(request).limits.report()
