"""The company service's rules (pure): names, matching, creation, holding, field sync."""

import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from rapidfuzz import fuzz
from revsync.contracts.base import Result, ResultStatus
from revsync.contracts.revio import (
    CreateRevioCustomer,
    RevioAddress,
    RevioCustomer,
    UpdateRevioCustomer,
)
from revsync.contracts.rmm import (
    CreateRmmCompany,
    CreateRmmSite,
    RmmCompany,
    RmmCompanyChanged,
    RmmSite,
    UpdateRmmCompany,
    UpdateRmmSite,
)
from revsync.decision import DecisionContext
from revsync.tenancy import SyncSettings

from services.company import events as E
from services.company.decide import (
    customer_party,
    decide_unmatched_customer,
    decide_unmatched_rmm_company,
    merge_suggestion,
    observe,
    rmm_party,
    should_create_revio_customer,
    should_create_rmm_company,
)
from services.company.fields import expected_in_revio, sync_field
from services.company.links import (
    inbound_update_conflicted,
    rewrite_after_older_write,
    rmm_company_creation_failed,
)
from services.company.matching import (
    MAX_SUGGESTIONS,
    SUGGEST_MIN_SCORE,
    Candidate,
    Candidates,
    Match,
    Party,
    match_company,
)
from services.company.naming import company_description, normalize_name, revio_ids_in
from services.company.reconcile import reconcile
from services.company.runs import decided_by_run, to_match
from services.company.state import LinkState, RmmState, evolve_link, evolve_rmm

TENANT = "t-unit"
T1 = datetime(2025, 6, 1, 12, tzinfo=UTC)


def ctx() -> DecisionContext:
    return DecisionContext(TENANT, datetime(2025, 6, 1, tzinfo=UTC), uuid4())


def customer(cid: str = "1001", name: str = "Acme, Inc.", **fields: object) -> RevioCustomer:
    return RevioCustomer(id=cid, name=name, **fields)  # type: ignore[arg-type]


def party(pid: str, name: str, *refs: str, claimable: bool = True) -> Party:
    return Party(pid, name, normalize_name(name), refs, claimable)


def apply(link: LinkState, events: tuple) -> LinkState:
    for event in events:
        link = evolve_link(link, event.type, event.data)
    return link


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Acme, Inc.", "ACME INC"),
        ("Smith & Sons", "Smith and Sons"),
        ("Harbor Dental LLC", "Harbor Dental L.L.C."),
        ("Harbor Dental LLC", "harbor dental"),
        ("Blue Ridge Plumbing Corp", "Blue Ridge Plumbing Corporation"),
        ("Keystone Realty Ltd", "Keystone Realty Limited"),
        ("St. Mary's Bakery", "St Marys Bakery"),
        ("Müller Technik GmbH", "Muller  Technik"),
        ("Outback Networks Pty Ltd", "Outback Networks"),
        ("  Acme   Co. ", "Acme Company"),
    ],
)
def test_names_that_differ_only_in_case_punctuation_and_suffix_are_the_same(left, right):
    assert normalize_name(left) == normalize_name(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Acme Corp", "Acme Corporation Services"),
        ("Smith & Sons", "Smith & Partners"),
        ("Acme Dental", "Acme Plumbing"),
    ],
)
def test_different_companies_keep_different_names(left, right):
    assert normalize_name(left) != normalize_name(right)


def test_a_legal_suffix_alone_is_kept_as_the_name():
    assert normalize_name("Inc.") == "inc"


def test_the_revio_id_is_read_from_the_description_revsync_writes():
    written = company_description(customer(email="ops@acme.test"))
    assert written == "Rev.io ID: 1001\nContact: ops@acme.test"
    assert revio_ids_in(written) == ("1001",)
    assert revio_ids_in("Rev.io customer ID: 1001") == ("1001",)
    assert revio_ids_in("Rev.io address ID: 9") == ()
    assert revio_ids_in("Billing: revio id #77 (legacy)") == ("77",)
    assert revio_ids_in("customer 1001 of ours") == ()


def test_an_rmm_company_names_its_description_id_then_each_external_id_once():
    assert revio_ids_in(None, ["5"]) == ("5",)
    assert revio_ids_in("Rev.io ID: 7", ["PSA-3", "7", " ", "9"]) == ("7", "PSA-3", "9")


def test_the_description_names_the_primary_contact():
    acme = customer(
        email="jane@acme.test",
        addresses=(RevioAddress(id="9", first_name="Jane", last_name="Doe"),),
    )
    assert company_description(acme).endswith("\nContact: Jane Doe, jane@acme.test")


# --- matching ---------------------------------------------------------------------------------


def scanned_match(subject: Party, others: list[Party], here: int, there: int, excluded=()):
    """The rules applied by scanning every record: what `Candidates`' lookups must equal."""
    eligible = [o for o in others if o.id not in excluded]
    strong = [o for o in eligible if o.id in subject.refs or subject.id in o.refs]
    if len(strong) == 1:
        return ("strong_key", strong[0].id, ())
    if strong:
        return ("ambiguous_strong_key", None, tuple(sorted(o.id for o in strong)))
    claimable = [o for o in eligible if o.claimable]
    exact = [o for o in claimable if subject.key and o.key == subject.key]
    if len(exact) == 1 and here == 1 and there == 1:
        return ("exact_name", exact[0].id, ())
    pool = [o for o in claimable if o not in exact]
    scores = [(fuzz.WRatio(subject.key, o.key, processor=None), o.id) for o in pool]
    fuzzy = sorted((-round(s, 1), i) for s, i in scores if s >= SUGGEST_MIN_SCORE and subject.key)
    ids = tuple(sorted(o.id for o in exact)) + tuple(i for _, i in fuzzy)
    rule = "ambiguous_name" if exact else "fuzzy_name" if fuzzy else "no_candidate"
    return (rule, None, ids[:MAX_SUGGESTIONS])


