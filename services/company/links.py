"""Link changes and command outcomes as events (pure): linking (with the claim on the
company's stream that keeps one company to one customer), a person's unlink and rejection,
and what a creation or update result records (including an older update that the vendor
applied after a newer one: the newer values are sent again)."""

from datetime import datetime
from typing import Any

from revsync.contracts.base import Command, Result
from revsync.contracts.revio import RevioCustomer, UpdateRevioCustomer
from revsync.contracts.rmm import RmmCompany, UpdateRmmCompany, UpdateRmmSite
from revsync.decision import NOTHING, Decision, DecisionContext
from revsync.eventlog.model import NewEvent

from services.company import events as E
from services.company.fields import expected_in_revio
from services.company.naming import normalize_name
from services.company.state import LinkState, RmmState
from services.company.writes import as_time, writes_to

# --- links -------------------------------------------------------------------------------


def link_events(
    ctx: DecisionContext,
    link: LinkState,
    company: RmmCompany,
    rule: str,
    score: float | None = None,
    match: dict[str, Any] | None = None,
    actor: str | None = None,
    command_id: str | None = None,
    customer: RevioCustomer | None = None,
) -> tuple[NewEvent, NewEvent]:
    """`CustomerLinked` (on the customer's stream) and `RmmCompanyClaimed` (on the
    company's stream: the claim is what keeps a company linked to one customer only)."""
    known = customer or link.customer
    revio_name = known.name if known else None
    linked = ctx.event(
        E.LINKED,
        rule=rule,
        revio_customer_id=link.customer_id,
        rmm_company_id=company.id,
        revio_name=revio_name,
        rmm_name=company.name,
        score=score,
        match=match or {},
        sync_run_id=link.sync_run_id,
        company=company.model_dump(mode="json"),
        customer=customer.model_dump(mode="json") if customer else None,
        actor=actor,
        command_id=command_id,
    )
    claimed = ctx.event(E.CLAIMED, rule=rule, revio_customer_id=link.customer_id, actor=actor)
    return linked, claimed


def unlink_events(ctx: DecisionContext, link: LinkState, actor: str) -> tuple[NewEvent, NewEvent]:
    assert link.rmm_company_id is not None
    rule = "unlinked_by_person"
    unlinked = ctx.event(E.UNLINKED, rule=rule, rmm_company_id=link.rmm_company_id, actor=actor)
    company = link.rmm.model_dump(mode="json") if link.rmm else None
    released = ctx.event(
        E.RELEASED,
        rule=rule,
        revio_customer_id=link.customer_id,
        company=company,
        deleted=link.rmm_deleted,  # seen deleted while linked: it stays out of matching
        actor=actor,
    )
    return unlinked, released


def reject_event(
    ctx: DecisionContext, link: LinkState, rmm_company_id: str, actor: str
) -> NewEvent:
    remaining = [c for c in link.candidates if c["id"] != rmm_company_id]
    return ctx.event(
        E.REJECTED,
        rule="rejected_by_person",
        rmm_company_id=rmm_company_id,
        remaining=remaining,
        actor=actor,
    )


# --- command results -----------------------------------------------------------------------


def created_company(link: LinkState, result: Result) -> RmmCompany:
    """The RMM company revsync created, as it asked for it (until the connector reports it)."""
    asked = link.pending[str(result.command_id)]
    return RmmCompany(
        id=result.external_ids["company_id"],
        name=asked["name"],
        active=asked["active"],
        description=asked["description"],
    )


def created_customer(rmm: RmmState, result: Result) -> RevioCustomer:
    """The Rev.io customer revsync created, as it asked for it; its addresses are known once
    the Rev.io connector reports it."""
    asked = rmm.pending[str(result.command_id)]["request"]
    return RevioCustomer(
        id=result.external_ids["customer_id"],
        name=asked["name"],
        customer_class=asked["customer_class"],
        bill_profile_id=asked["bill_profile_id"],
        rmm_company_id=rmm.rmm_company_id,
    )


def rmm_company_creation_failed(ctx: DecisionContext, link: LinkState, result: Result) -> Decision:
    failed = ctx.event(
        E.RMM_CREATE_FAILED,
        command_id=str(result.command_id),
        status=result.status.value,
        reason=result.reason,
    )
    if link.state != "creating":
        return Decision((failed,))
    assert link.customer is not None
    held = ctx.event(
        E.HELD,
        rule="rmm_company_creation_failed",
        revio_customer_id=link.customer_id,
        name=link.customer.name,
        normalized_name=normalize_name(link.customer.name),
        create_mode=True,
        match={"status": result.status.value, "reason": result.reason},
        sync_run_id=link.sync_run_id,
    )
    return Decision((failed, held))


def command_failed(
    ctx: DecisionContext, result: Result, verb: str, request: dict[str, Any] | None
) -> Decision:
    """An update or site creation was refused: undo what revsync assumed it changed, so the
    next observation of the pair decides again."""
    event = ctx.event(
        E.COMMAND_FAILED,
        command_id=str(result.command_id),
        verb=verb,
        status=result.status.value,
        reason=result.reason,
        revert=(request or {}).get("revert") or {},
    )
    return Decision((event,))


