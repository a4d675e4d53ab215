"""Field sync of a linked customer and company (pure): the rules of `fields.sync_field`
applied to name and description (both may flow back when `rmm_to_revio_sync` is on), active
status (Rev.io -> RMM only) and one RMM site per Rev.io address (address fields may flow
back; a missing site is matched to an existing one or created; nothing is ever deleted).

What revsync writes is folded into the state at once (the connectors do not report the echo
of their own writes) and stays "in flight" until an observation taken after it landed: an
observation still showing the replaced value counts the write as done, one showing a third
value is a concurrent edit, i.e. a conflict, which Rev.io wins. A failed write is undone
(`revert`), so the next observation decides again.
"""

from typing import Any

from revsync.contracts.revio import RevioAddress, UpdateRevioCustomer
from revsync.contracts.rmm import CreateRmmSite, RmmSite, UpdateRmmCompany, UpdateRmmSite
from revsync.decision import NOTHING, Decision, DecisionContext
from revsync.tenancy import SyncSettings

from services.company import events as E
from services.company.decide import customer_active
from services.company.fields import (
    SITE_FIELD_OF_ADDRESS,
    Seen,
    address_values_of_site,
    expected_in_revio,
    find_site,
    site_name,
    site_values,
    site_values_of_address,
    sync_field,
    through_write,
    through_writes,
)
from services.company.naming import company_description
from services.company.state import LinkState
from services.company.writes import still_refused, writes_in_flight

Changes = dict[str, dict[str, Any]]  # field -> {value, was, rule}


def _conflict(
    ctx: DecisionContext, field: str, revio: Any, rmm: Any, base: Any, edited_while: str | None
) -> Decision:
    event = ctx.event(
        E.CONFLICT_RESOLVED,
        rule="revio_wins",
        field=field,
        revio_value=revio,
        rmm_value=rmm,
        last_synced=base,
        edited_while=edited_while,
    )
    return Decision((event,))


def _edited_while(rmm: Seen, revio: Seen) -> str | None:
    if rmm.concurrent_edit:
        return "rmm_write_in_flight"
    return "revio_write_in_flight" if revio.concurrent_edit else None


def _update_company(
    ctx: DecisionContext, link: LinkState, to_rmm: Changes, baseline: dict
) -> Decision:
    assert link.rmm_company_id is not None
    command = UpdateRmmCompany(
        **ctx.envelope(),
        company_id=link.rmm_company_id,
        **{field: change["value"] for field, change in to_rmm.items()},
    )
    revert = {
        "rmm": {field: change["was"] for field, change in to_rmm.items()},
        "baseline": {field: link.baseline.get(field) for field in baseline},
    }
    event = ctx.event(
        E.RMM_UPDATE_REQUESTED,
        command_id=str(command.message_id),
        rmm_company_id=link.rmm_company_id,
        changes=to_rmm,
        baseline=baseline,
        revert=revert,
    )
    return Decision((event,), (command,))


def _update_customer(
    ctx: DecisionContext, link: LinkState, to_revio: Changes, baseline: dict
) -> Decision:
    command = UpdateRevioCustomer(
        **ctx.envelope(),
        customer_id=link.customer_id,
        **{field: change["value"] for field, change in to_revio.items()},
        expected=expected_in_revio(to_revio),
    )
    revert = {
        "customer": {f: c["was"] for f, c in to_revio.items() if f == "name"},
        "baseline": {field: link.baseline.get(field) for field in baseline},
    }
    event = ctx.event(
        E.REVIO_UPDATE_REQUESTED,
        rule=next(iter(to_revio.values()))["rule"],
        command_id=str(command.message_id),
        customer_id=link.customer_id,
        changes=to_revio,
        baseline=baseline,
        revert=revert,
    )
    return Decision((event,), (command,))


