"""The console's pure parts: plain words of decisions, the sync-run completion rule and ETA,
settings documents, and the search ranking."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import SecretStr, ValidationError
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant

from services.console.audit_words import WORDS, describe
from services.console.cli import decided_text, phase_line
from services.console.live_checks import Lookup, RevioLookups
from services.console.mappings import Unlinked
from services.console.search import rank
from services.console.settings_doc import build_candidate, document
from services.console.sync_progress import KindProgress, RunProgress, completion_rule
from services.console.sync_writes import WritesWaiting, writes_by_system
from services.console.validation import offline_rules, revio_rules

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("type_", "data", "words"),
    [
        (
            "AlertSkipped",
            {"reason": "below_threshold", "severity": "Low", "minimum": "High"},
            "Skipped: alert severity Low is below the minimum High",
        ),
        ("AlertSkipped", {"reason": "sync_alerts_off"}, "Skipped: alert sync is off"),
        (
            "AlertParked",
            {"reason": "company_not_linked"},
            "Waiting: its RMM company is not linked to a Rev.io customer",
        ),
        (
            "CustomerLinked",
            {"rule": "exact_name", "rmm_company_id": "c1", "rmm_name": "Acme", "score": 100},
            "Linked to RMM company Acme (c1) (the same normalized name, similarity 100%)",
        ),
        (
            "LinkSuggested",
            {"rule": "fuzzy_name", "candidates": [{"id": "c2", "name": "Globex", "score": 88.2}]},
            "Suggested for review (a similar name): Globex (88%)",
        ),
        (
            "SuggestionRejected",
            {"rmm_company_id": "c2", "actor": "alice"},
            "Suggestion RMM company c2 rejected by alice",
        ),
        (
            "TicketSkipped",
            {"reason": "customer_not_linked"},
            "Skipped: its Rev.io customer is not linked to an RMM company",
        ),
        (
            "SettingsChanged",
            {"secrets_changed": ["rmm.client_secret"]},
            "Settings saved; new RMM client secret",
        ),
        (
            "CustomerLinked",
            {"rule": "exact_name", "rmm_company_id": "c886", "rmm_name": "Acme Credit  Union LLP "},
            "Linked to RMM company Acme Credit Union LLP (c886) (the same normalized name)",
        ),
        (
            "LinkSuggested",
            {"rule": "fuzzy_name", "candidates": [{"id": "c2", "name": " Globex ", "score": 88}]},
            "Suggested for review (a similar name): Globex (88%)",
        ),
        (
            "LinkSuggested",
            {"rule": "fuzzy_name", "candidates": [{"id": "c2", "name": None, "score": 88}]},
            "Suggested for review (a similar name): c2 (88%)",
        ),
        ("SomethingNew", {"rule": "a_new_rule"}, "Something new: a new rule"),
        (
            "AlertCleared",
            {"action": "auto_closed"},
            "Alert cleared: its Rev.io ticket moves to auto-closed",
        ),
    ],
)
def test_each_decision_reads_in_plain_words(type_, data, words):
    assert describe(type_, data) == words


def test_every_known_decision_has_words_even_with_missing_fields():
    for type_ in WORDS:
        assert describe(type_, {})  # never raises, never empty


def progress(
    phase: str, *kinds: KindProgress, idle_s: float = 0.0, matched: bool = True
) -> RunProgress:
    return RunProgress(
        tenant_id="t",
        run_id=uuid4(),
        kind="initial",
        phase=phase,
        version=3,
        started_at=NOW - timedelta(seconds=60),
        started_by="alice",
        finished_at=None,
        updated_at=NOW - timedelta(seconds=idle_s),
        listings={"rmm": {"status": "ok"}, "revio": {"status": "ok"}},
        errors=[],
        kinds=list(kinds),
        last_activity_at=NOW - timedelta(seconds=idle_s),
        companies_matched=matched,
    )


def test_a_run_is_done_when_everything_seen_is_decided():
    run = progress(
        "deciding",
        KindProgress("revio.customer", seen=5, total=5, decided=5),
        KindProgress("revio.ticket", seen=2, total=2),
    )
    assert completion_rule(run, NOW, quiet_s=30) == "all_decided"


def test_a_run_still_listing_or_missing_objects_is_not_done():
    listing = progress("listing", KindProgress("rmm.company", seen=5, total=5, decided=5))
    short = progress("deciding", KindProgress("rmm.company", seen=4, total=5, decided=4))
    assert completion_rule(listing, NOW, 30) is None
    assert completion_rule(short, NOW, 30) is None


def test_a_listed_run_with_undecided_objects_is_done_after_a_quiet_period():
    kinds = KindProgress("rmm.endpoint", seen=10, total=10, decided=7)
    assert completion_rule(progress("deciding", kinds, idle_s=5), NOW, 30) is None
    assert completion_rule(progress("deciding", kinds, idle_s=31), NOW, 30) == (
        "quiet_after_listing"
    )


def test_a_quiet_run_is_not_done_while_a_deciding_service_has_changes_waiting():
    kinds = KindProgress("rmm.endpoint", seen=92, total=92, decided=2)
    quiet = progress("deciding", kinds, idle_s=300)
    assert completion_rule(quiet, NOW, 30, behind=True) is None
    assert completion_rule(quiet, NOW, 30, behind=False) == "quiet_after_listing"
    everything = KindProgress("rmm.endpoint", seen=92, total=92, decided=92)
    decided = progress("deciding", everything, idle_s=300)
    assert completion_rule(decided, NOW, 30, behind=True) == "all_decided"


def test_a_run_is_not_done_before_the_company_service_matched_its_companies():
    # the company service is behind (still on the polls before the run): nothing decided,
    # nothing moving; quiet, but not done
    listed = (
        KindProgress("revio.customer", seen=9, total=9, decided=0),
        KindProgress("rmm.company", seen=9, total=9),
    )
    waiting = progress("deciding", *listed, idle_s=600, matched=False)
    assert completion_rule(waiting, NOW, 30) is None
    assert completion_rule(progress("deciding", *listed, idle_s=31), NOW, 30) == (
        "quiet_after_listing"
    )
    # a run that listed no customer and no company has nothing to match
    empty = (KindProgress("revio.customer", 0, 0, 0), KindProgress("revio.ticket", 2, 2))
    assert completion_rule(progress("deciding", *empty, matched=False), NOW, 30) == ("all_decided")


def test_the_eta_follows_the_share_of_work_done():
    run = progress("listing", KindProgress("rmm.company", seen=50, total=100, decided=0))
    assert run.fraction() == pytest.approx(0.25)
    assert run.eta_s(NOW) == pytest.approx(180.0)
    assert progress("done").eta_s(NOW) == 0.0


def demo_run(*writes: WritesWaiting) -> RunProgress:
    """The operator's walkthrough: everything decided, 3 RMM companies created in RMM."""
    return replace(
        progress(
            "deciding",
            KindProgress("revio.customer", seen=37, total=37, decided=37, created=0),
            KindProgress("rmm.company", seen=37, total=37, decided=37, created=3),
            KindProgress("rmm.endpoint", seen=276, total=276, decided=276),
        ),
        started_at=NOW - timedelta(minutes=2),
        writes=list(writes),
    )


