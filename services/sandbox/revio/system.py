"""`/v1/SystemStatus`: [client] 200 with valid credentials; clients use it as a credential check."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import authenticated_account

router = APIRouter(prefix="/v1")


@router.get("/SystemStatus")
async def system_status(
    caller: Annotated[RevioAccount, Depends(authenticated_account)],
) -> dict[str, Any]:
    return {"ok": True, "status": "OK", "client_code": caller.client_code}
