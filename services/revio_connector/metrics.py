"""Prometheus figures of the connector beyond the kernel's per-call counter."""

from prometheus_client import Counter
from revsync.logs import get_logger
from revsync.vendor import VendorError

log = get_logger(__name__)

INVALID = Counter(
    "revsync_revio_invalid_total",
    "Rev.io answers or records the connector could not understand (kept in the log)",
    ["tenant", "endpoint"],
)
CHANGES = Counter(
    "revsync_revio_changes", "Changes emitted from Rev.io", ["tenant", "entity", "kind"]
)
WEBHOOKS = Counter(
    "revsync_revio_webhooks", "Webhook requests received from Rev.io", ["tenant", "outcome"]
)


def count_invalid(tenant_id: str, endpoint: str, error: VendorError) -> None:
    """Count and log (with the truncated payload) what Rev.io sent that we cannot use."""
    INVALID.labels(tenant_id, endpoint).inc()
    log.warning(
        "invalid Rev.io data",
        tenant_id=tenant_id,
        endpoint=endpoint,
        error=str(error),
        payload=error.payload,
    )
