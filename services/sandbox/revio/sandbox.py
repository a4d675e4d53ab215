"""The state one Rev.io sandbox app serves: its accounts, quota and webhook sender."""

from dataclasses import dataclass, field

from starlette.requests import Request

from services.sandbox.common.rate_limit_switch import RateLimitSwitch
from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.notifier import WebhookNotifier
from services.sandbox.revio.ratelimit import RevioRateLimits


@dataclass
class RevioSandbox:
    accounts: dict[str, RevioAccount] = field(default_factory=dict)
    notifier: WebhookNotifier = field(default_factory=WebhookNotifier)
    limits: RevioRateLimits = field(default_factory=RevioRateLimits)
    rate_limiting: RateLimitSwitch = field(default_factory=RateLimitSwitch)

    def add_account(self, account: RevioAccount) -> None:
        self.accounts[account.client_code] = account


def sandbox_of(request: Request) -> RevioSandbox:
    sandbox: RevioSandbox = request.app.state.revio
    return sandbox
