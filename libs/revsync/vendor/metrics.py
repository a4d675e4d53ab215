"""Every vendor call counted by tenant, vendor, endpoint and outcome (Prometheus), plus an
in-process tally the health view reads."""

from collections import Counter

from prometheus_client import Counter as PromCounter

VENDOR_CALLS = PromCounter(
    "revsync_vendor_calls",
    "HTTP calls made to a vendor API",
    ["tenant", "vendor", "endpoint", "outcome"],
)
_tally: Counter[tuple[str, str, str, str]] = Counter()


def count_call(tenant: str, vendor: str, endpoint: str, outcome: str) -> None:
    VENDOR_CALLS.labels(tenant, vendor, endpoint, outcome).inc()
    _tally[(tenant, vendor, endpoint, outcome)] += 1


def calls_made(tenant: str | None = None, vendor: str | None = None) -> dict[str, int]:
    """Calls so far in this process, keyed "vendor endpoint outcome"."""
    return {
        f"{v} {e} {o}": n
        for (t, v, e, o), n in _tally.items()
        if (tenant is None or t == tenant) and (vendor is None or v == vendor)
    }
