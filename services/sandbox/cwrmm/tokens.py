"""OAuth2 client-credentials tokens: issue, look up, and lock out a client that asks too often."""

import math
import secrets
from collections import deque
from dataclasses import dataclass, field

from services.sandbox.common import clock
from services.sandbox.cwrmm.errors import ApiError

TOKEN_LIFETIME_S = 3599
ALL_SCOPES = frozenset(
    {
        "platform.companies.read",
        "platform.companies.write",
        "platform.devices.read",
        "platform.devices.write",
        "platform.custom-fields.read",
        "platform.custom-fields.write",
        "platform.tickets.read",
        "platform.tickets.write",
        "platform.alerts.write",
    }
)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    value: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class TokenIssuer:
    """More than `burst` token requests from one client within `burst_window_s` locks that
    client out (423) for `lockout_s`."""

    burst: int = 20
    burst_window_s: float = 60.0
    lockout_s: float = 300.0
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def admit(self, client_id: str) -> None:
        """Count one token request by `client_id`; raise 423 while it is locked out."""
        now = clock.now()
        recent = self._recent.setdefault(client_id, deque())
        while recent and recent[0] <= now - self.burst_window_s:
            recent.popleft()
        recent.append(now)
        if len(recent) > self.burst and self._locked_until.get(client_id, 0.0) <= now:
            self._locked_until[client_id] = now + self.lockout_s
            recent.clear()
        locked_until = self._locked_until.get(client_id, 0.0)
        if locked_until > now:
            retry_after = str(math.ceil(locked_until - now))
            raise ApiError(
                423,
                "client_locked",
                "Too many token requests; client locked",
                {"Retry-After": retry_after},
            )

    def issue(self, client_id: str, scopes: frozenset[str]) -> IssuedToken:
        token = IssuedToken(
            secrets.token_urlsafe(24), client_id, scopes, clock.now() + TOKEN_LIFETIME_S
        )
        self.tokens[token.value] = token
        return token

    def valid(self, value: str) -> IssuedToken | None:
        token = self.tokens.get(value)
        if token is not None and token.expires_at <= clock.now():
            del self.tokens[value]
            return None
        return token

    def revoke_client(self, client_id: str) -> None:
        self.tokens = {v: t for v, t in self.tokens.items() if t.client_id != client_id}
        self._recent.pop(client_id, None)
        self._locked_until.pop(client_id, None)
