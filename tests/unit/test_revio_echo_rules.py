"""When a Rev.io ticket read after our write may be recorded as our own echo
(services/revio_connector/echo.py): only when nothing but our write is new in it; a ticket
we created, only while it is as its create left it."""

from datetime import UTC, datetime, timedelta

from revsync.contracts.revio import JournalEntry, RevioTicket, UpdateRevioTicket

from services.revio_connector.echo import (
    CREATED,
    as_created,
    only_our_journal,
    only_our_update,
    ours_as_created,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
OURS = JournalEntry(id="2", text="tray 2 swapped", written_by_revsync=True)
REPLY = JournalEntry(id="3", text="toner ordered")
BEFORE = RevioTicket(id="9", customer_id="1", description="Printer jams", status="OPEN",
                     updated_at=T0, journal=(JournalEntry(id="1", text="opened"),))  # fmt: skip


def later(ticket: RevioTicket, **changes: object) -> RevioTicket:
    return ticket.model_copy(update={"updated_at": T0 + timedelta(seconds=5), **changes})


def test_our_journal_entry_alone_is_our_echo():
    assert only_our_journal(BEFORE, later(BEFORE, journal=(*BEFORE.journal, OURS)), "2")


def test_a_persons_entry_next_to_ours_is_news():
    after = later(BEFORE, journal=(*BEFORE.journal, OURS, REPLY))
    assert not only_our_journal(BEFORE, after, "2")


def test_a_field_changed_next_to_our_entry_is_news():
    after = later(BEFORE, journal=(*BEFORE.journal, OURS), description="Printer fixed?")
    assert not only_our_journal(BEFORE, after, "2")


def test_our_update_alone_is_our_echo_and_anything_more_is_news():
    command = UpdateRevioTicket(tenant_id="t", ticket_id="9", status="INWORK")
    assert only_our_update(BEFORE, later(BEFORE, status="INWORK"), command, "INWORK")
    with_reply = later(BEFORE, status="INWORK", journal=(*BEFORE.journal, REPLY))
    assert not only_our_update(BEFORE, with_reply, command, "INWORK")
    overwritten = later(BEFORE, status="PENDING")  # a person moved it meanwhile
    assert not only_our_update(BEFORE, overwritten, command, "INWORK")
    described = UpdateRevioTicket(tenant_id="t", ticket_id="9", description="Jams on tray 2")
    assert only_our_update(BEFORE, later(BEFORE, description="Jams on tray 2"), described, None)
    assert not only_our_update(BEFORE, later(BEFORE, description="other"), described, None)


CREATED_NOW = RevioTicket(id="10", customer_id="1", description="Disk full", status="OPEN",
                          updated_at=T0, created_at=T0, created_by_revsync=True)  # fmt: skip


def test_a_ticket_we_created_is_our_echo_only_while_as_its_create_left_it():
    assert as_created(CREATED_NOW) and ours_as_created(CREATED, CREATED_NOW)
    edited = CREATED_NOW.model_copy(update={"updated_at": T0 + timedelta(milliseconds=1),
                                            "status": "INWORK"})  # fmt: skip
    assert not as_created(edited)
    replied = CREATED_NOW.model_copy(update={"journal": (REPLY,)})  # same millisecond
    assert not as_created(replied)
    undated = CREATED_NOW.model_copy(update={"created_at": None})
    assert not as_created(undated)


def test_only_a_ticket_recorded_as_our_create_is_taken_for_its_echo():
    """A ticket nobody recorded, or recorded by its hash, is compared by its hash as usual:
    one a person made and never touched again is news."""
    assert not ours_as_created(None, CREATED_NOW)
    assert not ours_as_created("0f" * 16, CREATED_NOW)
