"""What deleting a tenant does with the RMM token cached for its connection.

The RMM connector caches one OAuth token per RMM connection (base URL and client id) for the
whole deployment, encrypted, in a NATS key-value bucket (`revsync.connector.rmm_tokens`).
Deleting a tenant forgets that token with its messages, unless another tenant uses the same
connection: the token is theirs too (forgetting it would only make the connector ask the
vendor for another, which the vendor limits). A token not forgotten (NATS did not answer,
or a deletion retried after the rows went) expires by itself at the vendor's token lifetime.
"""

from dataclasses import dataclass
from typing import Any

import asyncpg
import nats.errors
from nats.js import JetStreamContext
from pydantic import ValidationError
from revsync.connector.rmm_tokens import forget_token, token_cached
from revsync.logs import get_logger
from revsync.tenancy import RmmConnection

log = get_logger(__name__)
NONE_CACHED = "none cached"
FORGOTTEN = "forgotten"
WOULD_BE_FORGOTTEN = "would be forgotten"

# Every tenant whose RMM client id is the given tenant's (the URL is compared in Python: it
# may come from a region).
_SAME_CLIENT_ID = (
    "SELECT tenant_id, config -> 'rmm' AS rmm FROM tenants"
    " WHERE config -> 'rmm' ->> 'client_id' ="
    "   (SELECT config -> 'rmm' ->> 'client_id' FROM tenants WHERE tenant_id = $1)"
    " AND config -> 'rmm' ->> 'client_id' <> ''"
)


@dataclass(frozen=True)
class TokenPlan:
    """The tenant's RMM connection, and the other tenants that use the same one."""

    base_url: str
    client_id: str
    shared_with: tuple[str, ...] = ()


def _connection(rmm: Any) -> tuple[str, str] | None:
    try:
        connection = RmmConnection.model_validate(rmm or {})
    except ValidationError:
        return None  # not a connection a connector could have used
    return connection.url, connection.client_id


async def token_plan(pool: asyncpg.Pool, tenant_id: str) -> TokenPlan | None:
    """The tenant's RMM connection and who shares it; None without one (or no such tenant)."""
    connections = {
        row["tenant_id"]: _connection(row["rmm"])
        for row in await pool.fetch(_SAME_CLIENT_ID, tenant_id)
    }
    mine = connections.pop(tenant_id, None)
    if mine is None:
        return None
    shared = tuple(sorted(other for other, theirs in connections.items() if theirs == mine))
    return TokenPlan(*mine, shared_with=shared)


async def settle_token(
    js: JetStreamContext | None,
    plan: TokenPlan | None,
    tenant_id: str,
    actor: str,
    dry_run: bool = False,
) -> str:
    """Forget the tenant's cached RMM token (a dry run only looks); what became of it (or
    would), in words for the operator."""
    if plan is None:
        return NONE_CACHED
    if plan.shared_with:
        return f"kept: tenant {', '.join(plan.shared_with)} uses the same RMM connection"
    try:
        if js is None:
            raise ConnectionError("the console is not connected to NATS")
        if dry_run:
            cached = await token_cached(js, plan.base_url, plan.client_id)
        else:
            cached = await forget_token(js, plan.base_url, plan.client_id)
    except (nats.errors.Error, OSError) as error:
        reason = str(error) or type(error).__name__
        if dry_run:
            return f"unknown ({reason})"
        log.warning("tenant RMM token not forgotten", tenant_id=tenant_id, actor=actor,
                    error=reason)  # fmt: skip
        return f"not forgotten ({reason}): it expires by itself"
    if not cached:
        return NONE_CACHED
    if dry_run:
        return WOULD_BE_FORGOTTEN
    log.info("tenant RMM token forgotten", tenant_id=tenant_id, actor=actor)
    return FORGOTTEN
