"""Steps the handlers, the sync-run batch and the manual operations share: each loads what
a rule needs, calls the pure rule and records its decision in the caller's transaction."""

from typing import Any

from revsync.contracts.revio import RevioCustomer
from revsync.contracts.rmm import RmmCompany
from revsync.decision import DecisionContext
from revsync.tenancy import SyncSettings

from services.company.decide import (
    customer_party,
    decide_unmatched_customer,
    decide_unmatched_rmm_company,
    merge_suggestion,
    rmm_party,
)
from services.company.links import link_events
from services.company.matching import Candidate, match_company
from services.company.reconcile import reconcile
from services.company.state import LinkState, RmmState
from services.company.store import CompanyTx


async def link_pair(
    tx: CompanyTx,
    ctx: DecisionContext,
    link: LinkState,
    rmm: RmmState,
    rule: str,
    settings: SyncSettings,
    score: float | None = None,
    match: dict[str, Any] | None = None,
    actor: str | None = None,
    command_id: str | None = None,
    company: RmmCompany | None = None,
    customer: RevioCustomer | None = None,
) -> LinkState:
    """Link, claim the company (a concurrent claim fails on its expected version), then
    bring the pair in sync (Rev.io is authoritative at link time)."""
    company = company or rmm.company
    assert company is not None
    linked, claimed = link_events(
        ctx, link, company, rule, score, match, actor, command_id, customer
    )
    link = await tx.record_link(link, (linked,))
    await tx.record_rmm(rmm, (claimed,))
    return await tx.record_link(link, reconcile(ctx, link, settings))


async def match_customer(
    tx: CompanyTx, ctx: DecisionContext, link: LinkState, settings: SyncSettings
) -> LinkState:
    """Match one unlinked customer now (steady state), then link, suggest, create or hold
    (creation waits until a sync run of the tenant matched: both sides listed in full)."""
    party = customer_party(link)
    here = (await tx.name_counts("revio", party.key)).get(party.key, 0)
    there = (await tx.name_counts("rmm", party.key)).get(party.key, 0)
    match = match_company(party, await tx.open_rmm_parties(), here, there, link.excluded)
    if match.link is not None:
        rmm = await tx.rmm(match.link.id)
        return await link_pair(
            tx, ctx, link, rmm, match.rule, settings, match.link.score, match.inputs
        )
    listed = await tx.any_run_matched()
    decision = decide_unmatched_customer(ctx, link, match, settings, listed=listed)
    return await tx.record_link(link, decision)


async def match_rmm_company(
    tx: CompanyTx, ctx: DecisionContext, rmm: RmmState, settings: SyncSettings
) -> RmmState:
    """Match one unlinked RMM company now (steady state): link it, offer it as a suggestion
    to the customers it resembles, or create it in Rev.io / leave it unlinked (creation waits
    until a sync run of the tenant matched)."""
    customers = await tx.open_customer_parties()
    party = rmm_party(rmm)
    here = (await tx.name_counts("rmm", party.key)).get(party.key, 0)
    there = (await tx.name_counts("revio", party.key)).get(party.key, 0)
    rejected_by = [c.id for c, excluded in customers if rmm.rmm_company_id in excluded]
    candidates = [customer for customer, _ in customers]
    match = match_company(party, candidates, here, there, rejected_by)
    if match.link is not None:
        link = await tx.link(match.link.id)
        await link_pair(tx, ctx, link, rmm, match.rule, settings, match.link.score, match.inputs)
        return await tx.rmm(rmm.rmm_company_id)
    for suggestion in match.suggestions:
        offered = Candidate(rmm.rmm_company_id, party.name, suggestion.score)
        link = await tx.link(suggestion.id)
        await tx.record_link(link, merge_suggestion(ctx, link, offered, match))
    listed = await tx.any_run_matched()
    decision = decide_unmatched_rmm_company(ctx, rmm, match, settings, listed=listed)
    return await tx.record_rmm(rmm, decision)
