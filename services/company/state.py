"""The company service's state: folds of its own streams (pure).

`LinkState` is the fold of `company-link:<revio_customer_id>`: the link, both sides as last
observed (with what revsync itself pushed applied on top), the last synced value of every
field (`baseline`, for conflict detection), the site map and the creations in flight.
`RmmState` is the fold of `rmm-company:<id>`: an RMM company while it is not linked.

revsync's own writes (applied at once, in flight until seen, undone on failure) are
`writes.py`. The projections keep each stream's folded state in its row (`folded`, with the
version), so a handler loads one row instead of replaying the stream; `fold_link(events)`
over the stream gives exactly the same state (tested).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from revsync.contracts.base import copy_with
from revsync.contracts.revio import RevioCustomer
from revsync.contracts.rmm import RmmCompany, RmmSite
from revsync.eventlog.model import RecordedEvent

from services.company import events as E
from services.company.writes import (
    as_time,
    pushed_to_revio,
    pushed_to_rmm,
    revert,
    settled,
    write_entry,
)

LinkStatus = Literal["unlinked", "held", "suggested", "creating", "linked", "rejected"]
RmmStatus = Literal["unlinked", "creating_customer", "linked"]
OPEN_LINK_STATES = ("unlinked", "held", "suggested", "rejected")
Baseline = dict[str, Any]  # {"revio": value, "rmm": value} as last synced


class State(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = 0
    rule: str | None = None
    decided_by: str | None = None  # the person behind the last manual decision
    candidates: tuple[dict[str, Any], ...] = ()  # [{id, name, score}] best first
    pending: dict[str, dict[str, Any]] = {}  # command id -> creation in flight
    sync_run_id: str | None = None
    observed_at: datetime | None = None

    def with_(self, **changes: Any) -> Any:
        return copy_with(self, changes)


class LinkState(State):
    customer_id: str
    state: LinkStatus = "unlinked"
    rmm_company_id: str | None = None
    score: float | None = None
    excluded: tuple[str, ...] = ()  # RMM companies a person rejected or unlinked
    customer: RevioCustomer | None = None
    customer_deleted: bool = False
    rmm: RmmCompany | None = None
    rmm_deleted: bool = False
    rmm_observed_at: datetime | None = None
    baseline: dict[str, Baseline] = {}
    writes: int = 0  # revsync's writes so far (orders the ones in flight)
    sites: dict[str, str] = {}  # Rev.io address id -> RMM site id
    # target ("company" or an address id) -> {field: value} Rev.io refused a write for no
    # longer holding, until Rev.io is observed again (see `writes.still_refused`)
    revio_stale: dict[str, dict[str, Any]] = {}

    @property
    def open(self) -> bool:
        """May be linked by matching."""
        return self.state in OPEN_LINK_STATES and not self.customer_deleted


class RmmState(State):
    rmm_company_id: str
    state: RmmStatus = "unlinked"
    revio_customer_id: str | None = None
    company: RmmCompany | None = None
    deleted: bool = False

    @property
    def open(self) -> bool:
        return self.state == "unlinked" and not self.deleted and self.company is not None


def _without(pending: dict[str, dict[str, Any]], command_id: str | None) -> dict[str, Any]:
    return {k: v for k, v in pending.items() if k != command_id}


def _observed(state: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The sync run that decides the record: the one that listed it, or the one a poll's
    observation left it to (`left_for_run`; not counted as seen by that run)."""
    run = data.get("sync_run_id") or data.get("left_for_run")
    return {"sync_run_id": run or state.sync_run_id}