def test_indexed_candidates_match_as_a_scan_of_every_record_would_through_a_batch():
    rng = random.Random(11)
    stems = ["Acme", "Acme Labs", "Zeta Works", "Blue Harbor", "Smith & Sons", "Nova", "Kite"]
    names = [
        f"{rng.choice(stems)} {rng.choice(['', 'Inc', 'LLC', '2', 'West'])}" for _ in range(60)
    ]

    def maybe_ref(prefix: str, count: int, share: float) -> list[str]:
        return [f"{prefix}{rng.randrange(count)}"] if rng.random() < share else []

    rmm = [
        party(f"r{i}", name, *maybe_ref("c", 80, 0.15), claimable=rng.random() > 0.1)
        for i, name in enumerate(names)
    ]
    customers = [party(f"c{i}", rng.choice(names), *maybe_ref("r", 60, 0.1)) for i in range(80)]
    candidates, left = Candidates(rmm), list(rmm)
    rules = set()
    for subject in customers:
        excluded = {f"r{rng.randrange(60)}"} if rng.random() < 0.2 else set()
        here = sum(c.key == subject.key for c in customers)
        there = sum(r.key == subject.key for r in rmm)
        match = match_company(subject, candidates, here, there, excluded)
        found = (match.rule, match.link.id if match.link else None,
                 tuple(c.id for c in match.suggestions))  # fmt: skip
        assert found == scanned_match(subject, left, here, there, excluded), subject
        rules.add(match.rule)
        if match.link is not None:
            candidates.remove(match.link.id)
            left = [r for r in left if r.id != match.link.id]
    assert len(candidates) == len(left) < len(rmm)
    assert {"strong_key", "fuzzy_name", "ambiguous_name"} <= rules


def test_strong_key_links_whatever_the_names():
    subject = party("1001", "Acme, Inc.")
    others = [party("r1", "Totally Different"), party("r2", "Other", "1001")]
    match = match_company(subject, others, 1, 0)
    assert match.rule == "strong_key" and match.link and match.link.id == "r2"


def test_strong_key_from_the_customer_side_names_the_company():
    subject = party("1001", "Acme", "r9")
    match = match_company(subject, [party("r9", "Zeta", claimable=False)], 1, 0)
    assert match.rule == "strong_key" and match.link and match.link.id == "r9"


def test_two_companies_naming_one_customer_are_suggestions():
    subject = party("1001", "Acme")
    match = match_company(subject, [party("r1", "A", "1001"), party("r2", "B", "1001")], 1, 0)
    assert match.rule == "ambiguous_strong_key" and match.link is None
    assert [c.id for c in match.suggestions] == ["r1", "r2"]


def test_exact_normalized_name_unique_on_both_sides_links():
    match = match_company(party("1001", "Acme, Inc."), [party("r1", "ACME INC")], 1, 1)
    assert match.rule == "exact_name" and match.link and match.link.id == "r1"
    assert match.link.score == 100.0


def test_ampersand_and_and_are_an_exact_match():
    match = match_company(party("1", "Smith & Sons"), [party("r1", "Smith and Sons")], 1, 1)
    assert match.rule == "exact_name"


def test_two_customers_with_the_same_normalized_name_get_suggestions_not_links():
    """`Acme` and `ACME Inc.` are two customers: neither is linked to RMM's `Acme` by a guess."""
    for subject in (party("1", "Acme"), party("2", "ACME Inc.")):
        match = match_company(subject, [party("r1", "Acme")], 2, 1)
        assert match.link is None
        assert match.rule == "ambiguous_name"
        assert [(c.id, c.score) for c in match.suggestions] == [("r1", 100.0)]


def test_two_companies_with_the_same_normalized_name_are_ambiguous():
    match = match_company(party("1", "Acme"), [party("r1", "Acme"), party("r2", "ACME LLC")], 1, 2)
    assert match.rule == "ambiguous_name" and match.link is None
    assert {c.id for c in match.suggestions} == {"r1", "r2"}


def test_an_exact_name_already_linked_elsewhere_makes_it_ambiguous():
    """The other `Acme` is linked (not a candidate) but still counts on its side."""
    match = match_company(party("1", "Acme"), [party("r2", "Acme")], 1, 2)
    assert match.link is None and match.rule == "ambiguous_name"


def test_fuzzy_candidates_are_only_suggestions_best_first():
    others = [
        party("r1", "Acme Corporation Services"),
        party("r2", "Harbour Dental"),
        party("r3", "Summit Logistics"),
    ]
    match = match_company(party("1", "Harbor Dental LLC"), others, 1, 0)
    assert match.rule == "fuzzy_name" and match.link is None
    assert match.suggestions[0].id == "r2" and match.suggestions[0].score > 90
    assert "r3" not in [c.id for c in match.suggestions]


