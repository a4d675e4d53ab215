"""Tenants on one stack: two MSPs whose vendor accounts hold the same ids never touch each
other, and a disabled tenant makes no vendor call yet loses nothing."""

import asyncio
from typing import Any

from tests.e2e.stack import E2EStack, E2ETenant, eventually

SEED = 21  # both tenants' sandbox accounts come from this one world: the same vendor ids


async def first_linked_endpoint(tenant: E2ETenant) -> tuple[dict[str, Any], str]:
    found = await tenant.linked_endpoints()
    assert found, "no platform endpoint of a linked company"
    return found[0]


async def tickets_with(tenant: E2ETenant, customer_id: str, marker: str) -> list[dict[str, Any]]:
    tickets = await tenant.revio_all("/Tickets", customer_id=customer_id)
    return [t for t in tickets if marker in (t.get("description") or "")]


async def test_two_tenants_with_the_same_vendor_ids_stay_apart(stack: E2EStack):
    a, b = await stack.new_tenant(seed=SEED), await stack.new_tenant(seed=SEED)
    await asyncio.gather(a.initial_sync(), b.initial_sync())
    # the same Rev.io customers end up linked in both (companies created in create mode may
    # link a moment after the run is done); the seeded RMM companies (same ids in both
    # accounts) are linked alike, the companies revsync created have ids of their own

    async def linked_alike() -> tuple[dict[str, str], dict[str, str]] | None:
        links_a, links_b = await a.links(), await b.links()
        same = sorted(links_a.values()) == sorted(links_b.values())
        return (links_a, links_b) if same else None

    links_a, links_b = await eventually(linked_alike, within_s=60)
    shared = {c: r for c, r in links_a.items() if links_b.get(c) == r}
    assert len(shared) >= 3, (links_a, links_b)

    endpoint, customer = await first_linked_endpoint(a)
    assert endpoint["endpointID"] in {e["endpointID"] for e in await b.endpoints("platform")}
    await a.alert(endpoint, "cpu-hot", "Critical", summary="CPU 99% tenant-a-only")
    found = await eventually(lambda: tickets_with(a, customer, "tenant-a-only"), within_s=90)
    assert len(found) == 1

    # B has the same endpoint id and the same customer id, and nothing of A's alert
    assert await tickets_with(b, customer, "tenant-a-only") == []
    audit_b = await b.audit()
    assert audit_b, "tenant B has its own audit trail"
    assert not [e for e in audit_b if "tenant-a-only" in str(e)]
    # A's decision about its alert is in A's trail; B (with seeded alerts of its own) has none
    alert_stream = f"alert:{endpoint['endpointID']}:cpu-hot"
    assert [e for e in await a.audit() if e["entity"] == alert_stream]
    assert not [e for e in audit_b if e["entity"] == alert_stream]
    # the RMM ticket of A's alert lives in A's RMM account only
    a_tickets = await a.rmm("GET", "/api/platform/v2/service/ticketing/tickets")
    b_tickets = await b.rmm("GET", "/api/platform/v2/service/ticketing/tickets")
    assert [t for t in a_tickets["tickets"] if "tenant-a-only" in str(t)]
    assert not [t for t in b_tickets["tickets"] if "tenant-a-only" in str(t)]


async def test_a_disabled_tenant_makes_no_vendor_call_and_catches_up_when_enabled(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=SEED + 1)
    await tenant.initial_sync()
    endpoint, customer = await first_linked_endpoint(tenant)

    await tenant.set_enabled(False)

    async def quiet() -> dict[str, int] | None:
        """The request counts once they stopped growing for 3 s (watchers and polls stopped)."""
        before = {s: await tenant.vendor_calls(s) for s in ("rmm", "revio")}
        await asyncio.sleep(3)
        after = {s: await tenant.vendor_calls(s) for s in ("rmm", "revio")}
        return after if after == before else None

    await eventually(quiet, within_s=60)
    settled = {s: await tenant.vendor_calls(s) for s in ("rmm", "revio")}
    # while disabled, the MSP's RMM raises an alert: nothing polls it, nothing is ticketed
    await tenant.alert(endpoint, "svc-down", "High", summary="Service stopped while disabled")
    after_alert = {s: await tenant.vendor_calls(s) for s in ("rmm", "revio")}
    await asyncio.sleep(5)
    assert {s: await tenant.vendor_calls(s) for s in ("rmm", "revio")} == after_alert
    # (the only new RMM requests are the test's own alert call and its token)
    assert after_alert["revio"] == settled["revio"]
    assert await tickets_with(tenant, customer, "stopped while disabled") == []

    await tenant.set_enabled(True)
    found = await eventually(
        lambda: tickets_with(tenant, customer, "stopped while disabled"), within_s=90
    )
    assert len(found) == 1
