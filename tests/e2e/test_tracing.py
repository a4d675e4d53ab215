"""One sync decision is one trace across services: the RMM connector's poll publishes the
change, the alert service decides (its outbox row keeps the decision's trace context, the
relay publishes the command as its child), the Rev.io connector calls Rev.io (an httpx
span), and the decision event in the log carries the trace id.

This module runs a stack of its own, on its own NATS server and database, whose processes
export their spans to an OTLP/HTTP receiver in the test process. (A second stack on the
session's NATS would share the services' durable consumers with the session stack, whose
processes export nowhere.)
"""

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from revsync.devservers import DevServers, start_nats

from tests.conftest import fresh_database
from tests.e2e.stack import E2EStack, eventually
from tests.e2e.trace_support import (
    OtlpReceiver,
    Span,
    ancestry,
    http_method,
    http_url,
    linked_endpoints,
    tickets_with,
)

RMM, ALERT, REVIO = "cwrmm-connector", "alert", "revio-connector"
RELAYS = ("outbox-relay", RMM)  # the RMM connector runs a relay of its own too


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
async def traced_database(servers: DevServers) -> AsyncIterator[str]:
    async with fresh_database(servers, "revsync_trace") as url:
        yield url


@pytest.fixture(scope="module")
def stack(
    receiver: OtlpReceiver, traced_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[E2EStack]:
    """This module's own stack (it replaces the session's for the tests here)."""
    workdir = Path(tmp_path_factory.mktemp("traced"))
    nats = start_nats(workdir / "nats-data")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BSP_MAX_QUEUE_SIZE": "65536",
    }
    running = E2EStack(nats.url, traced_database, workdir, extra_env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        nats.stop()


def is_ticket_create(span: Span) -> bool:
    """The Rev.io connector's httpx span of `POST /v1/Tickets`."""
    return (
        span.service == REVIO
        and span.kind == "client"
        and http_method(span) == "POST"
        and http_url(span).split("?")[0].endswith("/v1/Tickets")
    )


def is_one_of(value: str, wanted: str | tuple[str, ...]) -> bool:
    return value in (wanted if isinstance(wanted, tuple) else (wanted,))


async def test_an_alert_ticket_is_one_trace_from_rmm_poll_to_revio_call(
    stack: E2EStack, receiver: OtlpReceiver
):
    tenant = await stack.new_tenant(seed=11)
    await tenant.initial_sync()
    endpoint, customer = (await linked_endpoints(tenant))[0]
    marker = f"trace-probe-{secrets.token_hex(3)}"
    calls_before = len(receiver.spans(lambda s: is_ticket_create(s)))

    await tenant.alert(endpoint, "cpu-hot", "Critical", summary=f"CPU hot {marker}")
    await eventually(lambda: tickets_with(tenant, customer, marker), within_s=90)

    async def the_create_span() -> list[Span]:
        found = receiver.spans(lambda s: is_ticket_create(s))
        return found[calls_before:]

    creates = await eventually(the_create_span, within_s=30)
    create = creates[-1]

    async def whole_chain() -> list[Span] | None:
        chain = list(ancestry(create, receiver.trace(create.trace_id)))
        return chain if chain[-1].service == RMM else None

    try:
        chain = await eventually(whole_chain, within_s=30)
    except AssertionError:
        chain = list(ancestry(create, receiver.trace(create.trace_id)))
        pytest.fail("no parent chain from Rev.io's POST /v1/Tickets up to the RMM connector:\n"
                    + "\n".join(span.describe() for span in chain))  # fmt: skip
    print("\n".join(span.describe() for span in reversed(chain)))
    assert {span.trace_id for span in chain} == {create.trace_id}
    # root first: the RMM connector's poll publishes the change, the alert service decides,
    # a relay (the relay process, or the one the RMM connector runs) publishes the command
    # from the outbox as a child of the decision, the Rev.io connector calls Rev.io
    raised, command = f"change.{tenant.id}.rmm.alert.raised", f"cmd.{tenant.id}.revio.ticket.create"
    steps: list[tuple[str | tuple[str, ...], str, str | tuple[str, ...] | None]] = [
        (RMM, "internal", ("rmm poll tickets", "rmm poll reconcile")),
        (RMM, "producer", f"{raised} publish"),
        (ALERT, "consumer", f"{raised} process"),
        (RELAYS, "producer", f"{command} publish"),
        (REVIO, "consumer", f"{command} process"),
        (REVIO, "client", None),
    ]
    found = [
        (span.service, span.kind, span.name)
        for span in reversed(chain)
        if span.kind != "internal" or span.parent_span_id is None
    ]
    assert len(found) == len(steps), found
    for (service, kind, name), (want_service, want_kind, want_name) in zip(
        found, steps, strict=True
    ):
        assert is_one_of(service, want_service) and kind == want_kind, found
        assert want_name is None or is_one_of(name, want_name), found
    relay_parent = next(s for s in chain if s.name == f"{command} publish").parent_span_id
    assert receiver.trace(create.trace_id)[relay_parent or ""].service == ALERT

    async def decisions() -> list[asyncpg.Record] | None:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch(
                "SELECT type, metadata->>'trace_id' AS trace_id FROM events"
                " WHERE tenant_id = $1 AND stream = ("
                "  SELECT stream FROM events WHERE tenant_id = $1"
                "  AND type = 'AlertTicketRequested' AND data->>'summary' LIKE '%' || $2)"
                " ORDER BY version",
                tenant.id,
                marker,
            )
        finally:
            await conn.close()
        return rows if "AlertTicketLinked" in {row["type"] for row in rows} else None

    # the decision, and the one its result caused, carry the trace id in their metadata
    rows = await eventually(decisions, within_s=60)
    assert [(row["type"], row["trace_id"]) for row in rows] == [
        ("AlertTicketRequested", create.trace_id),
        ("AlertTicketLinked", create.trace_id),
    ]