def test_nothing_alike_is_no_candidate():
    match = match_company(party("1", "Acme"), [party("r1", "Summit Logistics")], 1, 0)
    assert match.rule == "no_candidate" and not match.suggestions


def test_a_rejected_pair_is_never_proposed_again():
    match = match_company(party("1", "Acme"), [party("r1", "Acme")], 1, 1, excluded=["r1"])
    assert match.rule == "no_candidate"


def test_a_company_being_created_is_linked_only_by_its_strong_key():
    match = match_company(party("1", "Acme"), [party("r1", "Acme", claimable=False)], 1, 1)
    assert match.link is None


def rmm_company(cid: str, name: str, description: str | None = None, *external: str) -> Party:
    """An RMM company as matching sees it, through `rmm_party` (description and external ids)."""
    company = RmmCompany(id=cid, name=name, description=description, external_ids=external)
    return rmm_party(RmmState(rmm_company_id=cid, company=company))


def test_an_external_id_equal_to_the_revio_id_links_as_strong_key():
    others = [rmm_company("r1", "Zeta Holdings", None, "PSA-77", "1001")]
    match = match_company(party("1001", "Acme, Inc."), others, 1, 0)
    assert match.rule == "strong_key" and match.link and match.link.id == "r1"


def test_an_external_id_strong_key_wins_over_an_exact_name_of_another_company():
    others = [rmm_company("r1", "Acme Inc"), rmm_company("r2", "Zeta Holdings", None, "1001")]
    match = match_company(party("1001", "Acme, Inc."), others, 1, 1)
    assert match.rule == "strong_key" and match.link and match.link.id == "r2"


def test_an_external_id_naming_no_customer_leaves_name_matching_as_it_was():
    others = [rmm_company("r1", "ACME INC", None, "PSA-77")]
    match = match_company(party("1001", "Acme, Inc."), others, 1, 1)
    assert match.rule == "exact_name" and match.link and match.link.id == "r1"


def test_companies_claiming_one_customer_by_external_id_or_description_are_not_guessed():
    others = [
        rmm_company("r1", "Acme Inc", None, "1001"),
        rmm_company("r2", "Other", "Rev.io ID: 1001"),
        rmm_company("r3", "Third", None, "1001"),
    ]
    match = match_company(party("1001", "Acme, Inc."), others, 1, 1)
    assert match.rule == "ambiguous_strong_key" and match.link is None
    assert [c.id for c in match.suggestions] == ["r1", "r2", "r3"]


def test_from_the_company_side_its_external_id_names_the_customer():
    subject = rmm_company("r1", "Zeta Holdings", None, "PSA-77", "1001")
    customers = [party("1000", "Zeta Holdings"), party("1001", "Acme, Inc.")]
    match = match_company(subject, customers, 1, 1)
    assert match.rule == "strong_key" and match.link and match.link.id == "1001"


def test_a_company_naming_two_customers_is_not_guessed():
    """Its description names one customer and an external id another: suggestions only."""
    subject = rmm_company("r1", "Acme", "Rev.io ID: 1001", "1002")
    customers = [party("1001", "Acme"), party("1002", "Zeta")]
    match = match_company(subject, customers, 1, 1)
    assert match.rule == "ambiguous_strong_key" and match.link is None
    assert [c.id for c in match.suggestions] == ["1001", "1002"]


def test_a_company_naming_one_customer_twice_links_it():
    subject = rmm_company("r1", "Zeta", "Rev.io ID: 1001", "1001")
    match = match_company(subject, [party("1001", "Acme")], 1, 0)
    assert match.rule == "strong_key" and match.link and match.link.id == "1001"


# --- a customer nobody matches ----------------------------------------------------------------


def new_link(**fields: object) -> LinkState:
    return LinkState(customer_id="1001", customer=customer(), **fields)  # type: ignore[arg-type]


def test_create_mode_on_requests_an_rmm_company_carrying_the_revio_id():
    decision = decide_unmatched_customer(
        ctx(), new_link(), Match("no_candidate"), SyncSettings(create_mode=True), listed=True
    )
    assert decision.event_types == [E.RMM_CREATE_REQUESTED]
    (command,) = decision.commands
    assert isinstance(command, CreateRmmCompany)
    assert command.name == "Acme, Inc." and command.active
    assert revio_ids_in(command.description) == ("1001",)
    assert decision.events[0].data["command_id"] == str(command.message_id)
    assert decision.events[0].data["rule"] == "create_mode_on"


def test_a_closed_customer_becomes_an_inactive_company():
    link = LinkState(customer_id="1", customer=customer("1", status="CLOSED"))
    decision = decide_unmatched_customer(
        ctx(), link, Match("no_candidate"), SyncSettings(create_mode=True), listed=True
    )
    assert decision.commands[0].active is False  # type: ignore[attr-defined]


def test_create_mode_off_holds_the_customer_and_says_why():
    decision = decide_unmatched_customer(
        ctx(), new_link(), Match("no_candidate", inputs={"name": "x"}), SyncSettings(), listed=True
    )
    assert decision.event_types == [E.HELD] and not decision.commands
    held = decision.events[0].data
    assert held["rule"] == "create_mode_off" and held["create_mode"] is False
    assert held["revio_customer_id"] == "1001" and held["normalized_name"] == "acme"


