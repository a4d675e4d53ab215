"""The control API under `/_sandbox`: request log, faults, rate-limit switch, accounts,
snapshots. Not part of any vendor surface; no auth; never logged."""

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel

from services.sandbox.common.faults import FaultRule, FaultSet
from services.sandbox.common.request_log import CountKey

if TYPE_CHECKING:
    from services.sandbox.common.control import SandboxControl


class RateLimitToggle(BaseModel):
    enabled: bool


class SnapshotFile(BaseModel):
    path: str


def control_router(control: "SandboxControl") -> APIRouter:
    router = APIRouter(prefix="/_sandbox", include_in_schema=False)

    @router.get("/requests")
    def request_counts(
        account: str | None = None, path_prefix: str | None = None, by: CountKey = "template"
    ) -> dict[str, Any]:
        counts = control.request_log.counts(account, path_prefix, by)
        return {"counts": counts, "total": sum(counts.values())}

    @router.delete("/requests", status_code=204)
    def clear_requests() -> None:
        control.request_log.clear()

    @router.get("/faults")
    def current_faults() -> list[FaultRule]:
        return control.faults.rules

    @router.put("/faults")
    def replace_faults(fault_set: FaultSet | list[FaultRule]) -> list[FaultRule]:
        """Body: `{"rules": [...], "seed": 1}`, or just the list of rules."""
        if isinstance(fault_set, list):
            fault_set = FaultSet(rules=fault_set)
        control.faults.replace(fault_set.rules, fault_set.seed)
        return control.faults.rules

    @router.delete("/faults", status_code=204)
    def clear_faults() -> None:
        control.faults.clear()

    @router.put("/rate-limits")
    def switch_rate_limits(toggle: RateLimitToggle) -> RateLimitToggle:
        control.rate_limits.set(toggle.enabled)
        return RateLimitToggle(enabled=control.rate_limits.enabled)

    @router.get("/accounts")
    def list_accounts() -> list[dict[str, Any]]:
        return control.accounts.list_accounts()

    @router.post("/accounts", status_code=201)
    def create_account(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            return control.accounts.create_account(body)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error

    @router.post("/snapshot")
    def save_snapshot(target: SnapshotFile) -> SnapshotFile:
        control.save_snapshot(target.path)
        return target

    @router.post("/restore")
    def restore_snapshot(source: SnapshotFile) -> SnapshotFile:
        try:
            control.load_snapshot(source.path)
        except FileNotFoundError as error:
            raise HTTPException(404, f"no snapshot at {source.path}") from error
        return source

    return router