def _company_fields(ctx: DecisionContext, link: LinkState, inbound: bool) -> Decision:
    customer, rmm = link.customer, link.rmm
    assert customer is not None and rmm is not None
    rmm_writes = writes_in_flight(link, "rmm", "company")
    revio_writes = writes_in_flight(link, "revio", "company")
    decision = NOTHING
    to_rmm: Changes = {}
    to_revio: Changes = {}
    base_rmm: dict[str, Any] = {}
    base_revio: dict[str, Any] = {}
    agreed: dict[str, Any] = {}
    # (field, Rev.io side, RMM side, whether Rev.io shows what revsync writes back to it)
    pairs = (
        ("name", customer.name, rmm.name, True),
        ("description", company_description(customer), rmm.description, False),
    )
    for field, revio_value, rmm_value, readable in pairs:
        rmm_seen = through_write(rmm_value, rmm_writes.get(field))
        revio_seen = (
            through_write(revio_value, revio_writes.get(field)) if readable else Seen(revio_value)
        )
        base = link.baseline.get(field)
        edited_while = _edited_while(rmm_seen, revio_seen)
        if edited_while:  # edited on one side while revsync wrote to it: Rev.io wins
            decision += _conflict(ctx, field, revio_value, rmm_value, base, edited_while)
            to_rmm[field] = {"value": revio_value, "was": rmm_value, "rule": "conflict_revio_wins"}
            base_rmm[field] = {"revio": revio_value, "rmm": revio_value}
            if revio_seen.concurrent_edit:  # our write would overwrite it: write it again
                was = revio_writes[field]["value"]
                to_revio[field] = {"value": revio_value, "was": was, "rule": "conflict_revio_wins"}
                base_revio[field] = base_rmm[field]
            continue
        revio_now, rmm_now = revio_seen.value, rmm_seen.value
        outcome = sync_field(revio_now, rmm_now, base, inbound)
        if outcome.conflict:
            decision += _conflict(ctx, field, revio_now, rmm_now, base, None)
        if outcome.action == "push_rmm":
            to_rmm[field] = {"value": revio_now, "was": rmm_now, "rule": outcome.rule}
            base_rmm[field] = {"revio": revio_now, "rmm": revio_now}
        elif outcome.action == "push_revio" and still_refused(link, "company", {field: revio_now}):
            continue  # Rev.io changed it meanwhile: its change, once observed, wins
        elif outcome.action == "push_revio":
            was = revio_now if readable else None
            to_revio[field] = {"value": rmm_now, "was": was, "rule": outcome.rule}
            base_revio[field] = {"revio": rmm_now if readable else revio_now, "rmm": rmm_now}
        elif outcome.action == "baseline":
            agreed[field] = {"revio": revio_now, "rmm": rmm_now}
    active = customer_active(customer, link.customer_deleted)
    rmm_active = through_write(rmm.active, rmm_writes.get("active")).value
    if rmm_active != active:
        rule = "customer_deleted" if link.customer_deleted else "revio_status"
        to_rmm["active"] = {"value": active, "was": rmm.active, "rule": rule}
    if to_rmm:
        decision += _update_company(ctx, link, to_rmm, base_rmm)
    if to_revio:
        decision += _update_customer(ctx, link, to_revio, base_revio)
    if agreed:
        event = ctx.event(E.BASELINE_UPDATED, rule="both_sides_agree", baseline=agreed)
        decision += Decision((event,))
    return decision


def _create_site(ctx: DecisionContext, company_id: str, address: RevioAddress) -> Decision:
    values = site_values_of_address(address)
    site = RmmSite(id="", company_id=company_id, name=site_name(address), **values)
    command = CreateRmmSite(
        **ctx.envelope(), company_id=company_id, revio_address_id=address.id, site=site
    )
    event = ctx.event(
        E.SITE_CREATE_REQUESTED,
        rule="revio_address_without_site",
        command_id=str(command.message_id),
        rmm_company_id=company_id,
        address_id=address.id,
        site=site.model_dump(mode="json"),
    )
    return Decision((event,), (command,))


def _update_site(
    ctx: DecisionContext, link: LinkState, address: RevioAddress, site: RmmSite, rule: str
) -> Decision:
    key = f"site:{address.id}"
    wanted, current = site_values_of_address(address), site_values(site)
    command = UpdateRmmSite(**ctx.envelope(), site=site.model_copy(update=wanted))
    changes = {
        f: {"value": v, "was": current[f], "rule": rule}
        for f, v in wanted.items()
        if v != current[f]
    }
    event = ctx.event(
        E.SITE_UPDATE_REQUESTED,
        command_id=str(command.message_id),
        rmm_company_id=link.rmm_company_id,
        address_id=address.id,
        site_id=site.id,
        changes=changes,
        baseline={key: {"revio": wanted, "rmm": wanted}},
        revert={
            "rmm_sites": {site.id: site.model_dump(mode="json")},
            "baseline": {key: link.baseline.get(key)},
        },
    )
    return Decision((event,), (command,))


