"""Per-account rate-limit buckets in fixed 5-minute windows, shaped like `GET /v1/rate_limits`."""

import math
from dataclasses import dataclass, field

from services.sandbox.common import clock
from services.sandbox.cwrmm.errors import ApiError

WINDOW_S = 300
DEFAULT_LIMIT = 500  # calls per bucket per window

Bucket = tuple[str, str]  # (resource group, bucket name) as in the rate_limits response
ALERTS: Bucket = ("alerts", "create-alert")
ASSET: Bucket = ("asset", "partner-asset-endpoints-details")
SERVICE: Bucket = ("service", "rate-limit")
CLIENTS: Bucket = ("topology", "partner-topology-clients")
SITES: Bucket = ("topology", "partner-topology-sites")
ENDPOINTS: Bucket = ("topology", "partner-topology-endpoints")
BUCKETS = (ALERTS, ASSET, SERVICE, CLIENTS, ENDPOINTS, SITES)


@dataclass
class RateWindows:
    limit: int = DEFAULT_LIMIT
    _used: dict[Bucket, tuple[int, int]] = field(default_factory=dict)  # bucket -> (window, n)

    def consume(self, bucket: Bucket) -> None:
        window = self._window()
        started, used = self._used.get(bucket, (window, 0))
        used = used if started == window else 0
        if used >= self.limit:
            reset = window + WINDOW_S
            raise ApiError(
                429,
                "rate_limit_exceeded",
                f"Rate limit of {self.limit} calls per {WINDOW_S} s exceeded for {bucket[1]}",
                {"Retry-After": str(max(1, math.ceil(reset - clock.now())))},
            )
        self._used[bucket] = (window, used + 1)

    def report(self) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
        window = self._window()
        resources: dict[str, dict[str, dict[str, int]]] = {}
        for group, name in BUCKETS:
            started, used = self._used.get((group, name), (window, 0))
            remaining = self.limit - (used if started == window else 0)
            resources.setdefault(group, {})[name] = {
                "limit": self.limit,
                "remaining": remaining,
                "reset": window + WINDOW_S,
            }
        return {"resources": resources}

    @staticmethod
    def _window() -> int:
        return int(clock.now()) // WINDOW_S * WINDOW_S