def test_a_decided_run_with_writes_waiting_is_writing_until_they_drain():
    # 174 writes to RMM (171 asset ids into a custom field, 3 sites) answered one a second
    answered = tuple(NOW - timedelta(seconds=s) for s in range(1, 11))
    run = demo_run(WritesWaiting("rmm", 174, answered))
    shown = run.as_json(NOW)

    assert shown["phase"] == "writing"
    assert shown["activity"] == "174 writes to RMM waiting"
    assert shown["writes_waiting"] == {"rmm": 174}
    # nine intervals over the ten seconds since the first of the latest answers
    assert shown["eta_seconds"] == pytest.approx(174 / 0.9, abs=0.1)
    # the writes are work still to do, not 0.99 of it done
    assert shown["fraction"] == pytest.approx(700 / 874, abs=0.001)
    drained = demo_run(WritesWaiting("rmm", 1, answered)).as_json(NOW)
    assert drained["fraction"] == 0.99 and drained["eta_seconds"] == pytest.approx(1.1, abs=0.1)
    done = demo_run().as_json(NOW)
    assert (done["phase"], done["activity"], done["writes_waiting"]) == ("deciding", None, {})


def test_the_cli_shows_what_a_writing_run_waits_for_and_what_it_created():
    answered = tuple(NOW - timedelta(seconds=s) for s in range(1, 11))
    writing = demo_run(WritesWaiting("rmm", 174, answered)).as_json(NOW)
    assert phase_line(writing) == "phase: writing (174 writes to RMM waiting), ETA 193 s"
    assert phase_line(demo_run().as_json(NOW)).startswith("phase: deciding, ETA")
    companies = {"decided": 37, "created": 3}
    assert decided_text(companies) == "decided 37, 3 created"
    assert decided_text({**companies, "created": 0}) == "decided 37"
    assert decided_text({"decided": None, "created": 0}) == ""