def inbound_update_conflicted(
    ctx: DecisionContext, link: LinkState, result: Result, request: dict[str, Any] | None
) -> Decision:
    """Rev.io refused revsync's write (`conflict`): a person changed those fields since
    revsync last read them. Rev.io wins: the write is not retried; what revsync assumed it
    changed is undone (save what a later write of the same fields assumes), so the Rev.io
    change, once observed, is pushed to RMM (both sides changed: `conflict_revio_wins`).
    Until Rev.io is observed again, the values it was found not to hold (`stale`) are not
    taken for its own: the RMM value is not sent again (`still_refused`)."""
    command_id = str(result.command_id)
    entry = link.pending.get(command_id) or {}
    undo: dict[str, Any] = dict((request or {}).get("revert") or {})
    later: set[str] = set()
    for _, other in writes_to(link, entry.get("side", ""), entry.get("target", "")):
        if other["seq"] > entry.get("seq", 0):
            later |= set(other["changes"])
    target = entry.get("target", "company")
    refused = expected_in_revio((request or {}).get("changes") or {})
    if later and target != "company":
        undo, refused = {}, {}  # a later write to that address assumes all of it
    elif later:
        undo = {
            part: {f: v for f, v in (values or {}).items() if f not in later}
            for part, values in undo.items()
        }
        refused = {f: v for f, v in refused.items() if f not in later}
    event = ctx.event(
        E.INBOUND_CONFLICTED,
        rule="revio_wins",
        command_id=command_id,
        verb=entry.get("verb", "revio.customer.update"),
        fields=sorted(entry.get("changes") or {}),
        revio_changed_meanwhile=True,
        status=result.status.value,
        reason=result.reason,
        revert=undo,
        stale={target: refused} if refused else {},
    )
    return Decision((event,))


def rewrite_after_older_write(
    ctx: DecisionContext, link: LinkState, command_id: str, landed_at: datetime
) -> Decision:
    """Two updates of the same fields, and the older one was applied last (by their results'
    times, `landed_at` being this one's): that side now holds the older values, so send the
    newer ones again. Either result may come back first: this one is the older (a newer one
    landed before it) or the newer (an older one landed after it)."""
    entry = link.pending.get(command_id)
    if entry is None or "side" not in entry:
        return NOTHING
    newer: dict[str, Any] = {}
    was: dict[str, Any] = {}
    where: dict[str, Any]
    for _, other in writes_to(link, entry["side"], entry["target"]):
        other_at = as_time(other["landed_at"]) if other.get("landed_at") else None
        if other_at is None or other["seq"] == entry["seq"]:
            continue
        shared = [f for f in other["changes"] if f in entry["changes"]]
        if other["seq"] > entry["seq"] and other_at < landed_at:  # this older one landed last
            newer.update({f: other["changes"][f]["value"] for f in shared})
            was.update({f: entry["changes"][f]["value"] for f in shared})
        elif other["seq"] < entry["seq"] and other_at > landed_at:  # an older one landed last
            newer.update({f: entry["changes"][f]["value"] for f in shared})
            was.update({f: other["changes"][f]["value"] for f in shared})
    if not newer:
        return NOTHING
    rule = "older_write_landed_last"
    changes = {f: {"value": v, "was": was[f], "rule": rule} for f, v in newer.items()}
    side, target = entry["side"], entry["target"]
    if side == "rmm" and target == "company" and link.rmm_company_id:
        command: Command = UpdateRmmCompany(
            **ctx.envelope(), company_id=link.rmm_company_id, **newer
        )
        type_, where = E.RMM_UPDATE_REQUESTED, {"rmm_company_id": link.rmm_company_id}
    elif side == "rmm" and link.rmm is not None:
        site = next((s for s in link.rmm.sites if s.id == target), None)
        if site is None:
            return NOTHING
        command = UpdateRmmSite(**ctx.envelope(), site=site.model_copy(update=newer))
        type_, where = (
            E.SITE_UPDATE_REQUESTED,
            {"rmm_company_id": link.rmm_company_id, "site_id": target},
        )
    elif side == "revio" and target == "company":
        command = UpdateRevioCustomer(
            **ctx.envelope(),
            customer_id=link.customer_id,
            **newer,
            expected=expected_in_revio(changes),
        )
        type_, where = E.REVIO_UPDATE_REQUESTED, {"customer_id": link.customer_id, "rule": rule}
    else:
        address = next(
            (a for a in (link.customer.addresses if link.customer else ()) if a.id == target), None
        )
        if address is None:
            return NOTHING
        command = UpdateRevioCustomer(
            **ctx.envelope(),
            customer_id=link.customer_id,
            address=address.model_copy(update=newer),
            expected=expected_in_revio(changes),
        )
        type_ = E.REVIO_UPDATE_REQUESTED
        where = {"customer_id": link.customer_id, "address_id": target, "rule": rule}
    event = ctx.event(
        type_, command_id=str(command.message_id), changes=changes, baseline={}, revert={}, **where
    )
    return Decision((event,), (command,))