def test_an_already_held_customer_is_not_held_again():
    link = new_link(state="held", rule="create_mode_off")
    assert decide_unmatched_customer(
        ctx(), link, Match("no_candidate"), SyncSettings(), listed=True
    ).empty


def test_suggestions_wait_for_a_person_even_with_create_mode_on():
    match = Match("fuzzy_name", suggestions=(Candidate("r1", "Acme Co", 91.0),))
    decision = decide_unmatched_customer(
        ctx(), new_link(), match, SyncSettings(create_mode=True), listed=True
    )
    assert decision.event_types == [E.SUGGESTED] and not decision.commands
    link = apply(new_link(), decision.events)
    assert link.state == "suggested" and link.rmm_company_id == "r1" and link.score == 91.0


def test_the_same_suggestions_are_not_recorded_twice():
    match = Match("fuzzy_name", suggestions=(Candidate("r1", "Acme Co", 91.0),))
    link = apply(
        new_link(),
        decide_unmatched_customer(ctx(), new_link(), match, SyncSettings(), listed=True).events,
    )
    assert decide_unmatched_customer(ctx(), link, match, SyncSettings(), listed=True).empty


def test_a_person_decision_is_never_overridden_by_create_mode():
    link = new_link(state="rejected", decided_by="alice")
    assert should_create_rmm_company(link, SyncSettings(create_mode=True), listed=True) == (
        False,
        "decided_by_person",
    )
    assert decide_unmatched_customer(
        ctx(), link, Match("no_candidate"), SyncSettings(create_mode=True), listed=True
    ).empty


def test_a_failed_creation_is_not_retried_automatically():
    creating = apply(
        new_link(),
        decide_unmatched_customer(
            ctx(), new_link(), Match("no_candidate"), SyncSettings(create_mode=True), listed=True
        ).events,
    )
    command_id = next(iter(creating.pending))
    failed = Result(
        tenant_id=TENANT,
        system="rmm",
        entity="company",
        verb="create",
        command_id=command_id,
        status=ResultStatus.REJECTED,
        reason="name too long",
    )
    decision = rmm_company_creation_failed(ctx(), creating, failed)
    assert decision.event_types == [E.RMM_CREATE_FAILED, E.HELD]
    held = apply(creating, decision.events)
    assert held.state == "held" and held.rule == "rmm_company_creation_failed"
    assert held.pending == {}
    assert not should_create_rmm_company(held, SyncSettings(create_mode=True), listed=True)[0]


def test_before_the_first_sync_run_a_customer_is_held_waiting_not_created():
    """Its RMM company may exist and simply not have been listed yet."""
    match = Match("no_candidate", inputs={"normalized_name": "acme"})
    decision = decide_unmatched_customer(
        ctx(), new_link(), match, SyncSettings(create_mode=True), listed=False
    )
    assert decision.event_types == [E.HELD] and not decision.commands
    held = decision.events[0].data
    assert held["rule"] == "waiting_for_initial_sync"
    assert (held["create_mode"], held["listed"]) == (True, False)
    assert held["match"] == {"normalized_name": "acme"}
    waiting = apply(new_link(), decision.events)
    assert (waiting.state, waiting.rule) == ("held", "waiting_for_initial_sync")
    assert decide_unmatched_customer(
        ctx(), waiting, match, SyncSettings(create_mode=True), listed=False
    ).empty  # seen again before the run: nothing new


def test_a_customer_waiting_for_the_first_sync_run_is_created_once_both_sides_are_listed():
    settings = SyncSettings(create_mode=True)
    waiting = apply(
        new_link(),
        decide_unmatched_customer(
            ctx(), new_link(), Match("no_candidate"), settings, listed=False
        ).events,
    )
    assert should_create_rmm_company(waiting, settings, listed=True) == (True, "create_mode_on")
    decision = decide_unmatched_customer(
        ctx(), waiting, Match("no_candidate"), settings, listed=True
    )
    assert decision.event_types == [E.RMM_CREATE_REQUESTED]
    assert isinstance(decision.commands[0], CreateRmmCompany)


def test_with_create_mode_off_the_first_sync_run_changes_nothing_to_wait_for():
    assert should_create_rmm_company(new_link(), SyncSettings(), listed=False) == (
        False,
        "create_mode_off",
    )


def test_an_rmm_company_appearing_is_merged_into_a_customers_suggestions():
    link = new_link(state="held", rule="create_mode_off")
    decision = merge_suggestion(
        ctx(), link, Candidate("r7", "Acme Corp", 88.0), Match("fuzzy_name")
    )
    assert apply(link, decision.events).candidates == (
        {"id": "r7", "name": "Acme Corp", "score": 88.0},
    )
    rejected = new_link(state="rejected", excluded=("r7",))
    assert merge_suggestion(
        ctx(), rejected, Candidate("r7", "Acme Corp", 88.0), Match("fuzzy_name")
    ).empty


# --- an RMM company nobody matches -----------------------------------------------------------


def rmm_state(**fields: object) -> RmmState:
    site = RmmSite(id="s1", company_id="r1", name="HQ", address_line_1="1 Main St", city="Tampa")
    company = RmmCompany(id="r1", name="Zeta Labs", sites=(site,))
    return RmmState(rmm_company_id="r1", company=company, **fields)  # type: ignore[arg-type]


INBOUND = SyncSettings(rmm_to_revio_sync=True, bill_profile="3", customer_identity="BUSINESS")