def test_writes_have_no_eta_before_their_connector_answered_twice():
    once = (NOW - timedelta(seconds=3),)
    assert demo_run(WritesWaiting("rmm", 171)).eta_s(NOW) is None
    assert demo_run(WritesWaiting("rmm", 171, once)).eta_s(NOW) is None
    # one system with a rate is not enough: both must drain
    twice = (NOW - timedelta(seconds=4), NOW - timedelta(seconds=2))
    both = demo_run(WritesWaiting("revio", 5), WritesWaiting("rmm", 10, twice))
    assert both.as_json(NOW)["activity"] == "5 writes to Rev.io waiting, 10 writes to RMM waiting"
    assert both.eta_s(NOW) is None
    slowest = demo_run(WritesWaiting("revio", 5, twice), WritesWaiting("rmm", 10, twice))
    assert slowest.eta_s(NOW) == pytest.approx(40.0)


def test_a_connector_that_stops_answering_slows_the_rate_down():
    answered = (NOW - timedelta(seconds=12), NOW - timedelta(seconds=10))
    assert WritesWaiting("rmm", 6, answered).rate(NOW - timedelta(seconds=10)) == pytest.approx(0.5)
    assert WritesWaiting("rmm", 6, answered).rate(NOW) == pytest.approx(1 / 12)


def test_a_rate_limited_connector_s_burst_does_not_keep_the_eta_optimistic():
    # the limiter let 60 answers through in the first second, then one a second for 40 s
    burst = [NOW - timedelta(seconds=41, milliseconds=10 * n) for n in range(60)]
    throttled = [NOW - timedelta(seconds=s) for s in range(1, 41)]
    writes = WritesWaiting("rmm", 100, tuple(burst + throttled))
    # the whole sample says 99 answers in 41 s (2.4 a second); the latest 20 say 19 in 20 s
    assert writes.rate(NOW) == pytest.approx(19 / 20)
    assert demo_run(writes).eta_s(NOW) == pytest.approx(100 / (19 / 20), abs=0.1)
    # a steady connector: both say about one a second (each counts the second since the
    # latest answer, which weighs more in the shorter sample)
    steady = WritesWaiting("rmm", 100, tuple(NOW - timedelta(seconds=s) for s in range(1, 51)))
    assert steady.rate(NOW) == pytest.approx(19 / 20)
    assert steady.rate(NOW - timedelta(seconds=1)) == pytest.approx(1.0)


def test_writes_still_deciding_keep_the_phase_deciding():
    undecided = replace(
        demo_run(WritesWaiting("rmm", 3, (NOW, NOW))),
        kinds=[KindProgress("rmm.endpoint", seen=276, total=276, decided=200)],
    )
    assert undecided.as_json(NOW)["phase"] == "deciding"
    assert undecided.as_json(NOW)["activity"] == "3 writes to RMM waiting"


def test_decided_never_exceeds_the_total_and_created_objects_are_shown_apart():
    shown = demo_run().as_json(NOW)["progress"]
    companies = next(p for p in shown if p["kind"] == "rmm.company")
    assert (companies["total"], companies["decided"], companies["created"]) == (37, 37, 3)
    # objects of the read model no listing of the run had (deleted ones, say) are not shown
    # as decided beyond what was listed
    more = replace(demo_run(), kinds=[KindProgress("rmm.company", seen=37, total=37, decided=39)])
    assert more.as_json(NOW)["progress"][0]["decided"] == 37
    assert KindProgress("rmm.company", seen=5, total=None, decided=9).shown_decided == 5
    assert KindProgress("rmm.ticket", seen=5, total=5).shown_decided is None


def test_commands_waiting_are_grouped_by_the_system_they_write_to():
    early, late = NOW - timedelta(seconds=5), NOW
    waiting = {"rmm.endpoint": 171, "rmm.site": 3, "revio.asset": 2}
    answers = [("rmm.endpoint", late), ("rmm.ticket", late), ("rmm.site", early)]
    assert writes_by_system(waiting, answers) == [
        WritesWaiting("revio", 2, ()),
        WritesWaiting("rmm", 174, (late, early)),
    ]


