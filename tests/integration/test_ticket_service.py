"""The ticket service through its handlers on real NATS JetStream and PostgreSQL: ticket
changes and results published as the connectors would, commands read back from COMMANDS."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioTicket,
    JournalEntry,
    RevioTicket,
    RevioTicketChanged,
    UpdateRevioTicket,
)
from revsync.contracts.rmm import (
    AddRmmTicketNote,
    CloseRmmTicket,
    CreateRmmTicket,
    RmmTicket,
    RmmTicketChanged,
    TicketNote,
)
from revsync.devservers import DevServers
from revsync.messaging import make_broker, publish
from revsync.projection import replay
from revsync.tenancy import SyncSettings

from services.ticket.app import TicketService, register
from services.ticket.projection import TicketLinks
from tests.integration.service_harness import (
    FAST,
    Harness,
    link_company,
    publish_again,
    save_tenant,
    settings_reader,
    unique_name,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SETTINGS = SyncSettings(
    sync_manual_tickets=True,
    revio_to_rmm_tickets=True,
    default_service_board="board-7",
    default_ticket_source="source-3",
)


def rmm_change(
    tenant: str,
    t: int = 0,
    notes: tuple[str, ...] = (),
    status: str = "New",
    ticket_id: str = "rt-1",
    marker: str | None = None,
    source: str = "Phone",
) -> RmmTicketChanged:
    return RmmTicketChanged(
        tenant_id=tenant,
        kind="changed",
        ticket=RmmTicket(
            id=ticket_id,
            company_id="co-1",
            summary="Printer jams",
            description="Printer jams on tray 2",
            status_category=status,  # type: ignore[arg-type]
            updated_at=T0 + timedelta(seconds=t),
            source=source,
            notes=tuple(
                TicketNote(id=n, text=f"note {n}", created_at=T0 + timedelta(seconds=i))
                for i, n in enumerate(notes)
            ),
            revio_ticket_id=marker,
        ),
    )


def revio_change(
    tenant: str,
    t: int = 0,
    ticket_id: str = "R-1",
    by_revsync: bool = False,
    rmm_ticket_id: str | None = None,
    status: str = "OPEN",
    journal: tuple[str, ...] = (),
) -> RevioTicketChanged:
    return RevioTicketChanged(
        tenant_id=tenant,
        kind="changed",
        ticket=RevioTicket(
            id=ticket_id,
            customer_id="cust-1",
            description="VPN down\nsince this morning",
            status=status,
            closed=status == "CLOSED",
            updated_at=T0 + timedelta(seconds=t),
            created_by_revsync=by_revsync,
            rmm_ticket_id=rmm_ticket_id,
            journal=tuple(JournalEntry(id=j, text=f"entry {j}") for j in journal),
        ),
    )


async def start_ticket_service(
    servers: DevServers,
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    settings: SyncSettings = SETTINGS,
) -> tuple[Harness, str]:
    await save_tenant(pool, tenant, settings)
    await link_company(pool, tenant, "cust-1", "co-1")
    name = unique_name("ticket")
    service = TicketService(pool, settings_reader(pool), consumer=name)
    broker = make_broker(servers.nats_url)
    register(broker, service, name=name, tenant=tenant, policy=FAST, workers=8)
    return await Harness(broker, pool, js, tenant).start(), name


@pytest.fixture
async def ticket_service(
    servers: DevServers, pool: asyncpg.Pool, js: JetStreamContext, tenant: str
) -> AsyncIterator[tuple[Harness, str]]:
    harness, name = await start_ticket_service(servers, pool, js, tenant)
    yield harness, name
    await harness.stop()


async def drained(harness: Harness, name: str) -> None:
    await harness.drained("CHANGES", [f"{name}-rmm-tickets", f"{name}-revio-tickets"])
    await harness.drained("RESULTS", [f"{name}-revio-results", f"{name}-rmm-results"])


async def test_manual_rmm_ticket_and_notes_reach_revio_each_note_once(ticket_service):
    harness, name = ticket_service
    tenant = harness.tenant_id
    first = rmm_change(tenant, notes=("n1", "n2"))
    await asyncio.gather(
        publish(harness.js, first),
        publish_again(harness.js, first),
        publish(harness.js, rmm_change(tenant, t=5, notes=("n1", "n2"))),
    )
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    assert (create.customer_id, create.rmm_ticket_id) == ("cust-1", "rt-1")

    await publish(harness.js, Result.of(create, ResultStatus.OK, {"ticket_id": "R-9"}))
    await harness.commands.wait_for(AddRevioJournalEntry, 2)
    later = rmm_change(tenant, t=30, notes=("n1", "n2", "n3"))
    await asyncio.gather(publish(harness.js, later), publish_again(harness.js, later))
    await harness.commands.wait_for(AddRevioJournalEntry, 3)
    # the echo of our own Rev.io ticket and of our journal entries: nothing comes back
    await publish(
        harness.js,
        revio_change(tenant, t=31, ticket_id="R-9", by_revsync=True, rmm_ticket_id="rt-1"),
    )
    await drained(harness, name)

    await harness.commands.drain()
    journals = harness.commands.of(AddRevioJournalEntry)
    assert sorted(j.source_note_id for j in journals) == ["n1", "n2", "n3"]
    assert {j.ticket_id for j in journals} == {"R-9"}
    assert len(harness.commands.of(CreateRevioTicket)) == 1
    assert harness.commands.of(CreateRmmTicket) == []
    row = await harness.pool.fetchrow(
        "SELECT state, revio_ticket_id, notes_carried FROM ticket_links WHERE tenant_id = $1",
        tenant,
    )
    assert dict(row) == {"state": "linked", "revio_ticket_id": "R-9", "notes_carried": 3}

    query = "SELECT * FROM ticket_links WHERE tenant_id = $1 ORDER BY link_key"
    before = [dict(r) for r in await harness.pool.fetch(query, tenant)]
    await replay(harness.pool, [TicketLinks()])
    assert [dict(r) for r in await harness.pool.fetch(query, tenant)] == before


async def test_status_and_close_flow_both_ways(ticket_service):
    harness, name = ticket_service
    tenant = harness.tenant_id
    await publish(harness.js, rmm_change(tenant))
    (create,) = await harness.commands.wait_for(CreateRevioTicket, 1)
    await publish(harness.js, Result.of(create, ResultStatus.OK, {"ticket_id": "R-9"}))
    await harness.wait_for_event("ticket-link", "TicketLinked")
    await publish(harness.js, rmm_change(tenant, t=10, status="InProgress"))
    (update,) = await harness.commands.wait_for(UpdateRevioTicket, 1)
    assert (update.ticket_id, update.status) == ("R-9", "INWORK")
    closed = revio_change(
        tenant, t=20, ticket_id="R-9", by_revsync=True, rmm_ticket_id="rt-1", status="CLOSED"
    )
    await publish(harness.js, closed)
    (close,) = await harness.commands.wait_for(CloseRmmTicket, 1)
    assert close.ticket_id == "rt-1"
    (event,) = await harness.wait_for_event("ticket-link", "TicketClosed")
    assert (event.data["closed_on"], event.data["rule"]) == (
        "revio",
        "closed_on_either_side_closes_both",
    )
    await drained(harness, name)


async def test_persons_revio_ticket_becomes_an_rmm_ticket_on_the_configured_board(ticket_service):
    harness, name = ticket_service
    tenant = harness.tenant_id
    await publish(harness.js, revio_change(tenant, journal=("j1",)))
    (create,) = await harness.commands.wait_for(CreateRmmTicket, 1)
    assert (create.board_id, create.source_id) == ("board-7", "source-3")
    assert (create.company_id, create.revio_ticket_id, create.summary) == (
        "co-1",
        "R-1",
        "VPN down",
    )

    # the echo of the RMM ticket we created arrives before the create's result
    await publish(harness.js, rmm_change(tenant, ticket_id="rt-50", marker="R-1", t=3))
    (note,) = await harness.commands.wait_for(AddRmmTicketNote, 1)
    assert (note.ticket_id, note.source_note_id) == ("rt-50", "j1")
    await publish(harness.js, Result.of(create, ResultStatus.OK, {"ticket_id": "rt-50"}))
    await drained(harness, name)

    await harness.commands.drain()
    assert len(harness.commands.of(CreateRmmTicket)) == 1
    assert harness.commands.of(CreateRevioTicket) == []  # no loop back into Rev.io
    (linked,) = await harness.wait_for_event("ticket-link", "TicketLinked")
    assert linked.data["via"] == "echo"


async def test_revsync_created_revio_tickets_do_not_loop_back_to_rmm(ticket_service):
    harness, name = ticket_service
    tenant = harness.tenant_id
    alert_ticket = revio_change(tenant, ticket_id="R-A", by_revsync=True, rmm_ticket_id="rt-alert")
    await publish(harness.js, alert_ticket)
    await publish(harness.js, rmm_change(tenant, ticket_id="rt-alert", source="Alert"))
    await drained(harness, name)
    assert await harness.commands.drain() == []
    assert await harness.events("ticket-link") == []


async def test_revio_to_rmm_off_sends_only_rmm_to_revio(
    servers: DevServers, pool: asyncpg.Pool, js: JetStreamContext, tenant: str
):
    settings = SETTINGS.model_copy(update={"revio_to_rmm_tickets": False})
    harness, name = await start_ticket_service(servers, pool, js, tenant, settings)
    try:
        await publish(js, revio_change(tenant))
        await publish(js, rmm_change(tenant, ticket_id="rt-2"))
        await harness.commands.wait_for(CreateRevioTicket, 1)
        await drained(harness, name)
        await harness.commands.drain()
        assert harness.commands.of(CreateRmmTicket) == []
    finally:
        await harness.stop()
