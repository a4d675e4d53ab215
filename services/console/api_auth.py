"""`POST /api/auth/token` (a bearer token for a user name and password), `DELETE` it,
and `GET /api/me`."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from services.console.deps import Ctx, CurrentUser

router = APIRouter(prefix="/api", tags=["auth"])


class TokenRequest(BaseModel):
    username: str
    password: str = Field(json_schema_extra={"writeOnly": True})
    label: str | None = Field(None, description="what the token is for, e.g. 'ci'")


@router.post("/auth/token", summary="Exchange a user name and password for a bearer token")
async def issue_token(body: TokenRequest, console: Ctx) -> dict[str, Any]:
    user = await console.users.authenticate(body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password")
    issued = await console.users.issue(
        user["username"], "api", timedelta(days=console.settings.console_token_days), body.label
    )
    return {
        "token": issued.token,
        "token_type": "bearer",
        "expires_at": issued.expires_at.isoformat(),
    }


@router.delete("/auth/token", summary="Revoke the bearer token of this request")
async def revoke_token(principal: CurrentUser, console: Ctx) -> dict[str, bool]:
    await console.users.revoke(principal.token_hash)
    return {"revoked": True}


@router.get("/me", summary="Who the caller is")
async def me(principal: CurrentUser) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role,
        "tenant": principal.tenant_id,
        "via": principal.via,
    }
