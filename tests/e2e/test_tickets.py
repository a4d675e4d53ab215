"""Manual tickets sync both ways through the whole pipeline: RMM tickets and their notes into
Rev.io, Rev.io journal entries back as RMM notes, and tickets a person opens in Rev.io into
RMM on the configured board and source."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.pipeline_support import (
    RMM_LOOKUPS,
    RMM_TICKETS,
    WAIT_S,
    journals,
    linked_endpoints,
    revio_tickets,
    rmm_lookup_id,
    rmm_notes,
    rmm_tickets,
    source_key,
    stays,
    sync_until_linked,
    ticket_type_other_than,
)
from tests.e2e.stack import E2EStack, E2ETenant, eventually

POLL_CYCLES_S = 6.0  # several polls of both connectors (0.5 s each), and their decisions


@pytest.fixture(scope="module")
async def tenant(stack: E2EStack) -> AsyncIterator[E2ETenant]:
    """One tenant for this module's tests (they touch different tickets), with a board and a
    source that are not the first ones, so the test sees the configured values travel."""
    made = await stack.new_tenant(seed=13)
    board = await rmm_lookup_id(made, "service-boards", "Help Desk")
    source = await rmm_lookup_id(made, "sources", "Portal")
    await made.update_settings(default_service_board=board, default_ticket_source=source)
    await sync_until_linked(made)
    yield made


def texts_of(entries: list[dict[str, Any]], key: str, needle: str) -> list[dict[str, Any]]:
    return [e for e in entries if needle in str(e.get(key) or "")]


async def test_manual_rmm_ticket_and_notes_reach_revio_and_a_revio_reply_returns_once(
    tenant: E2ETenant,
):
    [(endpoint, customer)] = await linked_endpoints(tenant)
    created = await tenant.rmm(
        "POST",
        RMM_TICKETS,
        json={
            "summary": "Printer jams on floor 2",
            "description": "The printer on floor 2 jams on every second page (e2e).",
            "serviceBoard": {"name": "Help Desk"},
            "source": {"name": "Phone"},
            "company": {"id": endpoint["companyID"]},
            "site": {"id": endpoint["siteID"]},
        },
    )
    rmm_id = created["id"]
    await tenant.rmm(
        "POST",
        f"{RMM_LOOKUPS}/tickets/{rmm_id}/notes",
        json={"detail": "Called the user: tray 2 is the culprit.", "visibility": 1},
    )

    async def mirrored() -> list[dict[str, Any]]:
        tickets = await revio_tickets(tenant, customer)
        return [t for t in tickets if source_key(t) == f"rmm-ticket:{rmm_id}"]

    [ticket] = await eventually(mirrored, WAIT_S)
    assert "every second page" in ticket["description"]
    revio_id = ticket["ticket_id"]

    async def note_carried() -> list[dict[str, Any]]:
        return texts_of(await journals(tenant, revio_id), "message", "tray 2 is the culprit")

    [carried] = await eventually(note_carried, WAIT_S)

    # at once, as a person answering the note revsync just wrote: the reply must not be taken
    # for the echo of that write (services/revio_connector/echo.py)
    reply = "Replacement toner ordered (e2e reply)."
    await tenant.revio("POST", "/TicketJournals", json={"ticket_id": revio_id, "message": reply})

    async def reply_in_rmm() -> list[dict[str, Any]]:
        return texts_of(await rmm_notes(tenant, rmm_id), "detail", reply)

    await eventually(reply_in_rmm, WAIT_S)

    async def each_once() -> None:
        notes = await rmm_notes(tenant, rmm_id)
        assert len(texts_of(notes, "detail", reply)) == 1  # the reply, once in RMM
        assert len(texts_of(notes, "detail", "tray 2 is the culprit")) == 1  # never echoed back
        entries = await journals(tenant, revio_id)
        assert len(texts_of(entries, "message", reply)) == 1  # never echoed back
        assert len(texts_of(entries, "message", "tray 2 is the culprit")) == 1  # carried once
        assert len(await mirrored()) == 1

    await stays(each_once, for_s=POLL_CYCLES_S)
    assert carried["ticket_id"] == revio_id


async def test_revio_ticket_opened_by_a_person_lands_in_rmm_on_the_configured_board_and_source(
    tenant: E2ETenant,
):
    [(endpoint, customer)] = await linked_endpoints(tenant)
    settings = tenant.tenant.settings
    ticket_type = await ticket_type_other_than(tenant, settings.alert_ticket_type or "RMM Alert")
    description = "VPN drops every hour since Monday (opened in Rev.io, e2e)"
    created = await tenant.revio(
        "POST",
        "/Tickets",
        json={"customer_id": int(customer), "ticket_type_id": ticket_type,
              "description": description},
    )  # fmt: skip
    revio_id = str(created["id"])

    async def in_rmm() -> list[dict[str, Any]]:
        return [t for t in await rmm_tickets(tenant) if description in (t["summary"] or "")]

    [ticket] = await eventually(in_rmm, WAIT_S)
    assert ticket["serviceBoard"]["id"] == settings.default_service_board
    assert ticket["source"]["id"] == settings.default_ticket_source
    assert ticket["company"]["id"] == endpoint["companyID"]
    assert revio_id in ticket["description"] or revio_id in str(ticket.get("extendedAttributes"))

    async def no_loop() -> None:
        assert len(await in_rmm()) == 1
        tickets = await revio_tickets(tenant, customer)
        assert len(texts_of(tickets, "description", description)) == 1

    await stays(no_loop, for_s=POLL_CYCLES_S)
