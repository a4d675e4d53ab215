"""The alert rules (services/alert/decide.py), pure: no servers, no clock."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from revsync.contracts.base import Command, Result, ResultStatus
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioTicket,
    RevioTicket,
    UpdateRevioTicket,
)
from revsync.contracts.rmm import RmmAlert, RmmAlertChanged
from revsync.decision import Decision, DecisionContext
from revsync.eventlog.model import RecordedEvent
from revsync.tenancy import SEVERITY_ORDER, SyncSettings

from services.alert import decide, texts
from services.alert.app import is_link_event
from services.alert.state import AlertState, alert_key, apply, from_json, to_json

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
TENANT = "msp1"
ON = SyncSettings(
    sync_alerts=True,
    min_alert_severity="High",
    auto_close_on_alert_clear=True,
    alert_ticket_type="RMM Alert",
)
LINKED = decide.Placement(customer_id="cust-9", revio_asset_id="asset-5")
HOSTED = decide.Placement(
    customer_id="cust-9", revio_asset_id="asset-5", endpoint_hostname="GRAN-LT-001"
)
UNLINKED = decide.Placement()


def alert_change(
    kind: str = "raised",
    severity: str = "High",
    at: int = 0,
    ticket: str = "rt-1",
    endpoint: str | None = "ep-1",
    condition: str = "cpu-high",
    company: str | None = "co-1",
    summary: str = "CPU above 95%",
    version: int = 0,
) -> RmmAlertChanged:
    return RmmAlertChanged(
        tenant_id=TENANT,
        kind=kind,  # type: ignore[arg-type]
        alert=RmmAlert(
            ticket_id=ticket,
            endpoint_id=endpoint,
            company_id=company,
            condition_id=condition,
            severity=severity,  # type: ignore[arg-type]
            summary=summary,
            status_category="Closed" if kind == "cleared" else "New",
            updated_at=T0 + timedelta(seconds=at),
            version=version,
        ),
    )


class Alert:
    """One (endpoint, condition) stream: decisions are folded as the service would."""

    def __init__(self, key: str = "ep-1:cpu-high", settings: SyncSettings = ON) -> None:
        self.state = AlertState(key=key)
        self.settings = settings
        self.history: list[Decision] = []

    def _fold(self, decision: Decision) -> Decision:
        for event in decision.events:
            self.state = replace(
                apply(self.state, event.type, event.data), version=self.state.version + 1
            )
        self.history.append(decision)
        return decision

    def observe(self, change: RmmAlertChanged, placement: decide.Placement = LINKED) -> Decision:
        ctx = DecisionContext.of(change, T0)
        return self._fold(decide.decide_alert(self.state, change, self.settings, placement, ctx))

    def result(self, command: Command, status: ResultStatus = ResultStatus.OK, **ids: str):
        result = Result.of(command, status, ids or None, reason=None if ids else "refused")
        ctx = DecisionContext.of(result, T0)
        if command.verb == "create":
            decision = decide.decide_create_result(self.state, result, self.settings, ctx)
        else:
            decision = decide.decide_command_result(self.state, result, ctx)
        return self._fold(decision)

    def company_linked(self, placement: decide.Placement = LINKED) -> Decision:
        ctx = DecisionContext(tenant_id=TENANT, now=T0, seed=T0_SEED)
        return self._fold(decide.decide_company_linked(self.state, self.settings, placement, ctx))

    def revio_ticket(self, ticket: RevioTicket) -> Decision:
        ctx = DecisionContext(tenant_id=TENANT, now=T0, seed=T0_SEED)
        return self._fold(decide.decide_revio_ticket(self.state, ticket, ctx))

    def commands(self, kind: type[Command] = Command) -> list[Any]:
        return [c for d in self.history for c in d.commands if isinstance(c, kind)]

    def events(self, type_: str | None = None) -> list[Any]:
        return [e for d in self.history for e in d.events if type_ is None or e.type == type_]

    def open_ticket(self, at: int = 0, placement: decide.Placement = LINKED) -> CreateRevioTicket:
        """Raise the alert and have the create answered with ticket `R-1`."""
        self.observe(alert_change(at=at), placement)
        create = self.commands(CreateRevioTicket)[-1]
        self.result(create, ticket_id="R-1")
        return create


T0_SEED = alert_change().message_id


# --- threshold ------------------------------------------------------------------------------


@pytest.mark.parametrize("minimum", SEVERITY_ORDER)
@pytest.mark.parametrize("severity", SEVERITY_ORDER)
def test_severity_meets_minimum_at_every_boundary(severity: str, minimum: str):
    expected = SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(minimum)
    assert decide.severity_meets_minimum(severity, minimum) is expected


@pytest.mark.parametrize(
    ("severity", "opens"), [("Critical", True), ("High", True), ("Medium", False)]
)
def test_alert_at_or_above_minimum_opens_a_ticket_and_below_is_skipped(severity, opens):
    alert = Alert()
    decision = alert.observe(alert_change(severity=severity))
    assert bool(alert.commands(CreateRevioTicket)) is opens
    if not opens:
        assert decision.event_types == ["AlertSkipped"]
        assert not decision.commands


def test_alert_below_minimum_severity_is_skipped_and_logged_once():
    alert = Alert(settings=ON.model_copy(update={"min_alert_severity": "High"}))
    first = alert.observe(alert_change(severity="Low"))
    again = alert.observe(alert_change(severity="Low", at=5, kind="updated"))

    assert first.event_types == ["AlertSkipped"]
    skipped = first.events[0].data
    assert skipped["reason"] == "below_threshold"
    assert skipped["rule"] == "severity_meets_minimum"
    assert (skipped["severity"], skipped["minimum"]) == ("Low", "High")
    assert again.empty and alert.commands() == []


def test_skipped_alert_escalating_to_the_minimum_opens_a_ticket():
    alert = Alert()
    alert.observe(alert_change(severity="Medium"))
    alert.observe(alert_change(severity="High", at=10, kind="updated"))
    assert len(alert.commands(CreateRevioTicket)) == 1


def test_sync_alerts_off_turns_no_alert_into_a_ticket():
    alert = Alert(settings=ON.model_copy(update={"sync_alerts": False}))
    decision = alert.observe(alert_change(severity="Critical"))
    alert.observe(alert_change(severity="Critical", at=1, kind="updated"))
    assert decision.event_types == ["AlertSkipped"]
    assert decision.events[0].data["reason"] == "sync_alerts_off"
    assert alert.commands() == []
    assert len(alert.events("AlertSkipped")) == 1


# --- the ticket -----------------------------------------------------------------------------


def test_ticket_carries_type_customer_summary_severity_endpoint_asset_and_rmm_reference():
    alert = Alert()
    decision = alert.observe(alert_change(severity="Critical"))
    (create,) = decision.commands
    assert isinstance(create, CreateRevioTicket)
    assert create.ticket_type == "RMM Alert"
    assert create.customer_id == "cust-9"
    assert create.rmm_ticket_id == "rt-1"
    assert create.priority == "Critical"
    assert "CPU above 95%" in create.title and "Critical" in create.title
    for expected in ("Severity: Critical", "Endpoint: ep-1", "Rev.io asset: asset-5", "rt-1"):
        assert expected in create.description
    assert create.source_key == "rmm-alert:ep-1:cpu-high:1"
    requested = decision.events[0]
    assert requested.type == "AlertTicketRequested"
    assert requested.data["rule"] == "should_open_ticket"
    assert requested.data["command_id"] == str(create.message_id)
    assert create.tenant_id == TENANT and create.occurred_at == T0


def test_ticket_body_repeats_the_summary_only_when_the_title_had_to_cut_it():
    # Rev.io has no title field: the connector writes the title as the body's first line
    short = Alert().observe(alert_change(summary="Disk C: is 97% full"))
    (create,) = short.commands
    assert isinstance(create, CreateRevioTicket)
    assert create.description.startswith("Severity: High\n")
    assert "Disk C: is 97% full" not in create.description

    summary = "Backup job 'nightly' failed: " + "the target share was not reachable " * 4
    long = Alert().observe(alert_change(summary=summary.strip()))
    (create,) = long.commands
    assert isinstance(create, CreateRevioTicket)
    assert create.title.endswith("…")
    assert create.description.startswith(summary.strip() + "\n\nSeverity: High\n")


def test_ticket_without_an_asset_does_not_mention_one():
    alert = Alert()
    alert.observe(alert_change(), decide.Placement(customer_id="cust-9"))
    assert "Rev.io asset" not in alert.commands(CreateRevioTicket)[0].description


def test_ticket_names_the_endpoint_by_its_hostname_and_records_it():
    alert = Alert()
    decision = alert.observe(alert_change(severity="Critical"), HOSTED)
    (create,) = decision.commands
    assert isinstance(create, CreateRevioTicket)
    assert create.title == "[Critical] CPU above 95% on GRAN-LT-001"
    assert "\nEndpoint: GRAN-LT-001 (RMM id ep-1)\n" in create.description
    assert decision.events[0].data["endpoint_hostname"] == "GRAN-LT-001"
    assert alert.state.endpoint_hostname == "GRAN-LT-001"


def test_ticket_of_an_endpoint_of_unknown_hostname_names_it_by_its_rmm_id():
    decision = Alert().observe(alert_change())
    (create,) = decision.commands
    assert isinstance(create, CreateRevioTicket)
    assert create.title == "[High] CPU above 95%"
    assert "\nEndpoint: ep-1\n" in create.description and "RMM id" not in create.description
    assert decision.events[0].data["endpoint_hostname"] is None


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("Disk C: is 97% full on GRAN-LT-001", "[High] Disk C: is 97% full on GRAN-LT-001"),
        ("gran-lt-001.corp.local is offline", "[High] gran-lt-001.corp.local is offline"),
        ("Disk full on GRAN-LT-0012", "[High] Disk full on GRAN-LT-0012 on GRAN-LT-001"),
        ("Disk full on XGRAN-LT-001", "[High] Disk full on XGRAN-LT-001 on GRAN-LT-001"),
    ],
)
def test_title_names_the_hostname_only_when_the_summary_does_not(summary: str, title: str):
    assert texts.ticket_title("High", summary, "GRAN-LT-001") == title


def test_long_title_is_cut_in_the_summary_and_keeps_the_hostname():
    title = texts.ticket_title("Critical", "x" * 300, "GRAN-LT-001")
    assert len(title) == texts.TITLE_MAX
    assert title.startswith("[Critical] xxx") and title.endswith("x… on GRAN-LT-001")
    without = texts.ticket_title("Critical", "x" * 300)
    assert len(without) == texts.TITLE_MAX and without.endswith("x…")
    assert texts.ticket_title("Critical", "x" * 300, "h" * 60) == without  # too long to add


def test_deciding_is_deterministic_for_the_same_state_and_message():
    change = alert_change()
    first = decide.decide_alert(
        AlertState(key="k"), change, ON, LINKED, DecisionContext.of(change, T0)
    )
    second = decide.decide_alert(
        AlertState(key="k"), change, ON, LINKED, DecisionContext.of(change, T0)
    )
    assert first == second


# --- one open ticket per (endpoint, condition) ---------------------------------------------


def test_duplicate_alert_delivery_decides_nothing_new():
    alert = Alert()
    alert.observe(alert_change())
    duplicate = alert.observe(alert_change())  # same ticket, same timestamp
    assert duplicate.empty
    assert len(alert.commands(CreateRevioTicket)) == 1


def test_repeat_while_the_create_is_pending_is_counted_and_journaled_once_linked():
    alert = Alert()
    alert.observe(alert_change())
    pending = alert.observe(alert_change(at=30))
    assert pending.event_types == ["AlertRepeated"]
    assert pending.events[0].data["journal"] == "deferred"
    assert pending.commands == ()

    create = alert.commands(CreateRevioTicket)[0]
    linked = alert.result(create, ticket_id="R-1")
    assert linked.event_types == ["AlertTicketLinked"]
    assert linked.events[0].data["deferred_repeats"] == 1
    (journal,) = linked.commands
    assert isinstance(journal, AddRevioJournalEntry) and journal.ticket_id == "R-1"
    assert len(alert.commands(CreateRevioTicket)) == 1


def test_repeat_of_an_open_ticket_adds_a_journal_entry_and_counts():
    alert = Alert()
    alert.open_ticket()
    second = alert.observe(alert_change(at=60))
    alert.result(second.commands[0])  # written: no journal entry in flight any more
    third = alert.observe(alert_change(kind="updated", severity="Critical", at=120))

    assert [e.data["count"] for e in alert.events("AlertRepeated")] == [2, 3]
    assert second.events[0].data["journal"] == "sent"
    (journal,) = third.commands
    assert isinstance(journal, AddRevioJournalEntry)
    assert journal.ticket_id == "R-1" and "updated" in journal.text and "Critical" in journal.text
    assert len(alert.commands(CreateRevioTicket)) == 1
    assert alert.state.count == 3


def test_stale_observation_after_a_newer_one_is_ignored():
    alert = Alert()
    alert.open_ticket(at=100)
    assert alert.observe(alert_change(at=50, kind="updated")).empty


def test_a_repeat_within_the_same_timestamp_is_told_from_a_duplicate_by_the_ticket_version():
    # the RMM stamps times to the second or millisecond: a repeat raised that soon after the
    # first carries the same time, and only the ticket's version says it is newer
    alert = Alert()
    alert.observe(alert_change(at=0, version=1))
    alert.result(alert.commands(CreateRevioTicket)[-1], ticket_id="R-1")
    assert alert.observe(alert_change(at=0, version=1, kind="updated")).empty  # delivered twice

    repeat = alert.observe(alert_change(at=0, version=2, kind="updated"))
    assert repeat.event_types == ["AlertRepeated"]
    assert repeat.events[0].data["rmm_ticket_version"] == 2
    (journal,) = repeat.commands
    assert isinstance(journal, AddRevioJournalEntry) and "occurrence 2" in journal.text
    assert alert.observe(alert_change(at=0, version=2, kind="updated")).empty
    assert alert.observe(alert_change(at=0, version=1, kind="updated")).empty  # overtaken


def test_a_version_of_another_rmm_ticket_or_a_missing_one_leaves_staleness_to_the_time():
    alert = Alert()
    alert.observe(alert_change(at=100, version=7))
    alert.result(alert.commands(CreateRevioTicket)[-1], ticket_id="R-1")
    # events recorded before versions were (no `rmm_ticket_version`): the time decides
    assert alert.observe(alert_change(at=100, version=0, kind="updated")).empty
    assert alert.observe(alert_change(at=50, version=0, kind="updated")).empty
    # the same condition on another RMM ticket, whose versions count from 1 again
    other = alert.observe(alert_change(at=101, version=1, ticket="rt-2", kind="updated"))
    assert other.event_types == ["AlertRepeated"] and alert.state.rmm_ticket_version == 1


def test_result_of_a_create_we_no_longer_wait_for_is_ignored():
    alert = Alert()
    create = alert.open_ticket()
    assert alert.result(create, ticket_id="R-1").empty


# --- at most one journal entry in flight per alert -----------------------------------------


def test_repeat_while_a_journal_entry_is_in_flight_is_counted_and_deferred():
    alert = Alert()
    alert.open_ticket()
    first = alert.observe(alert_change(at=60))
    (journal,) = first.commands
    deferred = alert.observe(alert_change(at=61))

    assert deferred.event_types == ["AlertRepeated"] and deferred.commands == ()
    data = deferred.events[0].data
    assert (data["journal"], data["count"]) == ("deferred", 3)
    assert data["waiting_for"] == str(journal.message_id)
    assert alert.state.journal_command_id == str(journal.message_id)
    assert (alert.state.count, alert.state.deferred_repeats) == (3, 1)


def test_written_journal_entry_sends_one_entry_for_the_repeats_deferred_meanwhile():
    alert = Alert()
    alert.open_ticket()
    (journal,) = alert.observe(alert_change(at=60)).commands
    for at in (61, 62, 63):
        alert.observe(alert_change(at=at, severity="Critical" if at == 63 else "High"))

    written = alert.result(journal)
    assert written.event_types == ["AlertJournalWritten"]
    (combined,) = written.commands
    assert isinstance(combined, AddRevioJournalEntry) and combined.ticket_id == "R-1"
    assert "3 more time(s) since occurrence 2" in combined.text
    assert "now occurrence 5" in combined.text and "[Critical]" in combined.text
    assert written.events[0].data["deferred_repeats"] == 3
    assert written.events[0].data["next_command_id"] == str(combined.message_id)
    assert alert.state.journal_command_id == str(combined.message_id)
    assert (alert.state.count, alert.state.deferred_repeats) == (5, 0)
    assert alert.result(journal).empty  # a redelivered result changes nothing


def test_written_journal_entry_with_nothing_deferred_clears_the_marker():
    alert = Alert()
    alert.open_ticket()
    (journal,) = alert.observe(alert_change(at=60)).commands

    written = alert.result(journal)
    assert written.event_types == ["AlertJournalWritten"] and written.commands == ()
    assert written.events[0].data["next_command_id"] is None
    assert alert.state.journal_command_id is None
    nxt = alert.observe(alert_change(at=61))
    assert nxt.events[0].data["journal"] == "sent" and len(nxt.commands) == 1


def test_failed_journal_entry_clears_the_marker_and_the_next_repeat_reports_the_deferred():
    alert = Alert()
    alert.open_ticket()
    (journal,) = alert.observe(alert_change(at=60)).commands
    alert.observe(alert_change(at=61))
    alert.observe(alert_change(at=62))

    failed = alert.result(journal, ResultStatus.REJECTED)
    assert failed.event_types == ["AlertCommandFailed"] and failed.commands == ()
    assert failed.events[0].data["deferred_repeats"] == 2
    assert alert.state.journal_command_id is None and alert.state.deferred_repeats == 2

    nxt = alert.observe(alert_change(at=63))
    (entry,) = nxt.commands
    assert isinstance(entry, AddRevioJournalEntry)
    assert "occurrence 5" in entry.text and "2 earlier repeat(s)" in entry.text
    assert nxt.events[0].data["deferred_repeats"] == 2
    assert alert.state.journal_command_id == str(entry.message_id)
    assert (alert.state.count, alert.state.deferred_repeats) == (5, 0)


def test_clear_is_not_deferred_and_writes_the_deferred_repeats_first():
    alert = Alert()
    alert.open_ticket()
    alert.observe(alert_change(at=60))  # in flight
    alert.observe(alert_change(at=61))
    cleared = alert.observe(alert_change(kind="cleared", at=62))

    combined, close = cleared.commands
    assert isinstance(combined, AddRevioJournalEntry) and "1 more time(s)" in combined.text
    assert isinstance(close, UpdateRevioTicket) and close.custom_status == "auto-closed"
    assert cleared.events[0].data["deferred_repeats"] == 1
    assert alert.state.deferred_repeats == 0 and alert.state.phase == "closed"


def test_deferred_repeats_journaled_on_link_are_the_entry_in_flight():
    alert = Alert()
    alert.observe(alert_change())
    alert.observe(alert_change(at=1))
    linked = alert.result(alert.commands(CreateRevioTicket)[0], ticket_id="R-1")
    (journal,) = linked.commands
    assert alert.state.journal_command_id == str(journal.message_id)
    assert alert.observe(alert_change(at=2)).events[0].data["journal"] == "deferred"


def test_storm_of_repeats_on_an_open_ticket_sends_few_journal_entries_and_counts_each():
    alert = Alert()
    alert.open_ticket()
    answered = 0
    for at in range(1, 201):
        alert.observe(alert_change(at=at))
        if at % 50 == 0:  # Rev.io answers now and then
            in_flight = alert.commands(AddRevioJournalEntry)[-1]
            if alert.state.journal_command_id == str(in_flight.message_id):
                alert.result(in_flight)
                answered += 1
    while alert.state.journal_command_id is not None:  # the storm ends; results come back
        alert.result(alert.commands(AddRevioJournalEntry)[-1])

    journals = alert.commands(AddRevioJournalEntry)
    assert alert.state.count == 201 and alert.state.deferred_repeats == 0
    assert len(journals) <= answered + 2 < 10  # 200 repeats, 4 answers: 5 entries
    reported = [e.data.get("deferred_repeats", 0) for e in alert.events("AlertJournalWritten")] + [
        1 for e in alert.events("AlertRepeated") if e.data["journal"] == "sent"
    ]
    assert sum(reported) == 200  # every repeat is in exactly one entry


def test_replaying_old_journal_events_leaves_no_entry_in_flight():
    """A `sent` repeat recorded before the marker existed: its result was never recorded."""
    state = AlertState(key="k", phase="open", revio_ticket_id="R-1", count=1)
    old = {"count": 2, "journal": "sent", "command_id": "c-1", "rmm_ticket_id": "rt-1",
           "observed_at": T0.isoformat()}  # fmt: skip
    assert apply(state, "AlertRepeated", old).journal_command_id is None


# --- clears ---------------------------------------------------------------------------------


def test_clear_with_auto_close_moves_the_ticket_to_auto_closed():
    alert = Alert()
    alert.open_ticket()
    decision = alert.observe(alert_change(kind="cleared", at=300))
    assert decision.event_types == ["AlertCleared"]
    assert decision.events[0].data["action"] == "auto_closed"
    (update,) = decision.commands
    assert isinstance(update, UpdateRevioTicket)
    assert (update.ticket_id, update.custom_status) == ("R-1", "auto-closed")
    assert update.resolution == (
        "Auto-closed by revsync: the RMM alert cpu-high on ep-1 cleared at 2025-03-01 02:05:00 UTC."
    )
    assert alert.state.phase == "closed"


def test_auto_close_resolution_names_the_condition_and_the_hostname():
    alert = Alert()
    alert.open_ticket(placement=HOSTED)
    decision = alert.observe(alert_change(kind="cleared", at=300), HOSTED)
    (update,) = decision.commands
    assert isinstance(update, UpdateRevioTicket)
    assert update.resolution == (
        "Auto-closed by revsync: the RMM alert cpu-high on GRAN-LT-001 cleared at"
        " 2025-03-01 02:05:00 UTC."
    )
    assert alert.commands(AddRevioJournalEntry) == []  # the resolution says it, not the journal


def test_clear_without_auto_close_adds_a_journal_entry_and_leaves_the_ticket_open():
    alert = Alert(settings=ON.model_copy(update={"auto_close_on_alert_clear": False}))
    alert.open_ticket()
    decision = alert.observe(alert_change(kind="cleared", at=300))
    assert decision.events[0].data["action"] == "journal_entry"
    (journal,) = decision.commands
    assert isinstance(journal, AddRevioJournalEntry) and "cleared" in journal.text
    assert alert.commands(UpdateRevioTicket) == []


def test_duplicate_clear_decides_nothing():
    alert = Alert()
    alert.open_ticket()
    alert.observe(alert_change(kind="cleared", at=300))
    assert alert.observe(alert_change(kind="cleared", at=300)).empty


def test_clear_while_the_create_is_pending_is_applied_when_the_ticket_exists():
    alert = Alert()
    alert.observe(alert_change())
    deferred = alert.observe(alert_change(kind="cleared", at=10))
    assert deferred.events[0].data["action"] == "deferred_until_ticket_exists"
    assert deferred.commands == ()

    linked = alert.result(alert.commands(CreateRevioTicket)[0], ticket_id="R-1")
    (update,) = linked.commands
    assert isinstance(update, UpdateRevioTicket) and update.custom_status == "auto-closed"
    assert alert.state.phase == "closed"
    assert update.resolution == (
        "Auto-closed by revsync: the RMM alert cpu-high on ep-1 cleared at 2025-03-01 02:00:10 UTC."
    )


def test_clear_applied_when_the_ticket_exists_names_the_hostname_and_the_time_of_the_clear():
    alert = Alert()
    alert.observe(alert_change(), HOSTED)
    alert.observe(alert_change(kind="updated", at=5), HOSTED)  # deferred: joins the clear
    alert.observe(alert_change(kind="cleared", at=10), HOSTED)
    linked = alert.result(alert.commands(CreateRevioTicket)[0], ticket_id="R-1")
    journal, update = linked.commands
    assert isinstance(journal, AddRevioJournalEntry) and isinstance(update, UpdateRevioTicket)
    assert update.resolution == (
        "Auto-closed by revsync: the RMM alert cpu-high on GRAN-LT-001 cleared at"
        " 2025-03-01 02:00:10 UTC."
    )


def test_recurrence_after_the_ticket_closed_opens_a_new_ticket():
    alert = Alert()
    alert.open_ticket()
    alert.observe(alert_change(kind="cleared", at=300))
    recurrence = alert.observe(alert_change(ticket="rt-2", at=900))

    creates = alert.commands(CreateRevioTicket)
    assert len(creates) == 2
    assert creates[1].source_key == "rmm-alert:ep-1:cpu-high:2"
    assert creates[1].rmm_ticket_id == "rt-2"
    assert recurrence.events[0].data["trigger"] == "recurrence"


def test_recurrence_while_the_ticket_is_still_open_is_a_journal_entry():
    alert = Alert(settings=ON.model_copy(update={"auto_close_on_alert_clear": False}))
    alert.open_ticket()
    alert.observe(alert_change(kind="cleared", at=300))
    recurrence = alert.observe(alert_change(ticket="rt-2", at=900))
    assert recurrence.events[0].data["recurred"] is True
    assert "recurred" in alert.commands(AddRevioJournalEntry)[-1].text
    assert len(alert.commands(CreateRevioTicket)) == 1


def test_ticket_closed_in_revio_makes_the_next_occurrence_a_new_ticket():
    alert = Alert()
    alert.open_ticket()
    closed = alert.revio_ticket(
        RevioTicket(id="R-1", customer_id="cust-9", description="x", status="CLOSED", updated_at=T0)
    )
    assert closed.event_types == ["AlertTicketClosed"]
    alert.observe(alert_change(at=50, kind="updated"))
    assert len(alert.commands(CreateRevioTicket)) == 2


def test_listing_of_an_alert_whose_ticket_was_closed_is_no_recurrence():
    alert = Alert()
    alert.open_ticket()
    alert.revio_ticket(
        RevioTicket(id="R-1", customer_id="cust-9", description="x", status="CLOSED", updated_at=T0)
    )
    assert alert.observe(alert_change(at=50, kind="seen")).empty
    assert len(alert.commands(CreateRevioTicket)) == 1


def test_failed_auto_close_leaves_the_ticket_open_for_the_next_occurrence():
    alert = Alert()
    alert.open_ticket()
    alert.observe(alert_change(kind="cleared", at=300))
    update = alert.commands(UpdateRevioTicket)[0]
    failed = alert.result(update, ResultStatus.REJECTED)
    assert failed.event_types == ["AlertCommandFailed"]
    assert alert.state.phase == "cleared"
    alert.observe(alert_change(ticket="rt-2", at=900))
    assert len(alert.commands(CreateRevioTicket)) == 1


# --- unlinked companies -----------------------------------------------------------------------


def test_alert_of_an_unlinked_company_is_parked_with_a_visible_reason():
    alert = Alert()
    decision = alert.observe(alert_change(), UNLINKED)
    assert decision.event_types == ["AlertParked"]
    assert decision.events[0].data["reason"] == "company_not_linked"
    assert decision.events[0].data["company_id"] == "co-1"
    assert decision.commands == ()


def test_alert_without_a_company_is_parked():
    decision = Alert().observe(alert_change(company=None), UNLINKED)
    assert decision.events[0].data["reason"] == "no_company"


def test_parked_alert_is_ticketed_when_its_company_is_linked():
    alert = Alert()
    alert.observe(alert_change(), UNLINKED)
    alert.observe(alert_change(at=20), UNLINKED)  # a repeat while parked: counted
    assert alert.company_linked(UNLINKED).empty  # still not linked
    decision = alert.company_linked()
    assert decision.event_types == ["AlertTicketRequested"]
    assert decision.events[0].data["trigger"] == "company_linked"
    assert decision.events[0].data["count"] == 2
    assert alert.company_linked().empty  # no second create


def test_parked_alert_that_cleared_is_not_ticketed_when_the_link_appears():
    alert = Alert()
    alert.observe(alert_change(), UNLINKED)
    dropped = alert.observe(alert_change(kind="cleared", at=5), UNLINKED)
    assert dropped.events[0].data["action"] == "parked_alert_dropped"
    assert alert.company_linked().empty
    assert alert.commands() == []


def test_parked_alert_next_repeat_after_the_link_opens_the_ticket():
    alert = Alert()
    alert.observe(alert_change(), UNLINKED)
    alert.observe(alert_change(at=5))
    assert len(alert.commands(CreateRevioTicket)) == 1


# --- failures --------------------------------------------------------------------------------


def test_refused_create_is_recorded_and_the_next_occurrence_retries_with_the_same_key():
    alert = Alert()
    alert.observe(alert_change())
    first = alert.commands(CreateRevioTicket)[0]
    failed = alert.result(first, ResultStatus.REJECTED)
    assert failed.event_types == ["AlertTicketCreateFailed"]
    assert failed.events[0].data["status"] == "rejected"
    alert.observe(alert_change(at=10, kind="updated"))
    retry = alert.commands(CreateRevioTicket)[1]
    assert retry.source_key == first.source_key
    assert alert.events("AlertTicketRequested")[-1].data["attempt"] == 2


def test_dead_lettered_create_is_a_failure_and_its_late_success_links_the_ticket():
    alert = Alert()
    alert.observe(alert_change())
    create = alert.commands(CreateRevioTicket)[0]
    failed = alert.result(create, ResultStatus.UNAVAILABLE)
    assert failed.event_types == ["AlertTicketCreateFailed"] and alert.state.phase == "failed"

    late = alert.result(create, ticket_id="R-1")  # a person retried it from the DLQ
    assert late.event_types == ["AlertTicketLinked"]
    assert late.events[0].data["after_failure"] is True and late.commands == ()
    assert (alert.state.phase, alert.state.revio_ticket_id) == ("open", "R-1")
    alert.observe(alert_change(kind="updated", at=10))
    assert len(alert.commands(CreateRevioTicket)) == 1  # a repeat, not a second ticket


def test_late_success_of_a_failed_create_after_the_alert_cleared_closes_the_ticket():
    alert = Alert()
    alert.observe(alert_change())
    create = alert.commands(CreateRevioTicket)[0]
    alert.result(create, ResultStatus.UNAVAILABLE)
    alert.observe(alert_change(kind="cleared", at=10))
    assert alert.events("AlertCleared")[-1].data["action"] == "failed_alert_dropped"
    assert alert.state.phase == "closed"

    late = alert.result(create, ticket_id="R-1")
    (close,) = late.commands
    assert isinstance(close, UpdateRevioTicket) and close.ticket_id == "R-1"
    assert close.custom_status == "auto-closed" and alert.state.phase == "closed"
    assert close.resolution is not None and "cleared at 2025-03-01 02:00:10 UTC" in close.resolution


def test_late_success_of_a_create_replaced_by_a_retry_is_ignored():
    alert = Alert()
    alert.observe(alert_change())
    first = alert.commands(CreateRevioTicket)[0]
    alert.result(first, ResultStatus.UNAVAILABLE)
    alert.observe(alert_change(kind="updated", at=10))  # the retry, same source key
    assert alert.result(first, ticket_id="R-1").empty  # the retry's create finds R-1 itself
    assert alert.state.phase == "requested"


# --- storms ----------------------------------------------------------------------------------


def test_storm_of_repeats_and_duplicates_gives_one_create_per_condition():
    rng = random.Random(7)
    keys = [(f"ep-{i % 40}", f"cond-{i // 40}") for i in range(100)]
    deliveries = [
        alert_change(endpoint=ep, condition=cond, at=rng.randrange(60))
        for ep, cond in keys
        for _ in range(5)
    ]
    deliveries += rng.sample(deliveries, 100)  # redeliveries of the very same messages
    rng.shuffle(deliveries)
    streams: dict[str, Alert] = {}
    for change in deliveries:
        a = change.alert
        key = alert_key(a.endpoint_id, a.condition_id, a.ticket_id)
        streams.setdefault(key, Alert(key=key)).observe(change)
    creates = [c for s in streams.values() for c in s.commands(CreateRevioTicket)]
    assert len(creates) == 100
    assert len({c.source_key for c in creates}) == 100


# --- state ----------------------------------------------------------------------------------


def test_state_survives_its_json_form():
    alert = Alert()
    alert.observe(alert_change(), UNLINKED)
    alert.observe(alert_change(severity="Medium", at=3), UNLINKED)
    assert from_json(to_json(alert.state)) == alert.state
    parked = Alert()
    parked.observe(alert_change(), UNLINKED)
    parked.company_linked(HOSTED)
    assert (parked.state.phase, parked.state.endpoint_hostname) == ("requested", "GRAN-LT-001")
    assert from_json(to_json(parked.state)) == parked.state


def test_a_state_folded_before_hostnames_were_recorded_reads_as_unknown():
    alert = Alert()
    alert.open_ticket(placement=HOSTED)
    old = to_json(alert.state)
    del old["endpoint_hostname"]
    assert from_json(old).endpoint_hostname is None


def test_a_state_saved_by_a_newer_version_is_read_without_the_fields_it_does_not_know():
    alert = Alert()
    alert.open_ticket(placement=HOSTED)
    newer = to_json(alert.state) | {"a_field_of_a_later_version": 3}
    assert from_json(newer) == alert.state


@pytest.mark.parametrize(
    ("stream", "type_", "unparks"),
    [
        ("company-link:C-1", "CustomerLinked", True),
        ("company-link:C-1", "RevioCustomerObserved", False),  # thousands in an initial sync
        ("company-link:C-1", "LinkSuggested", False),
        ("rmm-company:R-1", "CustomerLinked", False),
    ],
)
def test_only_a_link_made_sends_the_follower_looking_for_parked_alerts(
    stream: str, type_: str, unparks: bool
) -> None:
    event = RecordedEvent(1, "t1", stream, 1, type_, {}, {}, uuid4(), 0.0, 1)
    assert is_link_event(event) is unparks
