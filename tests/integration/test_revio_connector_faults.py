"""Rev.io misbehaving (429 storms with Retry-After, 5xx bursts, timeouts, malformed JSON):
no command is lost, no object is created twice in Rev.io, every failure is classified."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.contracts import ResultStatus
from revsync.contracts.revio import AddRevioJournalEntry, CreateRevioTicket
from revsync.devservers import DevServers
from revsync.messaging import publish
from revsync.vendor.metrics import calls_made

from services.revio_connector import markers
from services.revio_connector.metrics import INVALID
from tests.integration.revio_connector_support import (
    Sandbox,
    connector_settings,
    disable_tenant,
    outcome,
    running_connector,
    running_sandbox,
    save_tenant,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox() as running:
        yield running


@pytest.fixture
async def revio_tenant(pool: asyncpg.Pool, tenant: str, sandbox: Sandbox) -> AsyncIterator[str]:
    saved = await save_tenant(pool, tenant, sandbox.url)
    yield tenant
    await disable_tenant(pool, saved)


def tickets_by_key(sandbox: Sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ticket in sandbox.store().tickets.rows.values():
        for entry in ticket["fields"]:
            if entry["label"] == markers.SOURCE_KEY_FIELD:
                counts[entry["value"]] = counts.get(entry["value"], 0) + 1
    return counts


def journals_by_note(sandbox: Sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for journal in sandbox.store().ticket_journals.rows.values():
        note = markers.read_note(journal["message"])[1]
        if note:
            counts[note] = counts.get(note, 0) + 1
    return counts


async def test_429_storms_5xx_bursts_and_malformed_json_lose_nothing_and_duplicate_nothing(
    servers: DevServers, database_url: str, sandbox: Sandbox, js: JetStreamContext,
    pool: asyncpg.Pool, revio_tenant: str,
):  # fmt: skip
    parents = [await sandbox.new_ticket(10001 + i) for i in range(2)]
    await sandbox.faults(
        {"path_prefix": "/v1/Tickets", "storm_429": {"retry_after_s": 1, "count": 6}},
        {"path_prefix": "/v1/TicketJournals", "error_rate": 0.4, "error_status": 502},
        {"path_prefix": "/v1/", "method": "GET", "malformed_json_rate": 0.3},
    )
    commands: list[Any] = [
        CreateRevioTicket(tenant_id=revio_tenant, source_key=f"alert:{n}",
                          customer_id=str(10001 + n % 3), title=f"Alert {n}", description="x")
        for n in range(8)
    ] + [
        AddRevioJournalEntry(tenant_id=revio_tenant, ticket_id=parent, text=f"note {n}",
                             source_note_id=f"{parent}-{n}")
        for parent in parents for n in range(3)
    ]  # fmt: skip
    settings = connector_settings(servers, database_url)
    async with running_connector(settings, watch=False):
        for command in commands:
            await publish(js, command)
        results = [await outcome(pool, revio_tenant, c.message_id, 60) for c in commands]

    assert [r.status for r in results] == [ResultStatus.OK] * len(commands)
    assert tickets_by_key(sandbox) == {f"alert:{n}": 1 for n in range(8)}
    assert journals_by_note(sandbox) == {f"{p}-{n}": 1 for p in parents for n in range(3)}
    counted = calls_made(tenant=revio_tenant)
    assert sum(n for k, n in counted.items() if k.endswith(" 429")) >= 6, counted
    assert counted.get("revio TicketJournals 502", 0) >= 1, counted
    malformed = sum(
        sample.value
        for metric in INVALID.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["tenant"] == revio_tenant
    )
    assert malformed >= 1  # counted and logged, then asked again


async def test_a_create_whose_answer_is_lost_is_found_not_repeated(
    servers: DevServers, database_url: str, sandbox: Sandbox, js: JetStreamContext,
    pool: asyncpg.Pool, revio_tenant: str,
):  # fmt: skip
    # Rev.io takes 1.5 s to create a ticket, we wait 1 s for an answer: the create succeeds
    # on Rev.io's side while we see a timeout. Lookups of ticket types hang up for a while.
    slow_create = {"path_prefix": "/v1/Tickets", "method": "POST", "latency_ms": 1500}
    hang_up = {"path_prefix": "/v1/TicketTypes", "timeout_s": 0.3}
    await sandbox.faults(slow_create, hang_up)
    settings = connector_settings(
        servers, database_url, revio_http_timeout_s=1.0, revio_create_settle_s=1.5
    )
    commands = [
        CreateRevioTicket(tenant_id=revio_tenant, source_key=f"slow:{n}", customer_id="10001",
                          title="Slow", description="Rev.io is slow today")
        for n in range(3)
    ]  # fmt: skip
    async with running_connector(settings, watch=False):
        for command in commands:
            await publish(js, command)
        await asyncio.sleep(2.0)
        await sandbox.faults(slow_create)  # the hang-ups stop; creates stay slow
        results = [await outcome(pool, revio_tenant, c.message_id, 60) for c in commands]

    assert all(r.ok for r in results), [r.reason for r in results]
    assert tickets_by_key(sandbox) == {f"slow:{n}": 1 for n in range(3)}
    assert len(sandbox.statuses("POST", "/v1/Tickets")) == 3  # never sent a second time
    assert len({r.external_ids["ticket_id"] for r in results}) == 3
    counted = calls_made(tenant=revio_tenant)
    assert any(k.startswith("revio Tickets ReadTimeout") for k in counted), counted
    assert any(k.startswith("revio TicketTypes Remote") for k in counted), counted