def _update_address(
    ctx: DecisionContext, link: LinkState, address: RevioAddress, values: dict[str, Any], rule: str
) -> Decision:
    """Write site values (`values`, site field names) into the Rev.io address."""
    key = f"site:{address.id}"
    new = address_values_of_site(values)
    old = address_values_of_site(site_values_of_address(address))
    changes = {f: {"value": v, "was": old[f], "rule": rule} for f, v in new.items() if v != old[f]}
    command = UpdateRevioCustomer(
        **ctx.envelope(),
        customer_id=link.customer_id,
        address=address.model_copy(update=new),
        expected=expected_in_revio(changes),
    )
    event = ctx.event(
        E.REVIO_UPDATE_REQUESTED,
        rule=rule,
        command_id=str(command.message_id),
        customer_id=link.customer_id,
        address_id=address.id,
        changes=changes,
        baseline={key: {"revio": values, "rmm": values}},
        revert={
            "addresses": {address.id: address.model_dump(mode="json")},
            "baseline": {key: link.baseline.get(key)},
        },
    )
    return Decision((event,), (command,))


def _sync_site(
    ctx: DecisionContext, link: LinkState, address: RevioAddress, site: RmmSite, inbound: bool
) -> Decision:
    key = f"site:{address.id}"
    revio_value, rmm_value = site_values_of_address(address), site_values(site)
    rmm_seen = through_writes(rmm_value, writes_in_flight(link, "rmm", site.id))
    revio_writes = {
        SITE_FIELD_OF_ADDRESS[f]: w for f, w in writes_in_flight(link, "revio", address.id).items()
    }
    revio_seen = through_writes(revio_value, revio_writes)
    base = link.baseline.get(key)
    edited_while = _edited_while(rmm_seen, revio_seen)
    if edited_while:
        decision = _conflict(ctx, key, revio_value, rmm_value, base, edited_while)
        decision += _update_site(ctx, link, address, site, "conflict_revio_wins")
        if revio_seen.concurrent_edit:
            decision += _update_address(ctx, link, address, revio_value, "conflict_revio_wins")
        return decision
    outcome = sync_field(revio_seen.value, rmm_seen.value, base, inbound)
    decision = NOTHING
    if outcome.conflict:
        decision += _conflict(ctx, key, revio_seen.value, rmm_seen.value, base, None)
    if outcome.action == "push_rmm":
        return decision + _update_site(ctx, link, address, site, outcome.rule or "")
    if outcome.action == "push_revio":
        if still_refused(link, address.id, address_values_of_site(revio_seen.value)):
            return decision  # Rev.io changed it meanwhile: its change, once observed, wins
        return decision + _update_address(ctx, link, address, rmm_seen.value, outcome.rule or "")
    if outcome.action == "baseline":
        agreed = {key: {"revio": revio_seen.value, "rmm": rmm_seen.value}}
        return decision + Decision(
            (ctx.event(E.BASELINE_UPDATED, rule="both_sides_agree", baseline=agreed),)
        )
    return decision


def _sites(ctx: DecisionContext, link: LinkState, inbound: bool) -> Decision:
    customer, rmm = link.customer, link.rmm
    assert customer is not None and rmm is not None and link.rmm_company_id is not None
    decision = NOTHING
    sites = dict(link.sites)
    creating = {
        p.get("address_id") for p in link.pending.values() if p["verb"] == "rmm.site.create"
    }
    for address in [] if link.customer_deleted else customer.addresses:
        site_id = sites.get(address.id)
        if site_id is None:
            if address.id in creating:
                continue
            unmapped = [s for s in rmm.sites if s.id not in set(sites.values())]
            found = find_site(address, unmapped)
            if found is None:
                decision += _create_site(ctx, link.rmm_company_id, address)
                continue
            site, rule = found
            site_id = sites[address.id] = site.id
            event = ctx.event(E.SITE_MATCHED, rule=rule, address_id=address.id, site_id=site.id)
            decision += Decision((event,))
        reported = next((s for s in rmm.sites if s.id == site_id), None)
        if reported is not None:  # else not reported by the connector yet
            decision += _sync_site(ctx, link.with_(sites=sites), address, reported, inbound)
    return decision


def reconcile(ctx: DecisionContext, link: LinkState, settings: SyncSettings) -> Decision:
    """Bring a linked pair in sync; NOTHING when it is (or cannot be: not linked, a side
    not known yet, or the RMM company deleted)."""
    if link.state != "linked" or link.customer is None or link.rmm is None or link.rmm_deleted:
        return NOTHING
    inbound = settings.rmm_to_revio_sync
    return _company_fields(ctx, link, inbound) + _sites(ctx, link, inbound)