def test_inbound_sync_on_creates_a_revio_customer_with_bill_profile_and_identity():
    decision = decide_unmatched_rmm_company(
        ctx(), rmm_state(), Match("no_candidate"), INBOUND, listed=True
    )
    assert decision.event_types == [E.REVIO_CREATE_REQUESTED]
    (command,) = decision.commands
    assert isinstance(command, CreateRevioCustomer)
    assert (command.bill_profile_id, command.customer_class) == ("3", "BUSINESS")
    assert command.rmm_company_id == "r1" and command.name == "Zeta Labs"
    assert command.address and command.address.line_1 == "1 Main St"


def test_inbound_sync_off_leaves_the_company_unlinked_and_says_why():
    decision = decide_unmatched_rmm_company(
        ctx(), rmm_state(), Match("no_candidate"), SyncSettings(), listed=True
    )
    assert decision.event_types == [E.LEFT_UNLINKED] and not decision.commands
    assert decision.events[0].data["rule"] == "rmm_to_revio_sync_off"


def test_inbound_sync_without_bill_profile_does_not_create():
    settings = SyncSettings(rmm_to_revio_sync=True)
    assert should_create_revio_customer(rmm_state(), settings, listed=True) == (
        False,
        "bill_profile_or_identity_missing",
    )


def test_before_the_first_sync_run_an_rmm_company_is_left_waiting_not_created_in_revio():
    decision = decide_unmatched_rmm_company(
        ctx(), rmm_state(), Match("no_candidate"), INBOUND, listed=False
    )
    assert decision.event_types == [E.LEFT_UNLINKED] and not decision.commands
    data = decision.events[0].data
    assert data["rule"] == "waiting_for_initial_sync" and data["listed"] is False
    waiting = evolve_rmm(rmm_state(), decision.events[0].type, data)
    assert (waiting.state, waiting.rule) == ("unlinked", "waiting_for_initial_sync")
    assert decide_unmatched_rmm_company(
        ctx(), waiting, Match("no_candidate"), INBOUND, listed=False
    ).empty
    created = decide_unmatched_rmm_company(
        ctx(), waiting, Match("no_candidate"), INBOUND, listed=True
    )
    assert created.event_types == [E.REVIO_CREATE_REQUESTED]
    assert isinstance(created.commands[0], CreateRevioCustomer)


def test_a_sync_run_decides_the_records_waiting_for_it_even_those_it_did_not_list():
    run = str(uuid4())
    waiting = new_link(state="held", rule="waiting_for_initial_sync")
    assert decided_by_run(waiting, run)
    assert decided_by_run(waiting.with_(sync_run_id=str(uuid4())), run)
    assert decided_by_run(rmm_state(rule="waiting_for_initial_sync"), run)
    assert decided_by_run(new_link(sync_run_id=run), run)
    assert not decided_by_run(new_link(state="held", rule="create_mode_off"), run)
    assert not decided_by_run(rmm_state(rule="rmm_to_revio_sync_off"), run)


def test_a_record_a_poll_left_to_a_listing_run_is_decided_by_that_run():
    run, other = uuid4(), uuid4()
    company = RmmCompany(id="r1", name="Zeta Labs")
    polled = RmmCompanyChanged(tenant_id="t1", kind="changed", company=company)
    seen = observe(ctx(), polled, {"company": company.model_dump(mode="json")}, None, run)
    assert (seen.data["sync_run_id"], seen.data["left_for_run"]) == (None, str(run))
    left = evolve_rmm(rmm_state(sync_run_id=str(other)), seen.type, seen.data)
    assert left.sync_run_id == str(run)
    assert decided_by_run(left, str(run)) and not decided_by_run(left, str(other))
    # a stale observation changes nothing, so it is left to no run
    later = polled.model_copy(update={"occurred_at": polled.occurred_at + timedelta(seconds=1)})
    stale = observe(ctx(), polled, {}, later.occurred_at, run)
    assert stale.data["stale"] and stale.data["left_for_run"] is None


def test_a_company_suggested_to_a_customer_waits_for_review_instead_of_being_created():
    decision = decide_unmatched_rmm_company(
        ctx(),
        rmm_state(),
        Match("no_candidate"),
        INBOUND,
        suggested_to_customers=True,
        listed=False,
    )
    assert decision.event_types == [E.LEFT_UNLINKED]
    assert decision.events[0].data["rule"] == "suggested_for_review"


# --- field sync -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revio", "rmm", "base", "inbound", "expected"),
    [
        ("A", "A", None, False, ("baseline", None)),
        ("A", "B", None, True, ("push_rmm", "revio_authoritative_on_link")),
        ("A", "A", ("A", "A"), True, ("none", None)),
        ("A2", "A", ("A", "A"), True, ("push_rmm", "revio_changed")),
        ("A", "B", ("A", "A"), True, ("push_revio", "rmm_to_revio_sync")),
        ("A", "B", ("A", "A"), False, ("push_rmm", "rmm_to_revio_sync_off")),
        ("A2", "B", ("A", "A"), True, ("push_rmm", "conflict_revio_wins")),
        ("C", "C", ("A", "B"), True, ("baseline", "both_sides_agree")),
    ],
)
def test_field_sync_table(revio, rmm, base, inbound, expected):
    baseline = {"revio": base[0], "rmm": base[1]} if base else None
    outcome = sync_field(revio, rmm, baseline, inbound)
    assert outcome.action == expected[0]
    if expected[1]:
        assert outcome.rule == expected[1]
    assert outcome.conflict == (expected[1] == "conflict_revio_wins")


