"""Fault injection rules: per path prefix (and optional method / account), deterministic by seed.

A rule can combine several faults. For one request they are applied in this order:
token lock-out (423, only on the app's token path), 429 storm, added latency, timeout
(hang, then drop the connection), 5xx at `error_rate`, malformed JSON at `malformed_json_rate`.
Durations count from the moment the rules are installed.
"""

import math
import random
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from services.sandbox.common import clock


class Storm429(BaseModel):
    """Answer 429 with `Retry-After` for `duration_s` seconds and/or `count` requests
    (whichever ends first; neither: until the rules are cleared)."""

    retry_after_s: int = Field(5, ge=0)
    duration_s: float | None = Field(None, gt=0)
    count: int | None = Field(None, ge=1)


class FaultRule(BaseModel):
    path_prefix: str = "/"
    method: str | None = None
    account: str | None = None
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    error_status: int = Field(503, ge=500, le=599)
    latency_ms: int = Field(0, ge=0)
    timeout_s: float | None = Field(None, ge=0)
    storm_429: Storm429 | None = None
    malformed_json_rate: float = Field(0.0, ge=0.0, le=1.0)
    token_lockout_s: float | None = Field(None, gt=0)

    def matches(self, method: str, path: str, account: str | None) -> bool:
        return (
            path.startswith(self.path_prefix)
            and (self.method is None or self.method.upper() == method.upper())
            and (self.account is None or self.account == account)
        )


class FaultSet(BaseModel):
    """Body of `PUT /_sandbox/faults`."""

    rules: list[FaultRule] = Field(default_factory=list)
    seed: int | None = None


@dataclass(slots=True)
class FaultDecision:
    """What the middleware does to one request; `status` set means answer it right away."""

    status: int | None = None
    message: str = ""
    retry_after_s: int | None = None
    delay_s: float = 0.0
    drop_after_s: float | None = None
    malform_json: bool = False


@dataclass(slots=True)
class _InstalledRule:
    rule: FaultRule
    installed_at: float
    storm_served: int = 0


@dataclass
class FaultRules:
    """The active rule list of one sandbox app."""

    token_path: str | None = None
    _installed: list[_InstalledRule] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)

    @property
    def rules(self) -> list[FaultRule]:
        return [installed.rule for installed in self._installed]

    def replace(self, rules: list[FaultRule], seed: int | None = None) -> None:
        started = clock.now()
        self._installed = [_InstalledRule(rule, started) for rule in rules]
        self._rng = random.Random(seed)

    def clear(self) -> None:
        self._installed = []

    def decide(self, method: str, path: str, account: str | None) -> FaultDecision:
        decision = FaultDecision()
        for installed in self._installed:
            if installed.rule.matches(method, path, account):
                self._apply(installed, path, decision)
                if decision.status is not None:
                    return decision
        return decision

    def _apply(self, installed: _InstalledRule, path: str, decision: FaultDecision) -> None:
        rule, elapsed = installed.rule, clock.now() - installed.installed_at
        if rule.token_lockout_s and path == self.token_path and elapsed < rule.token_lockout_s:
            decision.status, decision.message = 423, "Client locked: too many token requests"
            decision.retry_after_s = math.ceil(rule.token_lockout_s - elapsed)
            return
        if rule.storm_429 and self._storm_active(installed, rule.storm_429, elapsed):
            installed.storm_served += 1
            decision.status, decision.message = 429, "Rate limit exceeded"
            decision.retry_after_s = rule.storm_429.retry_after_s
            return
        decision.delay_s += rule.latency_ms / 1000
        if rule.timeout_s is not None:
            decision.drop_after_s = rule.timeout_s
            return
        if rule.error_rate and self._rng.random() < rule.error_rate:
            decision.status, decision.message = rule.error_status, "Injected server error"
            return
        if rule.malformed_json_rate and self._rng.random() < rule.malformed_json_rate:
            decision.malform_json = True

    @staticmethod
    def _storm_active(installed: _InstalledRule, storm: Storm429, elapsed: float) -> bool:
        within_time = storm.duration_s is None or elapsed < storm.duration_s
        within_count = storm.count is None or installed.storm_served < storm.count
        return within_time and within_count