def evolve_link(link: LinkState, type_: str, data: dict[str, Any]) -> LinkState:
    """The link after one of its events (unknown event types change nothing)."""
    command_id = str(data.get("command_id"))
    if type_ == E.CUSTOMER_OBSERVED:
        if data.get("stale"):
            return link
        customer = RevioCustomer.model_validate(data["customer"])
        observed_at = as_time(data["observed_at"])
        return link.with_(
            customer=customer,
            customer_deleted=data["kind"] == "deleted",
            observed_at=observed_at,
            pending=settled(link.pending, "revio", observed_at),
            revio_stale={},
            **_observed(link, data),
        )
    if type_ == E.RMM_OBSERVED:
        if data.get("stale"):
            return link
        observed_at = as_time(data["observed_at"])
        return link.with_(
            rmm=RmmCompany.model_validate(data["company"]),
            rmm_deleted=data["kind"] == "deleted",
            rmm_observed_at=observed_at,
            pending=settled(link.pending, "rmm", observed_at),
            **_observed(link, data),
        )
    if type_ == E.LINKED:
        same = link.rmm is not None and link.rmm.id == data["rmm_company_id"]
        company = data.get("company")
        rmm = RmmCompany.model_validate(company) if company else (link.rmm if same else None)
        customer_data = data.get("customer")
        return link.with_(
            state="linked",
            rule=data["rule"],
            decided_by=data.get("actor"),
            rmm_company_id=data["rmm_company_id"],
            score=data.get("score"),
            candidates=(),
            rmm=rmm,
            customer=(
                RevioCustomer.model_validate(customer_data) if customer_data else link.customer
            ),
            baseline={} if not same else link.baseline,
            sites={} if not same else link.sites,
            pending=_without(link.pending, command_id),
            sync_run_id=data.get("sync_run_id") or link.sync_run_id,
        )
    if type_ == E.SUGGESTED:
        candidates = tuple(data["candidates"])
        return link.with_(
            state="suggested",
            rule=data["rule"],
            candidates=candidates,
            rmm_company_id=candidates[0]["id"],
            score=candidates[0]["score"],
            sync_run_id=data.get("sync_run_id") or link.sync_run_id,
        )
    if type_ == E.HELD:
        return link.with_(
            state="held",
            rule=data["rule"],
            candidates=(),
            rmm_company_id=None,
            score=None,
            sync_run_id=data.get("sync_run_id") or link.sync_run_id,
        )
    if type_ == E.RMM_CREATE_REQUESTED:
        pending = {
            **link.pending,
            command_id: {
                "verb": E.REQUESTS[type_],
                "name": data["name"],
                "active": data["active"],
                "description": data["description"],
            },
        }
        return link.with_(state="creating", rule=data["rule"], candidates=(), pending=pending)
    if type_ in (E.RMM_CREATED, E.RMM_CREATE_FAILED):
        return link.with_(pending=_without(link.pending, command_id))
    if type_ == E.REJECTED:
        remaining = tuple(c for c in link.candidates if c["id"] != data["rmm_company_id"])
        best = remaining[0] if remaining else None
        return link.with_(
            state="suggested" if best else "rejected",
            rule=data["rule"],
            decided_by=data.get("actor"),
            candidates=remaining,
            rmm_company_id=best["id"] if best else None,
            score=best["score"] if best else None,
            excluded=(*link.excluded, data["rmm_company_id"]),
        )
    if type_ == E.UNLINKED:
        return link.with_(
            state="unlinked",
            rule=data["rule"],
            decided_by=data.get("actor"),
            rmm_company_id=None,
            score=None,
            rmm=None,
            rmm_deleted=False,
            baseline={},
            sites={},
            excluded=(*link.excluded, data["rmm_company_id"]),
        )
    if type_ in (E.RMM_UPDATE_REQUESTED, E.SITE_UPDATE_REQUESTED, E.REVIO_UPDATE_REQUESTED):
        pushed = pushed_to_revio if type_ == E.REVIO_UPDATE_REQUESTED else pushed_to_rmm
        return link.with_(
            **pushed(link, data),
            baseline={**link.baseline, **data["baseline"]},
            pending={**link.pending, command_id: write_entry(type_, data, link.writes + 1)},
            writes=link.writes + 1,
        )
    if type_ == E.COMMAND_SUCCEEDED:
        entry = link.pending.get(command_id)
        if entry is None or "side" not in entry:
            return link
        return link.with_(pending={**link.pending, command_id: {**entry, "landed_at": data["at"]}})
    if type_ == E.BASELINE_UPDATED:
        return link.with_(baseline={**link.baseline, **data["baseline"]})
    if type_ == E.SITE_CREATE_REQUESTED:
        entry = {"verb": E.REQUESTS[type_], "address_id": data["address_id"], "site": data["site"]}
        return link.with_(pending={**link.pending, command_id: entry})
    if type_ == E.SITE_MATCHED:
        return link.with_(sites={**link.sites, data["address_id"]: data["site_id"]})
    if type_ == E.SITE_CREATED:
        site = link.pending.get(command_id, {}).get("site")
        rmm = link.rmm
        if rmm is not None and site is not None:
            created = RmmSite.model_validate({**site, "id": data["site_id"]})
            rmm = rmm.model_copy(update={"sites": (*rmm.sites, created)})
        return link.with_(
            rmm=rmm,
            sites={**link.sites, data["address_id"]: data["site_id"]},
            pending=_without(link.pending, command_id),
        )
    if type_ == E.COMMAND_FAILED:
        reverted = revert(link, data.get("revert") or {})
        return reverted.with_(pending=_without(link.pending, command_id))
    if type_ == E.INBOUND_CONFLICTED:
        reverted = revert(link, data.get("revert") or {})
        stale = {**link.revio_stale, **(data.get("stale") or {})}
        return reverted.with_(pending=_without(link.pending, command_id), revio_stale=stale)
    return link


