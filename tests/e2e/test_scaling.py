"""Replicas of a service share its durable consumers: with two alert services and two Rev.io
connectors, a burst of alerts is shared between both replicas of each, and still gives
exactly one Rev.io ticket per qualifying alert (none for those below the minimum)."""

import secrets
from collections import Counter
from typing import Any

import httpx

from tests.e2e.stack import E2EStack, E2ETenant, Process, connect, eventually
from tests.e2e.trace_support import extra_replicas, handled, linked_endpoints

QUALIFYING, BELOW_MINIMUM = 40, 4


async def handled_by(process: Process, subject_prefix: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"http://127.0.0.1:{process.port}/metrics")
        answer.raise_for_status()
        return handled(answer.text, subject_prefix)


async def decided(stack: E2EStack, tenant: E2ETenant, event_type: str, marker: str) -> int:
    """Events of `event_type` in the streams of the alerts whose summary holds `marker`."""
    conn = await connect(stack.database_url)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = $2 AND stream IN ("
            " SELECT stream FROM events WHERE tenant_id = $1 AND stream LIKE 'alert:%'"
            " AND data->>'summary' LIKE '%' || $3 || '-%')",
            tenant.id,
            event_type,
            marker,
        )
    finally:
        await conn.close()
    return int(found)


async def ticket_counts(tenant: E2ETenant, marker: str) -> Counter[str]:
    """Rev.io tickets of the tenant by the burst item (`<marker>-<n>`) their title names."""
    counts: Counter[str] = Counter()
    for ticket in await tenant.revio_all("/Tickets"):
        text = f"{ticket.get('subject') or ''} {ticket.get('description') or ''}"
        items = set(text.replace(",", " ").split())
        counts.update(item for item in items if item.startswith(f"{marker}-"))
    return counts


async def test_two_replicas_share_an_alert_burst_and_each_alert_gets_one_ticket(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=12)
    await tenant.initial_sync()
    endpoints = [endpoint for endpoint, _ in await linked_endpoints(tenant)]
    assert endpoints, "no linked platform endpoint"
    conditions = [
        f"burst-check-{k}" for k in range(-(-(QUALIFYING + BELOW_MINIMUM) // len(endpoints)))
    ]
    pairs = [(e, c) for c in conditions for e in endpoints][: QUALIFYING + BELOW_MINIMUM]
    marker = f"burst{secrets.token_hex(3)}"
    burst: list[dict[str, Any]] = [
        {
            "company_id": endpoint["companyID"],
            "site_id": endpoint["siteID"],
            "endpoint_id": endpoint["endpointID"],
            "condition_id": condition,
            "alertDetails": {
                "severity": "Critical" if n < QUALIFYING else "Low",
                "summary": f"Burst alert {marker}-{n}",
                "description": f"Burst alert {marker}-{n} (e2e)",
            },
        }
        for n, (endpoint, condition) in enumerate(pairs)
    ]
    alerts = f"change.{tenant.id}.rmm.alert"
    creates = f"cmd.{tenant.id}.revio.ticket.create"

    with extra_replicas(stack, "alert", "revio_connector"):
        alert_replicas = stack.processes["alert"]
        connector_replicas = stack.processes["revio_connector"]
        assert len(alert_replicas) == len(connector_replicas) == 2
        alert_before = [await handled_by(p, alerts) for p in alert_replicas]
        connector_before = [await handled_by(p, creates) for p in connector_replicas]
        await tenant.rmm("POST", "/v2/alerts", json=burst)

        wanted = {f"{marker}-{n}" for n in range(QUALIFYING)}

        async def all_ticketed() -> Counter[str] | None:
            counts = await ticket_counts(tenant, marker)
            return counts if wanted <= set(counts) else None

        await eventually(all_ticketed, within_s=240, every_s=2.0)

        async def all_decided() -> bool:  # every create answered: no command still in flight
            linked = await decided(stack, tenant, "AlertTicketLinked", marker)
            return (
                linked >= QUALIFYING
                and await decided(stack, tenant, "AlertSkipped", marker) >= BELOW_MINIMUM
            )

        await eventually(all_decided, within_s=120, every_s=1.0)
        alert_work = [
            await handled_by(p, alerts) - before
            for p, before in zip(alert_replicas, alert_before, strict=True)
        ]
        connector_work = [
            await handled_by(p, creates) - before
            for p, before in zip(connector_replicas, connector_before, strict=True)
        ]

    counts = await ticket_counts(tenant, marker)
    assert {item: n for item, n in counts.items() if n != 1 or item not in wanted} == {}
    assert set(counts) == wanted  # and none for the alerts below the minimum
    assert await decided(stack, tenant, "AlertSkipped", marker) == BELOW_MINIMUM
    # every alert was handled once (its own replica), and each replica did part of the work
    assert sum(alert_work) >= QUALIFYING + BELOW_MINIMUM, alert_work
    assert all(work > 0 for work in alert_work), alert_work
    assert sum(connector_work) >= QUALIFYING, connector_work
    assert all(work > 0 for work in connector_work), connector_work
    print(f"alert replicas handled {alert_work}, Rev.io connectors created {connector_work}")
