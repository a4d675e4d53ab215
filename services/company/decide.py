"""The company rules, as pure functions: (state, input, settings, context) -> Decision.

Read top to bottom: what a record looks like to matching (`customer_party`, `rmm_party`);
what happens to a Rev.io customer that no RMM company matches (`decide_unmatched_customer`:
suggest, create in RMM when `create_mode` is on, else hold) and to an RMM company that no
customer matches (`decide_unmatched_rmm_company`: create in Rev.io when `rmm_to_revio_sync`
is on, else leave unlinked for mapping review); linking and the manual operations; command
results. Field sync of linked pairs (Rev.io -> RMM always, RMM -> Rev.io when enabled,
Rev.io wins conflicts) is `services.company.reconcile.reconcile`, built on the table in
`services.company.fields`. Matching itself is `services.company.matching.match_company`;
link, unlink and rejection events and command outcomes are `services.company.links`.

Nothing is created on either side before a sync run of the tenant has matched (`listed`:
both sides were listed in full once; the connectors report changes as soon as a tenant is
saved, so before that "no match" may only mean "not listed yet"). Such a record is held
(`CustomerHeld` / `RmmCompanyLeftUnlinked`, rule `waiting_for_initial_sync`) and the next
run's batch matching decides it again, `listed`. Linking (strong key, exact name) does not
wait.
"""

from typing import Any
from uuid import UUID

from revsync.contracts.base import Change
from revsync.contracts.revio import CreateRevioCustomer, RevioAddress, RevioCustomer
from revsync.contracts.rmm import CreateRmmCompany
from revsync.decision import NOTHING, Decision, DecisionContext
from revsync.eventlog.model import NewEvent
from revsync.tenancy import SyncSettings

from services.company import events as E
from services.company.fields import address_values_of_site, site_values
from services.company.matching import MAX_SUGGESTIONS, Candidate, Match, Party
from services.company.naming import company_description, normalize_name, revio_ids_in
from services.company.state import LinkState, RmmState


def customer_party(link: LinkState) -> Party:
    assert link.customer is not None
    name = link.customer.name
    ref = link.customer.rmm_company_id
    return Party(link.customer_id, name, normalize_name(name), (ref,) if ref else (), link.open)


def rmm_party(rmm: RmmState) -> Party:
    """The strong key of an RMM company: the Rev.io id in its description, or any of its
    external ids (one equal to a customer's id names that customer)."""
    assert rmm.company is not None
    company = rmm.company
    refs = revio_ids_in(company.description, company.external_ids)
    return Party(company.id, company.name, normalize_name(company.name), refs, rmm.open)


def customer_active(customer: RevioCustomer, deleted: bool = False) -> bool:
    """An RMM company is active unless its Rev.io customer is closed (or deleted)."""
    return customer.status != "CLOSED" and not deleted


def observe(
    ctx: DecisionContext,
    change: Change,
    snapshot: dict[str, Any],
    last_seen: Any,
    left_for_run: UUID | None = None,
    **extra: Any,
) -> NewEvent:
    """Record what a connector reported; an observation older than the last one applied is
    recorded as `stale` and changes nothing. `left_for_run`: the sync run whose batch will
    match this unlinked record (its own, or one still listing when a poll saw it)."""
    type_ = E.CUSTOMER_OBSERVED if change.system == "revio" else E.RMM_OBSERVED
    stale = last_seen is not None and change.occurred_at < last_seen
    return ctx.event(
        type_,
        kind=change.kind,
        observed_at=change.occurred_at.isoformat(),
        sync_run_id=str(change.sync_run_id) if change.sync_run_id else None,
        total=change.total,
        stale=stale,
        left_for_run=str(left_for_run) if left_for_run and not stale else None,
        **snapshot,
        **extra,
    )


# --- a Rev.io customer no RMM company matches ---------------------------------------------


WAITING = "waiting_for_initial_sync"


def should_create_rmm_company(
    link: LinkState, settings: SyncSettings, *, listed: bool
) -> tuple[bool, str]:
    """Create mode makes a new unmatched customer an RMM company, once RMM was listed in
    full (`listed`: a sync run of the tenant matched; before that its company may exist
    and simply not have been seen yet); a customer a person decided about, or whose
    creation failed, is never created automatically."""
    if link.customer is None or link.customer_deleted:
        return False, "customer_deleted"
    if link.decided_by is not None:
        return False, "decided_by_person"
    if link.state == "held" and link.rule == "rmm_company_creation_failed":
        return False, "rmm_company_creation_failed"
    if not settings.create_mode:
        return False, "create_mode_off"
    if not listed:
        return False, WAITING
    return True, "create_mode_on"


def request_rmm_company(ctx: DecisionContext, link: LinkState, rule: str) -> Decision:
    customer = link.customer
    assert customer is not None
    command = CreateRmmCompany(
        **ctx.envelope(),
        revio_customer_id=customer.id,
        name=customer.name,
        active=customer_active(customer),
        description=company_description(customer),
    )
    event = ctx.event(
        E.RMM_CREATE_REQUESTED,
        rule=rule,
        command_id=str(command.message_id),
        revio_customer_id=customer.id,
        name=command.name,
        active=command.active,
        description=command.description,
        sync_run_id=link.sync_run_id,
    )
    return Decision((event,), (command,))


def suggest(ctx: DecisionContext, link: LinkState, match: Match) -> Decision:
    candidates = tuple(c.as_data() for c in match.suggestions)
    if link.state == "suggested" and candidates == link.candidates:
        return NOTHING
    event = ctx.event(
        E.SUGGESTED,
        rule=match.rule,
        revio_customer_id=link.customer_id,
        candidates=list(candidates),
        match=match.inputs,
        sync_run_id=link.sync_run_id,
    )
    return Decision((event,))


