"""Deterministic MSP world for the sandboxes: the MSP's clients as both systems know them.

`generate_world(seed, size)` returns plain dataclasses (`services.sandbox.common.world`),
vendor-neutral; each sandbox maps a `Client` into its own shapes (Rev.io: customer and
addresses; RMM: company, sites, endpoints, tickets). Same seed and size, same world, down to
every id.
"""

import random

from services.sandbox.common.gc_pause import gc_paused
from services.sandbox.common.seed_clients import make_clients
from services.sandbox.common.world import (
    Address,
    Category,
    Client,
    Contact,
    Endpoint,
    Size,
    Ticket,
    World,
)

__all__ = [
    "SIZES",
    "Address",
    "Category",
    "Client",
    "Contact",
    "Endpoint",
    "Size",
    "Ticket",
    "World",
    "generate_world",
    "size_of",
]

SIZES = {
    "tiny": Size(clients=12, endpoints=48, tickets=6),
    "demo": Size(clients=40, endpoints=300, tickets=24),
    "large": Size(clients=10_000, endpoints=100_000, tickets=2_000),
}


def size_of(size: str | int) -> Size:
    """A named size, or a number of clients (about ten endpoints each)."""
    if isinstance(size, int) or size.isdigit():
        clients = int(size)
        return Size(clients, clients * 10, max(1, clients // 5))
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {sorted(SIZES)} or a number")
    return SIZES[size]


def generate_world(seed: int, size: str | int = "demo") -> World:
    spec = size_of(size)
    with gc_paused():
        return World(seed, spec, make_clients(random.Random(seed), spec))
