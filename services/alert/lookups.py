"""What the alert service reads besides its own streams (all filtered by tenant):

- `company_links` (the company service's projection): the Rev.io customer linked to an RMM
  company (`state = 'linked'` only: suggestions, held or rejected links are not links);
- `assets`, `asset_endpoints` (the asset service's projections): an endpoint's Rev.io asset
  and hostname (none when asset sync is off: the asset service records no endpoint then);
- its own read models: parked alerts, the alert behind a command or a Rev.io ticket.
"""

from revsync.db import Conn

_CUSTOMER = (
    "SELECT revio_customer_id FROM company_links"
    " WHERE tenant_id = $1 AND rmm_company_id = $2 AND state = 'linked' LIMIT 1"
)
# the asset of any endpoint id it ever had (first), or of the one it has; one with a Rev.io
# asset before one without (whose hostname is still worth having)
_ENDPOINT = (
    "SELECT x.revio_asset_id, x.hostname FROM ("
    " SELECT a.revio_asset_id, a.hostname, 0 AS rank FROM asset_endpoints e JOIN assets a"
    " ON a.tenant_id = e.tenant_id AND a.identifier = e.identifier"
    " WHERE e.tenant_id = $1 AND e.endpoint_id = $3"
    " UNION ALL SELECT revio_asset_id, hostname, 1 FROM assets"
    " WHERE tenant_id = $1 AND endpoint_id = $3"
    ") AS x WHERE c.customer IS NOT NULL AND $3::text IS NOT NULL"
    " ORDER BY x.revio_asset_id IS NULL, x.rank LIMIT 1"
)
_PLACEMENT = (
    f"SELECT c.customer, a.revio_asset_id, a.hostname"
    f" FROM (SELECT ({_CUSTOMER}) AS customer) AS c"
    f" LEFT JOIN LATERAL ({_ENDPOINT}) AS a ON true"
)


async def placement_for(
    conn: Conn, tenant_id: str, rmm_company_id: str | None, endpoint_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """(the Rev.io customer linked to the RMM company, the endpoint's Rev.io asset if it has
    one, the endpoint's hostname if the asset service knows it), in one round trip; the
    endpoint's are only looked up when the company is linked (else no ticket is made)."""
    if not rmm_company_id:
        return None, None, None
    row = await conn.fetchrow(_PLACEMENT, tenant_id, rmm_company_id, endpoint_id or None)
    assert row is not None  # always one row (NULLs when nothing is linked)
    customer, asset, hostname = row
    return (
        str(customer) if customer is not None else None,
        str(asset) if asset is not None else None,
        str(hostname) if hostname else None,
    )


async def parked_alerts_now_linked(conn: Conn, tenant_id: str) -> list[str]:
    """Keys of the tenant's parked alerts whose company is now linked."""
    rows = await conn.fetch(
        "SELECT a.alert_key FROM alert_tickets a JOIN company_links l"
        " ON l.tenant_id = a.tenant_id AND l.rmm_company_id = a.company_id"
        " AND l.state = 'linked'"
        " WHERE a.tenant_id = $1 AND a.state = 'parked' ORDER BY a.alert_key",
        tenant_id,
    )
    return [row["alert_key"] for row in rows]


async def tenants_with_parked_alerts(conn: Conn) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT tenant_id FROM alert_tickets WHERE state = 'parked' ORDER BY 1"
    )
    return [row["tenant_id"] for row in rows]


async def alert_of_command(conn: Conn, tenant_id: str, command_id: object) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT alert_key FROM alert_commands WHERE tenant_id = $1 AND command_id = $2",
        tenant_id,
        command_id,
    )


async def alert_of_revio_ticket(conn: Conn, tenant_id: str, revio_ticket_id: str) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT alert_key FROM alert_tickets WHERE tenant_id = $1 AND revio_ticket_id = $2 LIMIT 1",
        tenant_id,
        revio_ticket_id,
    )
