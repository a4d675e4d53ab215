"""`SandboxControl`: the request log, fault rules, rate-limit switch and account registry of
one sandbox app, plus the wiring that puts them in front of the app and under `/_sandbox`."""

from pathlib import Path
from typing import Any, Protocol

import orjson
from fastapi import APIRouter, FastAPI

from services.sandbox.common.control_routes import control_router
from services.sandbox.common.faults import FaultRules
from services.sandbox.common.middleware import AccountResolver, ErrorBody, SandboxMiddleware
from services.sandbox.common.rate_limit_switch import RateLimitSwitch
from services.sandbox.common.request_log import RequestLog


class AccountsBackend(Protocol):
    """What an app gives the control API: its vendor accounts and its whole state."""

    def list_accounts(self) -> list[dict[str, Any]]: ...

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create or reseed an account from an app-specific body; raise ValueError if bad."""
        ...

    def dump_state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...


def default_error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": str(status), "message": message}


def no_account(_: object) -> None:
    return None


class SandboxControl:
    def __init__(
        self,
        accounts: AccountsBackend,
        account_of: AccountResolver = no_account,
        *,
        token_path: str | None = None,
        error_body: ErrorBody = default_error_body,
        rate_limits_enabled: bool = True,
    ) -> None:
        self.accounts = accounts
        self.account_of = account_of
        self.error_body = error_body
        self.request_log = RequestLog()
        self.faults = FaultRules(token_path=token_path)
        self.rate_limits = RateLimitSwitch(rate_limits_enabled)

    def install(self, app: FastAPI) -> None:
        """Mount the control API and put the logging/fault middleware in front of `app`."""
        app.include_router(self.router())
        app.add_middleware(
            SandboxMiddleware,
            request_log=self.request_log,
            faults=self.faults,
            account_of=self.account_of,
            error_body=self.error_body,
        )

    def router(self) -> APIRouter:
        return control_router(self)

    def save_snapshot(self, path: str | Path) -> None:
        Path(path).write_bytes(orjson.dumps(self.accounts.dump_state()))

    def load_snapshot(self, path: str | Path) -> None:
        self.accounts.load_state(orjson.loads(Path(path).read_bytes()))