def test_a_one_way_field_edited_in_rmm_follows_revio_again():
    assert (
        sync_field(True, False, {"revio": True, "rmm": True}, True, one_way=True).action
        == "push_rmm"
    )


def linked(rmm: RmmCompany, cust: RevioCustomer, **fields: object) -> LinkState:
    return LinkState(
        customer_id=cust.id,
        state="linked",
        rmm_company_id=rmm.id,
        customer=cust,
        rmm=rmm,
        **fields,  # type: ignore[arg-type]
    )


def test_linking_pushes_revio_name_status_and_description_and_creates_sites():
    address = RevioAddress(id="a1", line_1="1 Main St", city="Tampa", postal_code="33601")
    cust = customer(addresses=(address,), status="CLOSED")
    link = linked(RmmCompany(id="r1", name="ACME INC", active=True), cust)
    decision = reconcile(ctx(), link, SyncSettings())
    assert decision.event_types == [E.RMM_UPDATE_REQUESTED, E.SITE_CREATE_REQUESTED]
    update, site = decision.commands
    assert isinstance(update, UpdateRmmCompany) and update.company_id == "r1"
    assert (update.name, update.active) == ("Acme, Inc.", False)
    assert revio_ids_in(update.description) == ("1001",)
    assert isinstance(site, CreateRmmSite) and site.revio_address_id == "a1"
    assert site.site.address_line_1 == "1 Main St" and site.site.name == "1 Main St, Tampa"
    after = apply(link, decision.events)
    assert reconcile(ctx(), after, SyncSettings()).empty  # nothing twice, site in flight


def test_an_existing_site_at_the_same_address_is_mapped_not_duplicated():
    address = RevioAddress(id="a1", line_1="1 Main Street", city="Tampa", postal_code="33601")
    site = RmmSite(
        id="s9", company_id="r1", name="HQ", address_line_1="1 main street", postal_code="33601"
    )
    cust = customer(addresses=(address,))
    rmm = RmmCompany(
        id="r1", name="Acme, Inc.", description=company_description(cust), sites=(site,)
    )
    decision = reconcile(ctx(), linked(rmm, cust), SyncSettings())
    assert E.SITE_MATCHED in decision.event_types
    assert not any(isinstance(c, CreateRmmSite) for c in decision.commands)
    assert any(isinstance(c, UpdateRmmSite) and c.site.id == "s9" for c in decision.commands)


def in_sync_pair(settings: SyncSettings) -> LinkState:
    cust = customer()
    rmm = RmmCompany(id="r1", name=cust.name, description=company_description(cust))
    link = linked(rmm, cust)
    return apply(link, reconcile(ctx(), link, settings).events)


def test_rmm_rename_flows_to_revio_only_with_inbound_sync_on():
    link = in_sync_pair(INBOUND)
    renamed = link.with_(rmm=link.rmm.model_copy(update={"name": "Acme Holdings"}))
    decision = reconcile(ctx(), renamed, INBOUND)
    assert decision.event_types == [E.REVIO_UPDATE_REQUESTED]
    (command,) = decision.commands
    assert isinstance(command, UpdateRevioCustomer) and command.name == "Acme Holdings"
    after = apply(renamed, decision.events)
    assert after.customer.name == "Acme Holdings" and reconcile(ctx(), after, INBOUND).empty


def test_rmm_rename_is_reverted_when_inbound_sync_is_off():
    link = in_sync_pair(SyncSettings())
    renamed = link.with_(rmm=link.rmm.model_copy(update={"name": "Acme Holdings"}))
    decision = reconcile(ctx(), renamed, SyncSettings())
    (command,) = decision.commands
    assert isinstance(command, UpdateRmmCompany) and command.name == "Acme, Inc."
    assert decision.events[0].data["changes"]["name"]["rule"] == "rmm_to_revio_sync_off"


def test_a_conflict_is_won_by_revio_and_recorded():
    link = in_sync_pair(INBOUND)
    both = link.with_(
        rmm=link.rmm.model_copy(update={"name": "Acme RMM Edit"}),
        customer=link.customer.model_copy(update={"name": "Acme Revio Edit"}),
    )
    decision = reconcile(ctx(), both, INBOUND)
    assert decision.event_types == [E.CONFLICT_RESOLVED, E.RMM_UPDATE_REQUESTED]
    assert decision.events[0].data["rule"] == "revio_wins"
    (command,) = decision.commands
    assert isinstance(command, UpdateRmmCompany) and command.name == "Acme Revio Edit"


def test_a_failed_update_is_undone_so_it_is_tried_again():
    link = in_sync_pair(SyncSettings())
    renamed = link.with_(customer=link.customer.model_copy(update={"name": "Acme Two"}))
    decision = reconcile(ctx(), renamed, SyncSettings())
    pushed = apply(renamed, decision.events)
    assert pushed.rmm.name == "Acme Two"
    failed = evolve_link(
        pushed,
        E.COMMAND_FAILED,
        {
            "command_id": decision.events[0].data["command_id"],
            "verb": "rmm.company.update",
            "revert": decision.events[0].data["revert"],
        },
    )
    assert failed.rmm.name == "Acme, Inc."
    assert reconcile(ctx(), failed, SyncSettings()).commands  # pushed again


