"""What a Rev.io ticket create costs in database round trips (the alert -> ticket path's
latency is mostly client CPU per round trip on a busy machine), and that the one statement
answering a command writes what the unit of work would have: outcome, audit event with the
unit's metadata, and the Result in the outbox with the trace headers."""

import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from revsync.contracts import ResultStatus
from revsync.contracts.revio import CreateRevioTicket
from revsync.devservers import DevServers

from tests.integration.revio_connector_support import (
    Sandbox,
    connector_settings,
    disable_tenant,
    outcome,
    running_connector,
    running_sandbox,
    save_tenant,
)
from tests.integration.round_trips import counted_round_trips

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox() as running:
        yield running


@pytest.fixture
async def revio_tenant(pool: asyncpg.Pool, tenant: str, sandbox: Sandbox) -> AsyncIterator[str]:
    saved = await save_tenant(pool, tenant, sandbox.url)
    yield tenant
    await disable_tenant(pool, saved)


@pytest.fixture
async def connector(
    servers: DevServers, database_url: str, revio_tenant: str
) -> AsyncIterator[Any]:
    async with running_connector(connector_settings(servers, database_url), watch=False) as c:
        yield c


def ticket(tenant: str, key: str) -> CreateRevioTicket:
    return CreateRevioTicket(
        tenant_id=tenant, source_key=key, customer_id="10001", title="Disk full",
        description="C: is 99% full", ticket_type="RMM Alert", priority="High",
    )  # fmt: skip


async def test_a_ticket_create_costs_at_most_nine_round_trips(
    connector: Any, pool: asyncpg.Pool, revio_tenant: str
):
    """BEGIN, the inbox claim, the echo lock, the create attempt, the limiter's slot of the
    create and of its read-back, the object hash, the answer (outcome + event + outbox),
    COMMIT (it was eleven: three for the answer)."""
    await connector.commands.create_ticket(ticket(revio_tenant, "alert:warm-up"))
    command = ticket(revio_tenant, "alert:counted")
    with counted_round_trips() as trips:
        await connector.commands.create_ticket(command)
    assert (await outcome(pool, revio_tenant, command.message_id)).status is ResultStatus.OK
    assert len(trips) <= 9, "\n".join(trips)


async def test_the_answer_to_a_command_carries_the_units_metadata_and_trace(
    connector: Any, pool: asyncpg.Pool, revio_tenant: str
):
    command = ticket(revio_tenant, "alert:traced")
    trace_id = secrets.token_hex(16)
    remote = SpanContext(int(trace_id, 16), int(secrets.token_hex(8), 16), is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))  # fmt: skip
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        await connector.commands.create_ticket(command)
    finally:
        context.detach(token)
    result = await outcome(pool, revio_tenant, command.message_id)
    event = await pool.fetchrow(
        "SELECT type, data, metadata FROM events WHERE tenant_id = $1 AND stream = $2",
        revio_tenant,
        f"command:{command.message_id}",
    )
    assert event["type"] == "CommandExecuted"
    assert event["data"] == {"subject": command.subject, "status": "ok",
                             "external_ids": result.external_ids, "reason": None}  # fmt: skip
    assert event["metadata"] == {
        "service": "revio-connector", "actor": "system", "trace_id": trace_id,
        "correlation_id": str(command.correlation_id), "causation_id": str(command.message_id),
    }  # fmt: skip
    sent = await pool.fetchrow(
        "SELECT subject, payload, headers FROM outbox WHERE tenant_id = $1 AND id = $2",
        revio_tenant,
        result.message_id,
    )
    assert sent is not None, "relayed already"  # the relay does not run in this test
    assert sent["subject"] == result.subject
    assert orjson.loads(sent["payload"]) == orjson.loads(result.to_bytes())
    assert trace_id in sent["headers"]["traceparent"]
