"""The alert pipeline under faults: Rev.io answering 429 and 5xx, services killed (SIGKILL)
in the middle of a burst, and messages delivered twice. Whatever happens, each qualifying
alert ends with exactly one Rev.io ticket and none is missing."""

import asyncio
from typing import Any

import orjson

from tests.e2e.pipeline_support import (
    WAIT_S,
    alert_stream,
    alert_tickets,
    decisions,
    faults,
    linked_endpoints,
    one_each,
    ready_tenant,
    republish,
    source_key,
    stays,
    stored_messages,
    vendor_call_outcomes,
)
from tests.e2e.stack import E2EStack, E2ETenant, eventually

CONDITIONS = ("e2e-disk-full", "cpu-high", "memory-low", "e2e-service-down", "backup-failed")


def alert_items(pairs: list[tuple[dict[str, Any], str]], severity: str) -> list[dict[str, Any]]:
    return [
        {
            "company_id": endpoint["companyID"],
            "site_id": endpoint["siteID"],
            "endpoint_id": endpoint["endpointID"],
            "condition_id": condition,
            "alertDetails": {
                "severity": severity,
                "summary": f"{condition} on the endpoint",
                "description": f"{condition} (e2e fault run)",
            },
        }
        for endpoint, condition in pairs
    ]


async def burst(tenant: E2ETenant, count: int) -> list[tuple[dict[str, Any], str]]:
    """`count` distinct (endpoint, condition) pairs of linked companies."""
    endpoints = [e for e, _ in await linked_endpoints(tenant, None)]
    pairs = [(e, c) for c in CONDITIONS for e in endpoints][:count]
    assert len(pairs) == count, f"only {len(pairs)} pairs"
    return pairs


async def test_revio_429_and_5xx_for_a_while_still_one_ticket_per_alert(stack: E2EStack):
    tenant = await ready_tenant(stack, seed=21)
    pairs = await burst(tenant, 6)
    qualifying, low = pairs[:5], pairs[5:]
    # the first ticket creates answer 429, whenever they come: a storm of a few seconds was
    # over before the creates came when the tenant's initial asset upserts (40% failing
    # below, retried) kept the connector busy
    storm = {
        "path_prefix": "/v1/Tickets",
        "method": "POST",
        "storm_429": {"retry_after_s": 1, "count": 3},
    }
    errors = {"path_prefix": "/v1/", "error_rate": 0.4, "error_status": 500}

    async with faults(tenant, "revio", storm, errors):
        await tenant.rmm("POST", "/v2/alerts", json=alert_items(qualifying, "High"))
        await tenant.rmm("POST", "/v2/alerts", json=alert_items(low, "Low"))

        async def both_faults_hit() -> dict[str, float] | None:
            outcomes = await vendor_call_outcomes(stack, tenant)
            seen = {key.rsplit(" ", 1)[1] for key in outcomes}
            return outcomes if {"429", "500"} <= seen else None

        outcomes = await eventually(both_faults_hit, WAIT_S)

    tickets = await one_each(tenant, qualifying, within_s=120)
    assert len(tickets) == len(qualifying)
    for endpoint, condition in low:
        assert not await alert_tickets(tenant, endpoint, condition)
    for endpoint, condition in qualifying:
        stream = alert_stream(endpoint, condition)
        assert len(await decisions(tenant, "AlertTicketRequested", entity=stream)) == 1
        assert not await decisions(tenant, "AlertTicketCreateFailed", entity=stream)
    # the retries are on record: the connector's vendor-call counter by outcome
    failed = {k: v for k, v in outcomes.items() if k.endswith((" 429", " 500"))}
    assert sum(failed.values()) >= 2, outcomes


async def test_alert_service_and_revio_connector_killed_mid_burst_one_ticket_per_alert(
    stack: E2EStack,
):
    tenant = await ready_tenant(stack, seed=22)
    pairs = await burst(tenant, 20)
    alert, connector = stack.process("alert"), stack.process("revio_connector")

    await tenant.rmm("POST", "/v2/alerts", json=alert_items(pairs, "Critical"))

    async def processing() -> list[dict[str, Any]]:
        return await decisions(tenant, "AlertTicketRequested")

    started = await eventually(processing, WAIT_S, every_s=0.1)
    alert.kill()
    connector.kill()
    killed_after = len(started)
    await asyncio.sleep(1.0)  # a crashed pod is not back at once
    stack.restart(alert)
    stack.restart(connector)

    tickets = await one_each(tenant, pairs, within_s=150)
    assert len(tickets) == len(pairs), f"killed after {killed_after} requests"

    async def still_one_each() -> None:
        await one_each(tenant, pairs, within_s=0)

    await stays(still_one_each, for_s=5)


async def test_duplicate_deliveries_of_an_alert_and_its_create_open_no_second_ticket(
    stack: E2EStack,
):
    tenant = await ready_tenant(stack, seed=23)
    [(endpoint, _customer)] = await linked_endpoints(tenant)
    await tenant.alert(endpoint, "e2e-disk-full", "Critical")
    [ticket] = await eventually(lambda: alert_tickets(tenant, endpoint, "e2e-disk-full"), WAIT_S)

    changes = await stored_messages(stack, "CHANGES", f"change.{tenant.id}.rmm.alert.*")
    raised = [m for m in changes if _is_alert(m.data, endpoint, "e2e-disk-full")]
    creates = await stored_messages(stack, "COMMANDS", f"cmd.{tenant.id}.revio.ticket.create")
    key = source_key(ticket)
    commands = [m for m in creates if orjson.loads(m.data)["source_key"] == key]
    assert raised and len(commands) == 1, (len(raised), len(commands))
    command = commands[0]

    # the same change and command again (a producer that retried), then as new messages
    # with the same content (a connector that reported an alert twice, a command sent twice)
    for message in (*raised, command):
        await republish(stack, message.subject, message.data, new_message_id=False)
        await republish(stack, message.subject, message.data, new_message_id=True)

    # the connector answers the re-sent create from Rev.io: it finds the ticket by its marker
    async def recreated() -> list[dict[str, Any]]:
        executed = await decisions(tenant, "CommandExecuted", entity="command")
        return [
            e
            for e in executed
            if e["data"]["subject"].endswith("revio.ticket.create")
            and e["data"]["external_ids"].get("ticket_id") == str(ticket["ticket_id"])
        ]

    executed = await eventually(lambda: _at_least(recreated, 2), WAIT_S)
    assert {e["data"]["external_ids"]["ticket_id"] for e in executed} == {str(ticket["ticket_id"])}

    async def one_ticket_one_decision() -> None:
        found = await alert_tickets(tenant, endpoint, "e2e-disk-full")
        assert [t["ticket_id"] for t in found] == [ticket["ticket_id"]]
        stream = alert_stream(endpoint, "e2e-disk-full")
        assert len(await decisions(tenant, "AlertTicketRequested", entity=stream)) == 1
        assert not await decisions(tenant, "AlertRepeated", entity=stream)

    await stays(one_ticket_one_decision, for_s=6)


async def _at_least(check: Any, count: int) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await check()
    return found if len(found) >= count else None


def _is_alert(body: bytes, endpoint: dict[str, Any], condition: str) -> bool:
    alert = orjson.loads(body)["alert"]
    return bool(
        alert["endpoint_id"] == endpoint["endpointID"] and alert["condition_id"] == condition
    )