def test_the_customer_party_names_its_rmm_company_as_strong_key():
    link = LinkState(customer_id="5", customer=customer("5", rmm_company_id="r5"))
    assert customer_party(link).refs == ("r5",)


# --- revsync's own writes in flight ----------------------------------------------------------


def observe_rmm(link: LinkState, company: RmmCompany, at: datetime) -> LinkState:
    data = {
        "kind": "changed",
        "company": company.model_dump(mode="json"),
        "observed_at": at.isoformat(),
    }
    return evolve_link(link, E.RMM_OBSERVED, data)


def renamed_in_revio(settings: SyncSettings) -> tuple[LinkState, str]:
    """A pair in sync, then renamed in Rev.io: the push to RMM is in flight."""
    link = in_sync_pair(settings)
    link = link.with_(customer=link.customer.model_copy(update={"name": "Acme Two"}))
    decision = reconcile(ctx(), link, settings)
    assert decision.commands[0].name == "Acme Two"  # type: ignore[attr-defined]
    return apply(link, decision.events), decision.events[0].data["command_id"]


def test_an_rmm_observation_taken_before_our_write_landed_changes_nothing():
    link, _ = renamed_in_revio(INBOUND)
    before_write = link.rmm.model_copy(update={"name": "Acme, Inc."})
    assert reconcile(ctx(), observe_rmm(link, before_write, T1), INBOUND).empty


def test_an_rmm_edit_while_our_write_is_in_flight_is_a_conflict_revio_wins():
    link, _ = renamed_in_revio(INBOUND)
    edited = link.rmm.model_copy(update={"name": "Acme RMM Edit"})
    decision = reconcile(ctx(), observe_rmm(link, edited, T1), INBOUND)
    assert decision.event_types == [E.CONFLICT_RESOLVED, E.RMM_UPDATE_REQUESTED]
    assert decision.events[0].data["edited_while"] == "rmm_write_in_flight"
    (command,) = decision.commands
    assert isinstance(command, UpdateRmmCompany) and command.name == "Acme Two"


def test_once_our_write_landed_a_later_rmm_edit_flows_back():
    link, command_id = renamed_in_revio(INBOUND)
    landed = {"command_id": command_id, "verb": "rmm.company.update", "at": T1.isoformat()}
    link = evolve_link(link, E.COMMAND_SUCCEEDED, landed)
    link = observe_rmm(link, link.rmm, T1 + timedelta(minutes=1))  # shows our write: settled
    assert link.pending == {}
    edited = observe_rmm(
        link, link.rmm.model_copy(update={"name": "Acme Three"}), T1 + timedelta(minutes=2)
    )
    decision = reconcile(ctx(), edited, INBOUND)
    assert decision.event_types == [E.REVIO_UPDATE_REQUESTED]
    assert decision.commands[0].name == "Acme Three"  # type: ignore[attr-defined]


def test_a_site_carrying_the_connectors_address_marker_is_that_addresses_site():
    address = RevioAddress(id="a7", line_1="7 Elm St", city="Boise")
    marked = RmmSite(
        id="s7", company_id="r1", name="Boise office", description="Rev.io address ID: a7"
    )
    cust = customer(addresses=(address,))
    rmm = RmmCompany(
        id="r1", name=cust.name, description=company_description(cust), sites=(marked,)
    )
    decision = reconcile(ctx(), linked(rmm, cust), SyncSettings())
    (matched,) = [e for e in decision.events if e.type == E.SITE_MATCHED]
    assert matched.data == {"rule": "strong_key", "address_id": "a7", "site_id": "s7"}
    assert not any(isinstance(c, CreateRmmSite) for c in decision.commands)


def two_renames_in_flight() -> tuple[LinkState, str, str]:
    """A link renamed in Rev.io twice; (link, first update's id, newer update's id)."""
    link, first = renamed_in_revio(SyncSettings())
    link = link.with_(customer=link.customer.model_copy(update={"name": "Acme Three"}))
    second = reconcile(ctx(), link, SyncSettings())
    link = apply(link, second.events)
    newer = second.events[0].data["command_id"]
    return link, first, newer


def test_an_older_update_applied_after_a_newer_one_is_followed_by_the_newer_values_again():
    link, first, newer = two_renames_in_flight()
    landed = {"command_id": newer, "verb": "rmm.company.update", "at": T1.isoformat()}
    link = evolve_link(link, E.COMMAND_SUCCEEDED, landed)
    assert rewrite_after_older_write(ctx(), link, newer, T1).empty  # the newest: nothing to redo
    earlier = T1 - timedelta(seconds=1)
    assert rewrite_after_older_write(ctx(), link, first, earlier).empty  # applied first: fine
    again = rewrite_after_older_write(ctx(), link, first, T1 + timedelta(seconds=1))
    (command,) = again.commands
    assert isinstance(command, UpdateRmmCompany) and command.name == "Acme Three"
    assert again.events[0].data["changes"]["name"]["rule"] == "older_write_landed_last"