def evolve_rmm(rmm: RmmState, type_: str, data: dict[str, Any]) -> RmmState:
    command_id = str(data.get("command_id"))
    if type_ == E.RMM_OBSERVED:
        if data.get("stale"):
            return rmm
        return rmm.with_(
            company=RmmCompany.model_validate(data["company"]),
            deleted=data["kind"] == "deleted",
            observed_at=as_time(data["observed_at"]),
            **_observed(rmm, data),
        )
    if type_ == E.CLAIMED:
        return rmm.with_(
            state="linked", rule=data["rule"], revio_customer_id=data["revio_customer_id"]
        )
    if type_ == E.RELEASED:
        company = data.get("company")
        return rmm.with_(
            state="unlinked",
            rule=data["rule"],
            decided_by=data.get("actor"),
            revio_customer_id=None,
            company=RmmCompany.model_validate(company) if company else rmm.company,
            deleted=data.get("deleted", rmm.deleted),  # absent from events before it was
        )
    if type_ == E.LEFT_UNLINKED:
        return rmm.with_(
            state="unlinked",
            rule=data["rule"],
            candidates=tuple(data.get("candidates") or ()),
            sync_run_id=data.get("sync_run_id") or rmm.sync_run_id,
        )
    if type_ == E.REVIO_CREATE_REQUESTED:
        entry = {"verb": E.REQUESTS[type_], "request": data}
        return rmm.with_(
            state="creating_customer",
            rule=data["rule"],
            candidates=(),
            pending={**rmm.pending, command_id: entry},
        )
    if type_ == E.REVIO_CREATED:
        return rmm.with_(pending=_without(rmm.pending, command_id))
    if type_ == E.REVIO_CREATE_FAILED:
        return rmm.with_(
            state="unlinked" if rmm.state == "creating_customer" else rmm.state,
            rule="revio_customer_creation_failed",
            pending=_without(rmm.pending, command_id),
        )
    return rmm


def fold_link(customer_id: str, events: Iterable[RecordedEvent]) -> LinkState:
    link = LinkState(customer_id=customer_id)
    for event in events:
        link = evolve_link(link, event.type, event.data).with_(version=event.version)
    return link


def fold_rmm(rmm_company_id: str, events: Iterable[RecordedEvent]) -> RmmState:
    rmm = RmmState(rmm_company_id=rmm_company_id)
    for event in events:
        rmm = evolve_rmm(rmm, event.type, event.data).with_(version=event.version)
    return rmm
