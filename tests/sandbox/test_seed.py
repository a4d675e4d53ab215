"""The deterministic seed world."""

import time
import uuid
from collections import Counter

import pytest

from services.company.naming import normalize_name
from services.sandbox.seed import SIZES, generate_world, size_of


def test_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    assert generate_world(5, "demo") == generate_world(5, "demo")
    assert generate_world(5, "demo").clients != generate_world(6, "demo").clients


def test_named_and_numeric_sizes() -> None:
    demo = generate_world(1, "demo")
    assert (len(demo.clients), len(demo.endpoints())) == (40, 300)
    assert len(demo.tickets()) == SIZES["demo"].tickets
    assert size_of("25").clients == size_of(25).clients == 25
    with pytest.raises(ValueError, match="unknown size"):
        size_of("huge")


def test_tiny_world_has_every_kind_of_client() -> None:
    clients = generate_world(7, "tiny").clients
    assert len(clients) == 12
    assert any(c.in_revio and not c.in_rmm for c in clients)
    assert any(c.in_rmm and not c.in_revio for c in clients)
    assert any(not c.active for c in clients)
    assert any("&" in c.revio_name and " and " in c.rmm_name for c in clients)
    assert any(c.revio_name != c.rmm_name and "&" not in c.revio_name for c in clients)
    assert all(1 <= len(c.addresses) <= 3 for c in clients)
    assert [c.in_revio and c.in_rmm for c in clients if c.revio_id_in_rmm] == [True]
    names = [c.canonical_name for c in clients]
    assert len(set(names)) == len(names)


def test_near_duplicate_names_extend_an_earlier_name() -> None:
    names = [c.canonical_name for c in generate_world(3, "demo").clients]
    near = [n for n in names if any(n != m and n.startswith(m.rsplit(" ", 1)[0]) for m in names)]
    assert near


def test_endpoints_cover_all_categories_with_uuid_ids_and_some_missing_serials() -> None:
    world = generate_world(7, "tiny")
    endpoints = world.endpoints()
    assert set(Counter(e.category for e in endpoints)) == {"platform", "network", "cloud"}
    assert all(uuid.UUID(e.id).version == 4 for e in endpoints)
    assert any(e.serial_number is None for e in endpoints)
    assert all(not c.endpoints for c in world.clients if not c.in_rmm)
    for client in world.clients:
        hostnames = [e.hostname for e in client.endpoints]
        assert len(set(hostnames)) == len(hostnames)
        assert all(e.address_index < len(client.addresses) for e in client.endpoints)


def test_existing_tickets_include_rmm_alert_tickets_on_own_endpoints() -> None:
    world = generate_world(1, "demo")
    alerts = [t for t in world.tickets() if t.alert_condition]
    assert alerts and {t.system for t in world.tickets()} == {"rmm", "revio"}
    for client in world.clients:
        own = {e.id for e in client.endpoints}
        assert all(t.endpoint_id in own for t in client.tickets if t.endpoint_id)


def test_large_world_is_generated_quickly() -> None:
    started = time.monotonic()
    world = generate_world(1, "large")
    assert time.monotonic() - started < 10
    assert (len(world.clients), len(world.endpoints())) == (10_000, 100_000)


def test_no_two_clients_are_one_company_to_name_matching_however_large_the_world() -> None:
    """Names drawn from a small vocabulary collide once the world is large; told apart only
    by a legal suffix they are one name to matching, and a 10,000-client world was 90%
    ambiguous (suggestions, not links). Look-alikes are the deliberate near-duplicates."""
    names = [c.canonical_name for c in generate_world(1, 3_000).clients]
    keys = Counter(normalize_name(name) for name in names)
    assert [key for key, count in keys.items() if count > 1] == []