def decide_unmatched_customer(
    ctx: DecisionContext, link: LinkState, match: Match, settings: SyncSettings, *, listed: bool
) -> Decision:
    """No confident match: suggestions for a person, else create (create mode, once both
    sides were `listed`), else hold (until the first sync run, `waiting_for_initial_sync`)."""
    if match.suggestions:
        return suggest(ctx, link, match)
    create, rule = should_create_rmm_company(link, settings, listed=listed)
    if create:
        return request_rmm_company(ctx, link, rule)
    if rule in ("decided_by_person", "customer_deleted"):
        return NOTHING  # a person's unlink or rejection stands; nothing to hold
    if link.state == "held" and link.rule == rule:
        return NOTHING
    assert link.customer is not None
    event = ctx.event(
        E.HELD,
        rule=rule,
        revio_customer_id=link.customer_id,
        name=link.customer.name,
        normalized_name=normalize_name(link.customer.name),
        create_mode=settings.create_mode,
        listed=listed,
        match=match.inputs,
        sync_run_id=link.sync_run_id,
    )
    return Decision((event,))


def merge_suggestion(
    ctx: DecisionContext, link: LinkState, candidate: Candidate, match: Match
) -> Decision:
    """An RMM company that appeared looks like this customer: add it to its suggestions
    (never one a person rejected for it)."""
    if not link.open or candidate.id in link.excluded:
        return NOTHING
    if any(c["id"] == candidate.id for c in link.candidates):
        return NOTHING
    merged = sorted([*link.candidates, candidate.as_data()], key=lambda c: (-c["score"], c["id"]))
    if candidate.as_data() not in merged[:MAX_SUGGESTIONS]:
        return NOTHING
    suggestions = tuple(Candidate(c["id"], c["name"], c["score"]) for c in merged)
    return suggest(
        ctx, link, Match(match.rule, suggestions=suggestions[:MAX_SUGGESTIONS], inputs=match.inputs)
    )


# --- an RMM company no Rev.io customer matches ----------------------------------------------


def should_create_revio_customer(
    rmm: RmmState, settings: SyncSettings, *, listed: bool
) -> tuple[bool, str]:
    """With inbound sync on, a new unmatched RMM company becomes a Rev.io customer with the
    configured bill profile and identity, once Rev.io was listed in full (`listed`); off,
    it stays unlinked for mapping review."""
    if rmm.company is None or rmm.deleted:
        return False, "rmm_company_deleted"
    if rmm.decided_by is not None:
        return False, "decided_by_person"
    if rmm.rule == "revio_customer_creation_failed":
        return False, "revio_customer_creation_failed"
    if not settings.rmm_to_revio_sync:
        return False, "rmm_to_revio_sync_off"
    if not (settings.bill_profile and settings.customer_identity):
        return False, "bill_profile_or_identity_missing"
    if not listed:
        return False, WAITING
    return True, "rmm_to_revio_sync_on"


def request_revio_customer(
    ctx: DecisionContext, rmm: RmmState, settings: SyncSettings, rule: str
) -> Decision:
    company = rmm.company
    assert company is not None and settings.bill_profile and settings.customer_identity
    site = company.sites[0] if company.sites else None
    address = None
    if site is not None:  # id "": a new address, Rev.io gives it its id
        address = RevioAddress(
            id="", company_name=company.name, **address_values_of_site(site_values(site))
        )
    command = CreateRevioCustomer(
        **ctx.envelope(),
        rmm_company_id=company.id,
        name=company.name,
        bill_profile_id=settings.bill_profile,
        customer_class=settings.customer_identity,
        address=address,
    )
    event = ctx.event(
        E.REVIO_CREATE_REQUESTED,
        rule=rule,
        command_id=str(command.message_id),
        rmm_company_id=company.id,
        name=company.name,
        bill_profile_id=command.bill_profile_id,
        customer_class=command.customer_class,
        address=address.model_dump(mode="json") if address else None,
        sync_run_id=rmm.sync_run_id,
    )
    return Decision((event,), (command,))


def decide_unmatched_rmm_company(
    ctx: DecisionContext,
    rmm: RmmState,
    match: Match,
    settings: SyncSettings,
    suggested_to_customers: bool = False,
    *,
    listed: bool,
) -> Decision:
    """No confident match: if it is a suggestion for some customer it waits for a person;
    else create it in Rev.io (inbound sync on, once both sides were `listed`) or leave it
    unlinked (until the first sync run, `waiting_for_initial_sync`)."""
    if match.suggestions or suggested_to_customers:
        rule = "suggested_for_review"
    else:
        create, rule = should_create_revio_customer(rmm, settings, listed=listed)
        if create:
            return request_revio_customer(ctx, rmm, settings, rule)
        if rule in ("decided_by_person", "rmm_company_deleted"):
            return NOTHING
    candidates = tuple(c.as_data() for c in match.suggestions)
    if rmm.rule == rule and rmm.candidates == candidates:
        return NOTHING
    assert rmm.company is not None
    event = ctx.event(
        E.LEFT_UNLINKED,
        rule=rule,
        rmm_company_id=rmm.rmm_company_id,
        name=rmm.company.name,
        normalized_name=normalize_name(rmm.company.name),
        candidates=list(candidates),
        rmm_to_revio_sync=settings.rmm_to_revio_sync,
        listed=listed,
        match=match.inputs,
        sync_run_id=rmm.sync_run_id,
    )
    return Decision((event,))