def tenant(**settings) -> Tenant:
    return Tenant(
        id="acme",
        name="Acme",
        rmm=RmmConnection(client_id="id", client_secret=SecretStr("s")),
        revio=RevioConnection(username="u", client_code="C", password=SecretStr("p")),
        settings=SyncSettings(**settings),
    )


def test_an_update_keeps_stored_secrets_and_names_only_new_ones():
    current = tenant()
    patch = {"rmm": {"client_secret": "new"}, "min_alert_severity": "Low"}

    candidate = build_candidate("acme", current, patch, replace=False)

    assert candidate.errors == []
    assert candidate.new_secrets == ["rmm.client_secret"]
    assert candidate.checked and candidate.to_save
    assert candidate.checked.revio.password.get_secret_value() == "p"  # type: ignore[union-attr]
    assert candidate.to_save.revio.password is None  # not rewritten, not named
    assert candidate.to_save.settings.min_alert_severity == "Low"


def test_a_document_never_holds_a_secret():
    doc = document(tenant(), {"rmm.client_secret"})
    assert doc["rmm"] == {
        "region": "NA",
        "base_url": None,
        "client_id": "id",
        "client_secret_set": True,
    }
    assert "password" not in doc["revio"] and doc["revio"]["password_set"] is False


def test_settings_that_need_another_are_refused_without_a_call():
    errors = offline_rules(tenant(sync_alerts=True, asset_sync_enabled=True))
    assert {e.field for e in errors} == {"alert_ticket_type", "asset_type"}


def test_asset_sync_on_needs_at_least_one_endpoint_category():
    errors = offline_rules(tenant(asset_sync_enabled=True, asset_type="PC", endpoint_categories=[]))
    assert [e.field for e in errors] == ["endpoint_categories"]
    assert "required when asset sync is on" in errors[0].message
    assert offline_rules(tenant(asset_sync_enabled=False, endpoint_categories=[])) == []
    assert offline_rules(tenant(asset_sync_enabled=True, asset_type="PC")) == []  # defaults


@pytest.mark.parametrize(
    ("given", "stored"), [("high", "High"), ("CRITICAL", "Critical"), (" info ", "Info")]
)
def test_a_severity_is_taken_in_any_case_and_stored_as_spelled(given: str, stored: str):
    assert SyncSettings(min_alert_severity=given).min_alert_severity == stored


def test_an_unknown_severity_is_still_refused_with_the_choices():
    with pytest.raises(ValidationError, match=r"unknown severity 'urgent'; choose from \['Info'"):
        SyncSettings(min_alert_severity="urgent")


def test_endpoint_categories_are_taken_in_any_case_once_each():
    chosen = SyncSettings(endpoint_categories=["Cloud", "platform", "PLATFORM"])
    assert chosen.endpoint_categories == ["cloud", "platform"]
    with pytest.raises(ValidationError, match=r"unknown categories \['mobile'\]"):
        SyncSettings(endpoint_categories=["Mobile"])


def test_auto_close_needs_an_active_auto_closed_status():
    lookups = RevioLookups(
        bill_profiles=[],
        ticket_types=[],
        ticket_statuses=[Lookup("5", "auto-closed", active=False, extra="CLOSED")],
        inventory_types=[],
    )
    errors = revio_rules(tenant(auto_close_on_alert_clear=True), lookups)
    assert [e.field for e in errors] == ["auto_close_on_alert_clear"]


def test_search_ranks_similar_names_first():
    records = [
        Unlinked("rmm", "c1", "Initrode Technologies"),
        Unlinked("rmm", "c2", "Vandelay Imports"),
        Unlinked("rmm", "c3", "Initech Holdings"),
    ]
    assert [hit["id"] for hit in rank(records, "initech")][:1] == ["c3"]
    assert [hit["id"] for hit in rank(records, "")] == ["c3", "c1", "c2"]


def test_a_decided_run_is_not_done_while_its_commands_are_on_their_way():
    everything = KindProgress("rmm.endpoint", seen=92, total=92, decided=92)
    waiting = replace(progress("deciding", everything, idle_s=5), writes=[WritesWaiting("rmm", 3)])
    assert completion_rule(waiting, NOW, 30) is None
    assert completion_rule(replace(waiting, writes=[]), NOW, 30) == "all_decided"
