"""An account's starting data: configuration lookups, then the seed world's Rev.io side.

Every client that is in Rev.io becomes a customer: its first address is both the service and
the billing address (one shared address record), further addresses are extra addresses of
the customer; tickets the world places in Rev.io become tickets. Same world, same ids.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.sandbox.common.world import Address, Client, Ticket, World
from services.sandbox.revio.address_records import UNITED_STATES
from services.sandbox.revio.customer_records import CustomerFields, create_customer
from services.sandbox.revio.dates import format_revio_date
from services.sandbox.revio.store import RevioStore
from services.sandbox.revio.ticket_records import TicketFields, create_ticket

BILL_PROFILES = (
    ("Standard Monthly", True),
    ("Managed Services", True),
    ("Annual Prepaid", True),
    ("Legacy 2019", False),
)
TICKET_TYPES = (
    ("General", "General request", True),
    ("RMM Alert", "Alert raised in ConnectWise RMM", True),
    ("Service Request", "Work requested by the customer", True),
    ("Billing Question", "Question about an invoice", True),
    ("Legacy Support", "Retired type", False),
)
TICKET_STATUSES = (
    ("New", "OPEN"),
    ("In Progress", "INWORK"),
    ("Waiting on Customer", "PENDING"),
    ("Resolved", "CLOSED"),
    ("auto-closed", "CLOSED"),
)
INVENTORY_TYPES = (
    ("Equipment", "RMM Endpoint", "Device managed in ConnectWise RMM", "ACTIVE"),
    ("Equipment", "Workstation", "Desktop or laptop", "ACTIVE"),
    ("Equipment", "Network Device", "Router, switch or firewall", "ACTIVE"),
    ("Telecom", "Phone Number", "DID", "ACTIVE"),
    ("Equipment", "Legacy Router", "Retired type", "INACTIVE"),
)
COUNTRY_CODES = {"US": UNITED_STATES, "CA": 40}  # [inferred] Rev.io's integer country codes
TICKET_STATES = {"new": "OPEN", "in_progress": "INWORK", "closed": "CLOSED"}
PRIORITIES = {
    "Critical": "CRITICAL",
    "High": "HIGH",
    "Medium": "MEDIUM",
    "Low": "LOW",
    "Info": "LOW",
}
SERVICE_REQUEST = 3  # lookup ids follow the order of the tables above, from 1
TIERS = ("Gold", "Silver", "Bronze")


def seed_lookups(store: RevioStore) -> None:
    for description, active in BILL_PROFILES:
        store.bill_profiles.insert({"description": description, "active": active})
    for name, description, active in TICKET_TYPES:
        store.ticket_types.insert({"name": name, "description": description, "active": active})
    for name, status in TICKET_STATUSES:
        store.ticket_statuses.insert({"name": name, "status": status, "active": True})
    for category, name, description, status in INVENTORY_TYPES:
        store.inventory_types.insert(
            {"category": category, "name": name, "description": description, "status": status}
        )


def seed_world(store: RevioStore, world: World, zone: ZoneInfo) -> None:
    """Into a store without customers: the ids are `world.revio_customer_ids()`, which the
    RMM sandbox stamps on some companies."""
    expected = world.revio_customer_ids()
    for client in world.clients:
        if not client.in_revio:
            continue
        customer_id = create_customer(store, _customer(client), _date(client.created_at, zone))
        if customer_id != expected[client.number]:
            raise ValueError(
                f"customer {customer_id} seeded where {expected[client.number]} was due"
            )
        customer = store.customers.rows[customer_id]
        customer["billing_address_id"] = customer["service_address_id"]
        for extra in client.addresses[1:]:
            store.addresses.insert({"customer_id": customer_id, **_address(client, extra)})
        for ticket in client.tickets:
            if ticket.system == "revio":
                _seed_ticket(store, customer_id, ticket, zone)


def _customer(client: Client) -> CustomerFields:
    return CustomerFields.model_validate(
        {
            "status": "OPEN" if client.active else "CLOSED",
            "email": client.contact.email,
            "service_address": _address(client, client.addresses[0]),
            "finance": {"bill_profile_id": 1 + client.number % 2, "billing_method": "EMAIL"},
            "profile": {"class": "BUSINESS"},
            "fields": [{"label": "Contract Tier", "value": TIERS[client.number % 3]}],
        }
    )


def _address(client: Client, address: Address) -> dict[str, object]:
    return {
        "company_name": client.revio_name,
        "first_name": client.contact.first_name,
        "last_name": client.contact.last_name,
        "line_1": address.line_1,
        "line_2": "",
        "city": address.city,
        "state_or_province": address.state,
        "postal_code": address.postal_code,
        "postal_code_extension": "",
        "country_code": COUNTRY_CODES.get(address.country, UNITED_STATES),
    }


def _seed_ticket(store: RevioStore, customer_id: int, ticket: Ticket, zone: ZoneInfo) -> None:
    fields = TicketFields.model_validate(
        {
            "customer_id": customer_id,
            "ticket_type_id": SERVICE_REQUEST,
            "description": ticket.description,
            "status": TICKET_STATES[ticket.status],
            "priority": PRIORITIES[ticket.priority],
        }
    )
    record = store.tickets.rows[create_ticket(store, fields, _date(ticket.created_at, zone))]
    if record["status"] == "CLOSED":
        closed = _date(ticket.created_at + timedelta(hours=4), zone)
        record |= {"closed_date": closed, "modified_date": closed}


def _date(moment: datetime, zone: ZoneInfo) -> str:
    return format_revio_date(moment.astimezone(zone))
