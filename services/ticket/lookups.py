"""What the ticket service reads besides its own streams (all filtered by tenant):

- `company_links` (the company service's projection): linked customer <-> company pairs
  (`state = 'linked'` only);
- `alert_tickets` (the alert service's projection): RMM tickets that carry alerts;
- its own read models: which link a ticket or a command belongs to.
"""

from revsync.contracts.revio import RevioTicket
from revsync.contracts.rmm import RmmTicket
from revsync.db import Conn

from services.ticket.state import link_key

ALERT_SOURCE = "alert"


async def linked_customer_for(conn: Conn, tenant_id: str, rmm_company_id: str) -> str | None:
    value = await conn.fetchval(
        "SELECT revio_customer_id FROM company_links"
        " WHERE tenant_id = $1 AND rmm_company_id = $2 AND state = 'linked' LIMIT 1",
        tenant_id,
        rmm_company_id,
    )
    return str(value) if value is not None else None


async def linked_company_for(conn: Conn, tenant_id: str, revio_customer_id: str) -> str | None:
    value = await conn.fetchval(
        "SELECT rmm_company_id FROM company_links"
        " WHERE tenant_id = $1 AND revio_customer_id = $2 AND state = 'linked' LIMIT 1",
        tenant_id,
        revio_customer_id,
    )
    return str(value) if value is not None else None


def has_alert_source(ticket: RmmTicket) -> bool:
    """ARCHITECTURE §6: an RMM alert is an RMM ticket whose source is the alert source."""
    return (ticket.source or "").strip().casefold() == ALERT_SOURCE


async def is_alert_ticket(conn: Conn, tenant_id: str, ticket: RmmTicket) -> bool:
    """An RMM ticket that carries an alert, or one the alert service already follows."""
    if has_alert_source(ticket):
        return True
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM alert_tickets WHERE tenant_id = $1"
            " AND rmm_ticket_id = $2)",
            tenant_id,
            ticket.id,
        )
    )


async def link_of_rmm_ticket(conn: Conn, tenant_id: str, ticket: RmmTicket) -> str:
    """The link an RMM ticket belongs to: a known one, the Rev.io ticket it was created from
    (revsync's marker), or its own."""
    known = await conn.fetchval(
        "SELECT link_key FROM ticket_links WHERE tenant_id = $1 AND rmm_ticket_id = $2 LIMIT 1",
        tenant_id,
        ticket.id,
    )
    if known is not None:
        return str(known)
    if ticket.revio_ticket_id:
        return link_key("revio", ticket.revio_ticket_id)
    return link_key("rmm", ticket.id)


async def link_of_revio_ticket(conn: Conn, tenant_id: str, ticket: RevioTicket) -> str:
    known = await conn.fetchval(
        "SELECT link_key FROM ticket_links WHERE tenant_id = $1 AND revio_ticket_id = $2 LIMIT 1",
        tenant_id,
        ticket.id,
    )
    if known is not None:
        return str(known)
    if ticket.rmm_ticket_id:
        return link_key("rmm", ticket.rmm_ticket_id)
    return link_key("revio", ticket.id)


async def link_of_command(conn: Conn, tenant_id: str, command_id: object) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT link_key FROM ticket_commands WHERE tenant_id = $1 AND command_id = $2",
        tenant_id,
        command_id,
    )
