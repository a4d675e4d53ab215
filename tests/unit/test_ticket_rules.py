"""The ticket rules (services/ticket/decide.py), pure: no servers, no clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from revsync.contracts.base import Command, Result, ResultStatus
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
    UpdateRmmTicket,
)
from revsync.decision import Decision, DecisionContext
from revsync.tenancy import SyncSettings

from services.ticket import decide
from services.ticket.sightings import revio_sighting, rmm_sighting, summary_from
from services.ticket.state import LinkState, apply, from_json, to_json

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TENANT = "msp1"
BOTH_WAYS = SyncSettings(
    sync_manual_tickets=True,
    revio_to_rmm_tickets=True,
    default_service_board="board-7",
    default_ticket_source="source-3",
)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rmm_ticket(
    status: str = "New",
    t: int = 0,
    notes: tuple[TicketNote, ...] = (),
    ticket_id: str = "rt-1",
    description: str | None = "Printer jams on tray 2",
    source: str | None = "Phone",
    marker: str | None = None,
    company: str | None = "co-1",
) -> RmmTicket:
    return RmmTicket(
        id=ticket_id,
        company_id=company,
        summary="Printer jams",
        description=description,
        status_category=status,  # type: ignore[arg-type]
        updated_at=at(t),
        source=source,
        notes=notes,
        revio_ticket_id=marker,
    )


def revio_ticket(
    status: str = "OPEN",
    t: int = 0,
    journal: tuple[JournalEntry, ...] = (),
    ticket_id: str = "R-1",
    description: str = "Printer jams on tray 2",
    by_revsync: bool = False,
    rmm_ticket_id: str | None = None,
    customer: str | None = "cust-9",
) -> RevioTicket:
    return RevioTicket(
        id=ticket_id,
        customer_id=customer,
        description=description,
        status=status,
        closed=status == "CLOSED",
        updated_at=at(t),
        journal=journal,
        created_by_revsync=by_revsync,
        rmm_ticket_id=rmm_ticket_id,
    )


def note(note_id: str, text: str = "called the user", by_revsync: bool = False) -> TicketNote:
    return TicketNote(id=note_id, text=text, written_by_revsync=by_revsync, created_at=T0)


def entry(entry_id: str, text: str = "parts ordered", by_revsync: bool = False) -> JournalEntry:
    return JournalEntry(id=entry_id, text=text, written_by_revsync=by_revsync, created_at=T0)


class Link:
    """One ticket-link stream: decisions folded as the service would."""

    def __init__(self, settings: SyncSettings = BOTH_WAYS) -> None:
        self.state = LinkState(key="k")
        self.settings = settings
        self.history: list[Decision] = []

    def _fold(self, decision: Decision) -> Decision:
        for event in decision.events:
            self.state = replace(
                apply(self.state, event.type, event.data), version=self.state.version + 1
            )
        self.history.append(decision)
        return decision

    def rmm(self, ticket: RmmTicket, customer: str | None = "cust-9", alert: bool = False):
        change = RmmTicketChanged(tenant_id=TENANT, kind="changed", ticket=ticket)
        return self._see(change, rmm_sighting(ticket), customer, alert)

    def revio(self, ticket: RevioTicket, company: str | None = "co-1"):
        change = RevioTicketChanged(tenant_id=TENANT, kind="changed", ticket=ticket)
        return self._see(change, revio_sighting(ticket), company, False)

    def _see(self, change: Any, sighting: Any, counterpart: str | None, alert: bool) -> Decision:
        ctx = DecisionContext.of(change, T0)
        if self.state.phase in ("none", "skipped", "failed"):
            decision = decide.decide_new_ticket(
                self.state, sighting, counterpart, alert, self.settings, ctx
            )
        else:
            decision = decide.decide_sighting(self.state, sighting, self.settings, ctx)
        return self._fold(decision)

    def result(self, command: Command, status: ResultStatus = ResultStatus.OK, **ids: str):
        result = Result.of(command, status, ids or None, None if ids else "refused")
        ctx = DecisionContext.of(result, T0)
        if command.verb == "create":
            return self._fold(decide.decide_create_result(self.state, result, ctx))
        return self._fold(decide.decide_command_result(self.state, result, ctx))

    def commands(self, kind: type[Command] = Command) -> list[Any]:
        return [c for d in self.history for c in d.commands if isinstance(c, kind)]

    def events(self, type_: str) -> list[Any]:
        return [e for d in self.history for e in d.events if e.type == type_]

    def linked_from_rmm(self, ticket: RmmTicket | None = None) -> None:
        self.rmm(ticket or rmm_ticket())
        self.result(self.commands(CreateRevioTicket)[0], ticket_id="R-1")

    def linked_from_revio(self, ticket: RevioTicket | None = None) -> None:
        self.revio(ticket or revio_ticket())
        self.result(self.commands(CreateRmmTicket)[0], ticket_id="rt-1")


# --- RMM -> Rev.io ------------------------------------------------------------------------


def test_manual_rmm_ticket_creates_a_revio_ticket_for_the_linked_customer():
    link = Link()
    decision = link.rmm(rmm_ticket())
    (create,) = decision.commands
    assert isinstance(create, CreateRevioTicket)
    assert (create.customer_id, create.rmm_ticket_id) == ("cust-9", "rt-1")
    assert create.title == "Printer jams" and create.description == "Printer jams on tray 2"
    assert create.source_key == "rmm-ticket:rt-1"
    assert decision.event_types == ["TicketLinkRequested"]
    assert decision.events[0].data["rule"] == "sync_manual_tickets"


def test_manual_tickets_off_syncs_nothing():
    link = Link(BOTH_WAYS.model_copy(update={"sync_manual_tickets": False}))
    assert link.rmm(rmm_ticket()).empty


def test_alert_ticket_is_left_to_the_alert_service():
    assert Link().rmm(rmm_ticket(), alert=True).empty


def test_ticket_of_an_unlinked_company_is_skipped_once_with_the_reason():
    link = Link()
    first = link.rmm(rmm_ticket(), customer=None)
    again = link.rmm(rmm_ticket(t=5), customer=None)
    assert first.event_types == ["TicketSkipped"]
    assert first.events[0].data["reason"] == "company_not_linked"
    assert again.empty
    link.rmm(rmm_ticket(t=10))  # the company got linked meanwhile
    assert len(link.commands(CreateRevioTicket)) == 1


def test_ticket_closed_before_it_was_ever_synced_is_not_created():
    assert Link().rmm(rmm_ticket(status="Closed")).empty


def test_notes_seen_before_the_revio_ticket_exists_are_carried_once_it_does():
    link = Link()
    link.rmm(rmm_ticket(notes=(note("n1"), note("n2"))))
    link.rmm(rmm_ticket(t=5, notes=(note("n1"), note("n2"), note("n3"))))
    assert link.commands(AddRevioJournalEntry) == []

    linked = link.result(link.commands(CreateRevioTicket)[0], ticket_id="R-1")
    journals = [c for c in linked.commands if isinstance(c, AddRevioJournalEntry)]
    assert [(j.ticket_id, j.source_note_id) for j in journals] == [
        ("R-1", "n1"),
        ("R-1", "n2"),
        ("R-1", "n3"),
    ]


def test_each_note_is_carried_once_and_revsyncs_own_notes_never():
    link = Link()
    link.linked_from_rmm()
    link.rmm(rmm_ticket(t=5, notes=(note("n1"),)))
    link.rmm(rmm_ticket(t=6, notes=(note("n1"), note("n9", by_revsync=True))))
    link.rmm(rmm_ticket(t=7, notes=(note("n1"), note("n9", by_revsync=True))))
    assert [j.source_note_id for j in link.commands(AddRevioJournalEntry)] == ["n1"]


def test_journal_entries_become_rmm_notes_once_and_our_own_entries_never():
    link = Link()
    link.linked_from_rmm()
    link.revio(revio_ticket(t=5, by_revsync=True, rmm_ticket_id="rt-1", journal=(entry("j1"),)))
    link.revio(
        revio_ticket(
            t=6,
            by_revsync=True,
            rmm_ticket_id="rt-1",
            journal=(entry("j1"), entry("j2", by_revsync=True)),
        )
    )
    notes = link.commands(AddRmmTicketNote)
    assert [(n.ticket_id, n.source_note_id) for n in notes] == [("rt-1", "j1")]


def test_echo_of_the_created_revio_ticket_links_before_the_result_and_the_result_is_a_no_op():
    link = Link()
    link.rmm(rmm_ticket(notes=(note("n1"),)))
    echo = link.revio(revio_ticket(by_revsync=True, rmm_ticket_id="rt-1"))
    assert echo.event_types[0] == "TicketLinked"
    assert echo.events[0].data["via"] == "echo"
    assert [j.source_note_id for j in link.commands(AddRevioJournalEntry)] == ["n1"]
    assert link.result(link.commands(CreateRevioTicket)[0], ticket_id="R-1").empty


def test_status_set_in_rmm_before_the_create_is_sent_once_linked():
    link = Link()
    link.rmm(rmm_ticket(status="InProgress"))
    linked = link.result(link.commands(CreateRevioTicket)[0], ticket_id="R-1")
    (update,) = [c for c in linked.commands if isinstance(c, UpdateRevioTicket)]
    assert update.status == "INWORK"


def test_refused_create_is_recorded_and_retried_on_the_next_change():
    link = Link()
    link.rmm(rmm_ticket())
    failed = link.result(link.commands(CreateRevioTicket)[0], ResultStatus.REJECTED)
    assert failed.event_types == ["TicketLinkFailed"]
    link.rmm(rmm_ticket(t=9))
    assert len(link.commands(CreateRevioTicket)) == 2


# --- fields and status ----------------------------------------------------------------------


def test_description_change_in_rmm_updates_revio():
    link = Link()
    link.linked_from_rmm()
    decision = link.rmm(rmm_ticket(t=30, description="Printer jams on every tray"))
    assert decision.event_types == ["TicketFieldSynced"]
    (update,) = decision.commands
    assert isinstance(update, UpdateRevioTicket)
    assert update.description == "Printer jams on every tray"


def test_status_maps_by_category_both_ways():
    link = Link()
    link.linked_from_rmm()
    link.rmm(rmm_ticket(t=30, status="InProgress"))
    update = link.commands(UpdateRevioTicket)[-1]
    assert update.status == "INWORK"
    confirmed = link.result(update)
    assert confirmed.event_types == ["TicketFieldConfirmed"]
    link.revio(revio_ticket(status="PENDING", t=60, by_revsync=True, rmm_ticket_id="rt-1"))
    assert link.commands(UpdateRmmTicket) == []  # PENDING is In Progress too
    link.revio(revio_ticket(status="OPEN", t=90, by_revsync=True, rmm_ticket_id="rt-1"))
    assert link.commands(UpdateRmmTicket)[-1].status_category == "New"


def test_a_person_moving_the_status_back_after_our_write_landed_is_a_change():
    link = Link()
    link.linked_from_rmm()
    link.rmm(rmm_ticket(t=30, status="InProgress"))
    link.result(link.commands(UpdateRevioTicket)[-1])  # Rev.io now shows INWORK
    back = link.revio(revio_ticket(status="OPEN", t=40, by_revsync=True, rmm_ticket_id="rt-1"))
    assert back.event_types == ["TicketFieldSynced"]


def test_our_own_write_coming_back_is_confirmed_not_synced_again():
    link = Link()
    link.linked_from_rmm()
    link.rmm(rmm_ticket(t=30, status="InProgress"))
    echo = link.revio(revio_ticket(status="INWORK", t=31, by_revsync=True, rmm_ticket_id="rt-1"))
    assert echo.event_types == ["TicketFieldConfirmed"]
    assert echo.commands == ()


def test_stale_sighting_from_before_our_write_landed_is_not_a_change():
    link = Link()
    link.linked_from_rmm()
    link.revio(revio_ticket(status="INWORK", t=40, by_revsync=True, rmm_ticket_id="rt-1"))
    # RMM still shows New (our update not applied yet) with a note added meanwhile
    late = link.rmm(rmm_ticket(t=41, notes=(note("n1"),)))
    assert late.event_types == ["NoteCarried"]


def test_conflict_last_writer_by_vendor_timestamp_wins():
    link = Link()
    link.linked_from_rmm()
    link.revio(revio_ticket(t=100, description="from revio", by_revsync=True, rmm_ticket_id="rt-1"))
    # RMM changed it too, earlier (t=90), and its change is seen after Rev.io's
    decision = link.rmm(rmm_ticket(t=90, description="from rmm"))
    assert decision.event_types == ["TicketConflictResolved"]
    conflict = decision.events[0].data
    assert conflict["rule"] == "last_writer_wins"
    assert (conflict["kept"], conflict["kept_from"]) == ("from revio", "revio")
    assert (conflict["discarded"], conflict["discarded_from"]) == ("from rmm", "rmm")
    assert link.commands(UpdateRmmTicket)[-1].description == "from revio"


def test_newer_write_wins_over_the_older_one():
    link = Link()
    link.linked_from_rmm()
    link.revio(revio_ticket(t=100, description="from revio", by_revsync=True, rmm_ticket_id="rt-1"))
    decision = link.rmm(rmm_ticket(t=110, description="from rmm"))
    assert decision.event_types == ["TicketFieldSynced"]
    assert link.commands(UpdateRevioTicket)[-1].description == "from rmm"


def test_closed_on_either_side_closes_the_other_even_against_a_later_change():
    link = Link()
    link.linked_from_rmm()
    closed = link.revio(revio_ticket(status="CLOSED", t=100, by_revsync=True, rmm_ticket_id="rt-1"))
    assert closed.event_types == ["TicketClosed"]
    assert closed.events[0].data["rule"] == "closed_on_either_side_closes_both"
    assert isinstance(closed.commands[0], CloseRmmTicket)
    # RMM moved to In Progress later (t=120) without having seen the close: close still wins
    conflict = link.rmm(rmm_ticket(status="InProgress", t=120))
    assert conflict.events[0].type == "TicketConflictResolved"
    assert conflict.events[0].data["rule"] == "closed_on_either_side_closes_both"
    assert isinstance(conflict.commands[0], CloseRmmTicket)


def test_reopening_after_both_sides_closed_is_an_ordinary_change():
    link = Link()
    link.linked_from_rmm()
    link.rmm(rmm_ticket(status="Closed", t=100))
    link.revio(revio_ticket(status="CLOSED", t=101, by_revsync=True, rmm_ticket_id="rt-1"))
    reopened = link.revio(
        revio_ticket(status="INWORK", t=200, by_revsync=True, rmm_ticket_id="rt-1")
    )
    assert reopened.event_types == ["TicketFieldSynced"]
    assert link.commands(UpdateRmmTicket)[-1].status_category == "InProgress"


# --- Rev.io -> RMM --------------------------------------------------------------------------


def test_persons_revio_ticket_creates_an_rmm_ticket_on_the_default_board_and_source():
    link = Link()
    decision = link.revio(revio_ticket(description="VPN down\nsince this morning"))
    (create,) = decision.commands
    assert isinstance(create, CreateRmmTicket)
    assert (create.board_id, create.source_id) == ("board-7", "source-3")
    assert (create.company_id, create.revio_ticket_id) == ("co-1", "R-1")
    assert create.summary == "VPN down"
    assert decision.events[0].data["rule"] == "revio_to_rmm_tickets"


def test_revio_to_rmm_off_creates_nothing_in_rmm():
    link = Link(BOTH_WAYS.model_copy(update={"revio_to_rmm_tickets": False}))
    assert link.revio(revio_ticket()).empty


def test_revio_ticket_created_by_revsync_never_comes_back_as_a_new_ticket():
    assert Link().revio(revio_ticket(by_revsync=True, rmm_ticket_id="rt-1")).empty


def test_rmm_ticket_created_by_revsync_never_comes_back_as_a_new_ticket():
    assert Link().rmm(rmm_ticket(marker="R-1")).empty


def test_revio_origin_link_syncs_notes_and_close_to_rmm():
    link = Link()
    link.linked_from_revio()
    link.revio(revio_ticket(t=10, journal=(entry("j1"),)))
    link.revio(revio_ticket(status="CLOSED", t=20, journal=(entry("j1"),)))
    assert [n.source_note_id for n in link.commands(AddRmmTicketNote)] == ["j1"]
    assert [c.ticket_id for c in link.commands(CloseRmmTicket)] == ["rt-1"]


def test_customer_not_linked_skips_the_revio_ticket():
    decision = Link().revio(revio_ticket(), company=None)
    assert decision.events[0].data["reason"] == "customer_not_linked"


# --- small things -----------------------------------------------------------------------------


def test_summary_is_the_first_line_of_the_description():
    assert summary_from("  Disk full\nC: at 99%") == "Disk full"
    assert len(summary_from("x" * 300)) == 100


def test_link_state_survives_its_json_form():
    link = Link()
    link.rmm(rmm_ticket(notes=(note("n1"),)))
    link.result(link.commands(CreateRevioTicket)[0], ticket_id="R-1")
    link.revio(revio_ticket(status="CLOSED", t=5, by_revsync=True, rmm_ticket_id="rt-1"))
    assert from_json(to_json(link.state)) == link.state
