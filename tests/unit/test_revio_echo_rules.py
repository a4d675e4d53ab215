"""When a Rev.io ticket read back after our write may be recorded as our own echo
(services/revio_connector/echo.py): only when nothing but our write is new in it."""

from datetime import UTC, datetime, timedelta

from revsync.contracts.revio import JournalEntry, RevioTicket, UpdateRevioTicket

from services.revio_connector.echo import only_our_journal, only_our_update

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
