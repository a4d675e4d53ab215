"""Endpoints and existing tickets of the seed world.

Categories follow the endpoint's global position (20 platform : 3 network : 2 cloud) and every
13th endpoint has no serial number, so small worlds have each kind too.
"""

import random
import re

from services.sandbox.common import seed_words as words
from services.sandbox.common.world import (
    Category,
    Client,
    Endpoint,
    Ticket,
    TicketStatus,
    past_time,
    stable_uuid,
)

KINDS: dict[Category, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "platform": words.PLATFORM_KINDS,
    "network": words.NETWORK_KINDS,
    "cloud": words.CLOUD_KINDS,
}
STATUSES: tuple[TicketStatus, ...] = ("new", "in_progress", "in_progress", "closed")


def category_at(position: int) -> Category:
    slot = position % 25
    return "platform" if slot < 20 else "network" if slot < 23 else "cloud"


def assign_endpoints(rng: random.Random, clients: list[Client], total: int) -> None:
    """Share `total` endpoints among `clients`: at least one each, the rest skewed (a few big
    clients, many small ones)."""
    if not clients:
        return
    weights = [rng.paretovariate(1.5) for _ in clients]
    spare, scale = max(0, total - len(clients)), sum(weights)
    counts = [1 + int(spare * weight / scale) for weight in weights]
    for index in rng.sample(range(len(clients)), k=min(len(clients), total - sum(counts))):
        counts[index] += 1
    position = 0
    for client, count in zip(clients, counts, strict=True):
        prefix = re.sub(r"[^A-Z]", "", client.canonical_name.upper())[:4] or "HOST"
        for sequence in range(1, count + 1):
            client.endpoints.append(_endpoint(rng, client, prefix, sequence, position))
            position += 1


def _endpoint(
    rng: random.Random, client: Client, prefix: str, sequence: int, position: int
) -> Endpoint:
    category = category_at(position)
    endpoint_type, systems = rng.choice(KINDS[category])
    serial = None if position % 13 == 6 else f"{rng.choice('5CDHJMP')}{rng.getrandbits(36):010X}"
    mac = rng.getrandbits(48).to_bytes(6, "big").hex(":")
    return Endpoint(
        id=stable_uuid(rng),
        category=category,
        endpoint_type=endpoint_type,
        hostname=f"{prefix}-{words.HOST_CODES[endpoint_type]}-{sequence:03d}",
        os=rng.choice(systems),
        serial_number=serial,
        address_index=rng.randrange(len(client.addresses)),
        ip_address=f"10.{client.number % 250}.{sequence // 250}.{sequence % 250 + 1}",
        mac_address=mac,
        created_at=past_time(rng, 1_000),
    )


def assign_tickets(rng: random.Random, clients: list[Client], total: int) -> None:
    """Existing tickets: in RMM mostly (two in five of them alert tickets), some in Rev.io."""
    for number in range(1, total + 1):
        client = rng.choice(clients)
        in_rmm = client.in_rmm and (not client.in_revio or number % 10 < 7)
        host = rng.choice(client.endpoints) if client.endpoints else None
        if in_rmm and host is not None and number % 5 < 2:
            condition, template = rng.choice(words.ALERT_CONDITIONS)
            summary, priority = template.format(host=host.hostname), rng.choice(words.SEVERITIES)
        else:
            condition, host = None, None
            summary = rng.choice(words.MANUAL_TICKET_SUMMARIES).format(
                first=client.contact.first_name, last=client.contact.last_name
            )
            priority = rng.choice(("High", "Medium", "Medium", "Low"))
        client.tickets.append(
            Ticket(
                number=number,
                system="rmm" if in_rmm else "revio",
                summary=summary,
                description=f"{summary}. Reported for {client.canonical_name}.",
                status=rng.choice(STATUSES),
                priority=priority,
                created_at=past_time(rng, 90),
                endpoint_id=host.id if host else None,
                alert_condition=condition,
            )
        )
