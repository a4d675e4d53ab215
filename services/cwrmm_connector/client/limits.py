"""RMM rate-limit buckets: which bucket each call counts against, and their limits.

The vendor limits calls per bucket in fixed 5-minute windows and reports the buckets at
`GET /v1/rate_limits` (`resources.<group>.<bucket>.limit`). Limits are learned from there;
until then (or when it cannot be read) the spec's documented figure is assumed.
"""

from typing import Any

from revsync.vendor import RateLimit

WINDOW_S = 300.0
COMPANIES = "partner-topology-clients"
SITES = "partner-topology-sites"
ENDPOINTS = "partner-topology-endpoints"
ENDPOINT_DETAILS = "partner-asset-endpoints-details"
SERVICE = "rate-limit"  # tickets, notes and ticketing lookups
ALERTS = "create-alert"
UNLIMITED = "none"  # token and rate-limit reads


class BucketLimits:
    def __init__(self, default_calls: int, enforce: bool = True) -> None:
        self.default_calls, self.enforce = default_calls, enforce
        self.learned: dict[str, int] = {}
        self.attempted_at = float("-inf")  # monotonic time of the last attempt to learn

    def learn(self, report: Any) -> dict[str, int]:
        """Read a `GET /v1/rate_limits` body; unknown shapes leave the limits as they were."""
        resources = report.get("resources") if isinstance(report, dict) else None
        found: dict[str, int] = {}
        for group in resources.values() if isinstance(resources, dict) else ():
            for name, figures in group.items() if isinstance(group, dict) else ():
                limit = figures.get("limit") if isinstance(figures, dict) else None
                if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
                    found[name] = limit
        self.learned.update(found)
        return found

    def limit_for(self, bucket: str) -> RateLimit | None:
        if not self.enforce or bucket == UNLIMITED:
            return None
        return RateLimit(bucket, self.learned.get(bucket, self.default_calls), WINDOW_S)
