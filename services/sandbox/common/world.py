"""The vendor-neutral seed world: an MSP's clients, as both systems know them."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

Category = Literal["platform", "network", "cloud"]
System = Literal["revio", "rmm"]
TicketStatus = Literal["new", "in_progress", "closed"]
REFERENCE_TIME = datetime(2025, 6, 1, tzinfo=UTC)  # seeded timestamps lie before this
# The Rev.io sandbox numbers a world's customers from here, in client order
FIRST_REVIO_CUSTOMER_ID = 10001


@dataclass(frozen=True, slots=True)
class Size:
    clients: int
    endpoints: int
    tickets: int


@dataclass(slots=True)
class Contact:
    first_name: str
    last_name: str
    email: str
    phone: str


@dataclass(slots=True)
class Address:
    line_1: str
    city: str
    state: str
    postal_code: str
    country: str


@dataclass(slots=True)
class Endpoint:
    id: str  # uuid, as RMM endpoint ids are
    category: Category
    endpoint_type: str  # Desktop, Laptop, Server, Firewall, Switch, ..., Virtual Machine
    hostname: str
    os: str
    serial_number: str | None
    address_index: int  # which of the client's addresses (RMM site) it sits at
    ip_address: str
    mac_address: str
    created_at: datetime


@dataclass(slots=True)
class Ticket:
    number: int
    system: System  # where the ticket already exists
    summary: str
    description: str
    status: TicketStatus
    priority: str  # Critical, High, Medium, Low, Info
    created_at: datetime
    endpoint_id: str | None = None
    alert_condition: str | None = None  # set for RMM alert tickets


@dataclass(slots=True)
class Client:
    number: int  # stable, 1-based
    canonical_name: str
    revio_name: str
    rmm_name: str
    in_revio: bool
    in_rmm: bool
    active: bool
    contact: Contact
    addresses: list[Address]
    created_at: datetime
    endpoints: list[Endpoint] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    # its RMM company carries its Rev.io customer id as an external id (an earlier billing
    # integration stamped it there)
    revio_id_in_rmm: bool = False


@dataclass(slots=True)
class World:
    seed: int
    size: Size
    clients: list[Client]

    def endpoints(self) -> list[Endpoint]:
        return [endpoint for client in self.clients for endpoint in client.endpoints]

    def tickets(self) -> list[Ticket]:
        return [ticket for client in self.clients for ticket in client.tickets]

    def revio_customer_ids(self) -> dict[int, int]:
        """Client number -> the id of its customer in the Rev.io sandbox (clients in Rev.io)."""
        numbers = [client.number for client in self.clients if client.in_revio]
        return {number: FIRST_REVIO_CUSTOMER_ID + n for n, number in enumerate(numbers)}


def stable_uuid(rng: random.Random) -> str:
    """A version-4 uuid drawn from `rng`: the same seed gives the same ids."""
    return uuid_text(rng.getrandbits(128), version=4)


def uuid_text(bits: int, version: int) -> str:
    """RFC 4122 text of 128 bits with the given version and the standard variant (what
    `str(uuid.UUID(int=bits, version=version))` gives, several times faster)."""
    bits = (bits & ~(0xF000 << 64) | version << 76) & ~(0xC000 << 48) | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def past_time(rng: random.Random, max_days: int) -> datetime:
    return REFERENCE_TIME - timedelta(seconds=rng.randrange(max_days * 86_400))
