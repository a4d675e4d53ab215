"""Clients of the seed world: names (with drift between systems), contacts, addresses.

Variety is scheduled by client number (`number % 12`) rather than drawn, so even the tiny world
has one client of each kind: only in Rev.io, only in RMM, a drifted name, `&` vs `and`, a
near-duplicate and an inactive client. A near-duplicate's RMM company carries its Rev.io
customer id as an external id, the strong key that tells it from the name it resembles.
"""

import random
import re

from services.sandbox.common import seed_words as words
from services.sandbox.common.seed_devices import assign_endpoints, assign_tickets
from services.sandbox.common.seed_names import drifted_name, near_duplicate_name, split_suffix
from services.sandbox.common.world import Address, Client, Contact, Size, past_time

ONLY_IN_REVIO, ONLY_IN_RMM, DRIFTED, AMPERSAND, NEAR_DUPLICATE, INACTIVE = 0, 5, 2, 8, 10, 11
AMPERSAND_TAILS = tuple(tail for tail in words.NAME_TAILS if "&" in tail)


def make_clients(rng: random.Random, size: Size) -> list[Client]:
    names = _NameBook()
    clients = [_client(rng, number, names) for number in range(1, size.clients + 1)]
    assign_endpoints(rng, [client for client in clients if client.in_rmm], size.endpoints)
    assign_tickets(rng, clients, size.tickets)
    return clients


def _client(rng: random.Random, number: int, names: "_NameBook") -> Client:
    kind = number % 12
    if kind == NEAR_DUPLICATE:
        name = names.near_duplicate(rng)
    else:
        name = names.fresh(rng, ampersand=kind == AMPERSAND)
    revio_name = rmm_name = name
    if kind == AMPERSAND:
        rmm_name = name.replace("&", "and")
    elif kind == DRIFTED:
        rmm_name = drifted_name(name, rng)
    return Client(
        number=number,
        canonical_name=name,
        revio_name=revio_name,
        rmm_name=rmm_name,
        in_revio=kind != ONLY_IN_RMM,
        in_rmm=kind != ONLY_IN_REVIO,
        active=kind != INACTIVE,
        contact=_contact(rng, name),
        addresses=[_address(rng) for _ in range(rng.choices((1, 2, 3), (6, 3, 1))[0])],
        created_at=past_time(rng, 2_000),
        revio_id_in_rmm=kind == NEAR_DUPLICATE,
    )


def same_name_key(name: str) -> str:
    """What makes two names one company to name matching: case, punctuation, `&` vs `and`
    and the legal suffix aside ("Acme & Co LLC" = "ACME AND CO, Inc.")."""
    base, _ = split_suffix(name.strip())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", base.lower().replace("&", " and ")).split())


class _NameBook:
    """Canonical names handed out so far: no two the same company to name matching
    (`same_name_key`), or a large world would be mostly ambiguous names; the deliberate
    look-alikes are the near-duplicates (and the drifted names of one client)."""

    def __init__(self) -> None:
        self.ordered: list[str] = []
        self.taken: set[str] = set()

    def fresh(self, rng: random.Random, ampersand: bool) -> str:
        attempts = 0
        while True:
            tail = rng.choice(AMPERSAND_TAILS if ampersand else words.NAME_TAILS)
            where = f" of {rng.choice(words.CITIES)[0]}" if attempts > 2 else ""
            branch = f" {rng.choice(words.STREETS).split()[0]}" if attempts > 12 else ""
            suffix = rng.choice(words.LEGAL_SUFFIXES)
            name = f"{rng.choice(words.NAME_HEADS)} {tail}{where}{branch} {suffix}"
            if same_name_key(name) not in self.taken:
                return self._take(name)
            attempts += 1

    def near_duplicate(self, rng: random.Random) -> str:
        """ "Acme Corporation Services" for an earlier "Acme Corp"; fresh if none fits."""
        if self.ordered:
            name = near_duplicate_name(rng.choice(self.ordered), rng)
            if same_name_key(name) not in self.taken:
                return self._take(name)
        return self.fresh(rng, ampersand=False)

    def _take(self, name: str) -> str:
        self.ordered.append(name)
        self.taken.add(same_name_key(name))
        return name


def _contact(rng: random.Random, company: str) -> Contact:
    first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
    domain = re.sub(r"[^a-z0-9]", "", company.lower())[:24]
    email = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower()) + f"@{domain}.com"
    phone = f"+1 {rng.randint(201, 989)}-555-{rng.randrange(10_000):04d}"
    return Contact(first, last, email, phone)


def _address(rng: random.Random) -> Address:
    city, state, postal_prefix, country = rng.choice(words.CITIES)
    if country == "CA":
        letter = rng.choice("ABCEGHJ")
        postal_code = f"{postal_prefix} {rng.randrange(10)}{letter}{rng.randrange(10)}"
    else:
        postal_code = f"{postal_prefix}{rng.randrange(100):02d}"
    line_1 = f"{rng.randint(1, 9_999)} {rng.choice(words.STREETS)}"
    return Address(line_1, city, state, postal_code, country)
