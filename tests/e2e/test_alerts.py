"""Alerts become Rev.io tickets through the whole pipeline: the RMM sandbox's `POST /v2/alerts`,
the RMM connector's poll, the alert service's decision, the Rev.io connector's vendor call."""

import asyncio

from tests.e2e.pipeline_support import (
    WAIT_S,
    alert_stream,
    alert_tickets,
    decisions,
    journals,
    linked_endpoints,
    ready_tenant,
    stays,
    ticket_type_name,
)
from tests.e2e.stack import E2EStack, eventually

# the alert service forgets a tenant's cached settings once its follower of the log sees them
# change (well under a second); other services keep them 2 s (`TenantCache`): and a margin
TENANT_CACHE_S = 3.0


async def test_alert_becomes_one_ticket_repeat_journals_clear_auto_closes(stack: E2EStack):
    tenant = await ready_tenant(stack, seed=11)
    [(endpoint, customer)] = await linked_endpoints(tenant)

    await tenant.alert(endpoint, "e2e-disk-full", "Critical")
    [ticket] = await eventually(lambda: alert_tickets(tenant, endpoint, "e2e-disk-full"), WAIT_S)
    assert ticket["customer_id"] == int(customer)
    assert await ticket_type_name(tenant, ticket["ticket_type_id"]) == "RMM Alert"
    assert ticket["status"] == "OPEN" and ticket["priority"] == "CRITICAL"
    assert not await journals(tenant, ticket["ticket_id"])

    await tenant.alert(endpoint, "e2e-disk-full", "Critical")  # raised again: the same alert
    [entry] = await eventually(lambda: journals(tenant, ticket["ticket_id"]), WAIT_S)
    # one entry either way: the repeat's own, or (when the repeat came before the service had
    # the ticket's id) the entry of the repeats deferred while the ticket was being created
    message = entry["message"]
    assert "occurrence 2" in message or "repeated 1 time(s)" in message, entry
    assert f"rmm-alert:{endpoint['endpointID']}:e2e-disk-full:1" in message, entry
    again = await alert_tickets(tenant, endpoint, "e2e-disk-full")
    assert [t["ticket_id"] for t in again] == [ticket["ticket_id"]]

    await tenant.alert(endpoint, "e2e-disk-full", clear=True)

    async def auto_closed() -> dict | None:
        found = await tenant.revio("GET", f"/Tickets/{ticket['ticket_id']}")
        return found if found["custom_status"] == "auto-closed" else None

    closed = await eventually(auto_closed, WAIT_S)
    assert closed["status"] == "CLOSED"
    # why it closed, in the ticket's resolution (not in a journal entry: see below)
    assert closed["resolution"].startswith("Auto-closed by revsync: the RMM alert e2e-disk-full")
    [cleared] = await decisions(
        tenant, "AlertCleared", entity=alert_stream(endpoint, "e2e-disk-full")
    )
    assert cleared["data"]["action"] == "auto_closed"
    assert len(await alert_tickets(tenant, endpoint, "e2e-disk-full")) == 1
    assert len(await journals(tenant, ticket["ticket_id"])) == 1


async def test_alerts_below_minimum_or_with_sync_off_open_no_ticket_and_are_logged_once(
    stack: E2EStack,
):
    tenant = await ready_tenant(stack, seed=12, min_alert_severity="High")
    [(endpoint, _customer)] = await linked_endpoints(tenant)

    # below the minimum: skipped, logged once, even when raised again
    await tenant.alert(endpoint, "e2e-cpu-busy", "Low", summary="CPU at 80%")
    low = alert_stream(endpoint, "e2e-cpu-busy")
    [skipped] = await eventually(lambda: decisions(tenant, "AlertSkipped", entity=low), WAIT_S)
    assert skipped["data"]["reason"] == "below_threshold"
    assert skipped["data"]["minimum"] == "High" and skipped["data"]["severity"] == "Low"
    await tenant.alert(endpoint, "e2e-cpu-busy", "Low", summary="CPU at 80%")

    # a qualifying alert raised after the repeat is the marker that both were processed
    await tenant.alert(endpoint, "e2e-disk-full", "High")
    await eventually(lambda: alert_tickets(tenant, endpoint, "e2e-disk-full"), WAIT_S)

    async def low_still_skipped_once() -> None:
        assert len(await decisions(tenant, "AlertSkipped", entity=low)) == 1
        assert not await decisions(tenant, "AlertTicketRequested", entity=low)
        assert not await alert_tickets(tenant, endpoint, "e2e-cpu-busy")

    await stays(low_still_skipped_once, for_s=5)

    # sync_alerts off: a Critical alert is skipped too, and no ticket is opened
    await tenant.update_settings(sync_alerts=False)
    off = alert_stream(endpoint, "e2e-service-down")

    await asyncio.sleep(TENANT_CACHE_S)  # services read settings through a cache
    await tenant.alert(endpoint, "e2e-service-down", "Critical", summary="Spooler down")
    [decision] = await eventually(
        lambda: decisions(tenant, "AlertSkipped", "AlertTicketRequested", entity=off), WAIT_S
    )
    assert decision["type"] == "AlertSkipped" and decision["data"]["reason"] == "sync_alerts_off"

    async def still_no_ticket() -> None:
        assert not await alert_tickets(tenant, endpoint, "e2e-service-down")
        assert len(await decisions(tenant, "AlertSkipped", entity=off)) == 1

    await stays(still_no_ticket, for_s=5)