def test_the_newer_updates_result_coming_back_after_an_older_one_that_landed_last_redoes_it():
    link, first, newer = two_renames_in_flight()
    older_landed = {"command_id": first, "verb": "rmm.company.update", "at": T1.isoformat()}
    link = evolve_link(link, E.COMMAND_SUCCEEDED, older_landed)
    assert rewrite_after_older_write(ctx(), link, first, T1).empty  # nothing newer landed yet
    assert rewrite_after_older_write(ctx(), link, newer, T1 + timedelta(seconds=1)).empty
    again = rewrite_after_older_write(ctx(), link, newer, T1 - timedelta(seconds=1))
    (command,) = again.commands
    assert isinstance(command, UpdateRmmCompany) and command.name == "Acme Three"
    assert again.events[0].data["changes"]["name"]["was"] != "Acme Three"


# --- RMM -> Rev.io writes carry what Rev.io held (optimistic concurrency) ---------------------


def observe_revio(link: LinkState, cust: RevioCustomer, at: datetime) -> LinkState:
    data = {
        "kind": "changed",
        "customer": cust.model_dump(mode="json"),
        "observed_at": at.isoformat(),
    }
    return evolve_link(link, E.CUSTOMER_OBSERVED, data)


def conflict_result(command_id: str) -> Result:
    cause = UpdateRevioCustomer(tenant_id="t1", customer_id="1001", name="x")
    result = Result.of(cause, ResultStatus.CONFLICT, reason="name is 'Acme Revio Edit'")
    return result.model_copy(update={"command_id": command_id})


def renamed_in_rmm() -> tuple[LinkState, UpdateRevioCustomer, dict]:
    """A pair in sync, then renamed in RMM with inbound sync on: the write to Rev.io is in
    flight (the RMM edit was observed before a person's Rev.io edit)."""
    link = in_sync_pair(INBOUND)
    link = observe_rmm(link, link.rmm.model_copy(update={"name": "Acme RMM Edit"}), T1)
    decision = reconcile(ctx(), link, INBOUND)
    (command,) = decision.commands
    assert isinstance(command, UpdateRevioCustomer)
    return apply(link, decision.events), command, decision.events[0].data


def test_a_write_to_revio_carries_the_revio_values_it_believes_it_replaces():
    _, command, _ = renamed_in_rmm()
    assert command.name == "Acme RMM Edit"
    assert command.expected == {"name": "Acme, Inc."}  # not the description: unreadable


def test_expected_in_revio_leaves_out_the_description():
    changes = {"name": {"value": "B", "was": "A"}, "description": {"value": "d", "was": None}}
    assert expected_in_revio(changes) == {"name": "A"}


def test_a_refused_stale_write_to_revio_is_undone_not_retried_and_revio_wins():
    link, _, requested = renamed_in_rmm()
    decision = inbound_update_conflicted(
        ctx(), link, conflict_result(requested["command_id"]), requested
    )
    assert decision.event_types == [E.INBOUND_CONFLICTED] and not decision.commands
    data = decision.events[0].data
    assert (data["rule"], data["fields"], data["status"]) == ("revio_wins", ["name"], "conflict")
    assert data["revio_changed_meanwhile"] is True
    link = apply(link, decision.events)
    assert link.customer.name == "Acme, Inc." and not link.pending
    assert link.revio_stale == {"company": {"name": "Acme, Inc."}}
    assert reconcile(ctx(), link, INBOUND).empty  # the RMM value is not sent again
    again = observe_rmm(link, link.rmm, T1 + timedelta(seconds=1))
    assert reconcile(ctx(), again, INBOUND).empty  # not even when RMM is observed again
    # the person's Rev.io edit is then observed: both sides changed, Rev.io wins in RMM
    edited = link.customer.model_copy(update={"name": "Acme Revio Edit"})
    after = reconcile(ctx(), observe_revio(link, edited, T1 + timedelta(seconds=5)), INBOUND)
    assert after.event_types == [E.CONFLICT_RESOLVED, E.RMM_UPDATE_REQUESTED]
    (push,) = after.commands
    assert isinstance(push, UpdateRmmCompany) and push.name == "Acme Revio Edit"


def test_a_refused_write_keeps_what_a_later_write_of_the_same_field_assumes():
    """The person's Rev.io edit was observed before the refusal: Rev.io already won (pushed
    to RMM, written again to Rev.io); the refusal must not bring back the old name."""
    link, _, requested = renamed_in_rmm()
    edited = link.customer.model_copy(update={"name": "Acme Revio Edit"})
    link = observe_revio(link, edited, T1 + timedelta(seconds=5))
    won = reconcile(ctx(), link, INBOUND)
    assert E.CONFLICT_RESOLVED in won.event_types
    link = apply(link, won.events)
    (rewrite,) = [c for c in won.commands if isinstance(c, UpdateRevioCustomer)]
    assert rewrite.name == "Acme Revio Edit" and rewrite.expected == {"name": "Acme RMM Edit"}
    refused = inbound_update_conflicted(
        ctx(), link, conflict_result(requested["command_id"]), requested
    )
    assert refused.events[0].data["stale"] == {} and refused.events[0].data["revert"] == {
        "customer": {},
        "baseline": {},
    }
    link = apply(link, refused.events)
    assert link.customer.name == "Acme Revio Edit"
    assert link.baseline["name"] == {"revio": "Acme Revio Edit", "rmm": "Acme Revio Edit"}


def test_a_run_only_quiet_waits_while_changes_wait_for_the_service():
    complete, quiet = ("t1", uuid4(), True), ("t1", uuid4(), False)
    assert to_match([complete, quiet], behind=False) == [complete, quiet]
    assert to_match([complete, quiet], behind=True) == [complete]
