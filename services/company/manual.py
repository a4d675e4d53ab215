"""Manual operations on links, for the console (web, API and CLI): link, unlink, confirm or
reject a suggestion, confirm all suggestions of a sync run.

Each runs in one unit of work with `actor` = the person, holding the tenant's matching lock,
and records who decided: a link set by a person is never changed by automation, a rejected
pair is never proposed again, and an unlinked pair is never linked again automatically.

    await manual.link(pool, "acme-msp", "1001", "rmm-42", actor="alice")
"""

from dataclasses import dataclass, field
from uuid import UUID, uuid4

import asyncpg
from revsync.contracts.base import utc_now
from revsync.decision import DecisionContext
from revsync.tenancy import SyncSettings
from revsync.tenant_store import TenantStore

from services.company.flows import link_pair
from services.company.handlers import in_transaction
from services.company.links import reject_event, unlink_events
from services.company.state import LinkState
from services.company.store import CompanyTx

CONSUMER = "company"


class ManualOperationError(Exception):
    """The operation cannot be done; `code` is `not_found` or `conflict`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ConfirmAllReport:
    confirmed: list[str] = field(default_factory=list)  # Rev.io customer ids
    skipped: dict[str, str] = field(default_factory=dict)  # customer id -> why


async def _settings(pool: asyncpg.Pool, tenant_id: str) -> SyncSettings:
    tenant = await TenantStore(pool).load(tenant_id, with_secrets=False)
    if tenant is None:
        raise ManualOperationError("not_found", f"tenant {tenant_id!r} does not exist")
    if not tenant.enabled:
        raise ManualOperationError("conflict", f"tenant {tenant_id!r} is disabled")
    return tenant.settings


def _context(tenant_id: str) -> DecisionContext:
    return DecisionContext(tenant_id, utc_now(), uuid4())


async def _known_link(tx: CompanyTx, customer_id: str) -> LinkState:
    link = await tx.link(customer_id)
    if link.customer is None:
        raise ManualOperationError("not_found", f"Rev.io customer {customer_id} is not known")
    return link


async def _link(
    tx: CompanyTx,
    customer_id: str,
    rmm_company_id: str,
    rule: str,
    actor: str,
    settings: SyncSettings,
) -> None:
    await tx.lock_matching()
    link = await _known_link(tx, customer_id)
    if link.state == "linked":
        if link.rmm_company_id == rmm_company_id:
            return
        raise ManualOperationError(
            "conflict",
            f"customer {customer_id} is linked to RMM company {link.rmm_company_id};"
            " unlink it first",
        )
    rmm = await tx.rmm(rmm_company_id)
    if rmm.company is None or rmm.deleted:
        raise ManualOperationError("not_found", f"RMM company {rmm_company_id} is not known")
    if rmm.state == "linked":
        raise ManualOperationError(
            "conflict",
            f"RMM company {rmm_company_id} is linked to customer {rmm.revio_customer_id}",
        )
    score = next((c["score"] for c in link.candidates if c["id"] == rmm_company_id), None)
    await link_pair(tx, _context(tx.tenant_id), link, rmm, rule, settings, score=score, actor=actor)


async def link(
    pool: asyncpg.Pool, tenant_id: str, revio_customer_id: str, rmm_company_id: str, actor: str
) -> None:
    """Link a customer to a company by hand (search, map, confirm in the console)."""
    settings = await _settings(pool, tenant_id)

    async def body(tx: CompanyTx, _: bool) -> None:
        await _link(tx, revio_customer_id, rmm_company_id, "manual_link", actor, settings)

    await in_transaction(pool, tenant_id, CONSUMER, None, body, actor=actor)


async def confirm(
    pool: asyncpg.Pool,
    tenant_id: str,
    revio_customer_id: str,
    actor: str,
    rmm_company_id: str | None = None,
) -> None:
    """Confirm a suggestion (the best one unless `rmm_company_id` names another)."""
    settings = await _settings(pool, tenant_id)

    async def body(tx: CompanyTx, _: bool) -> None:
        link = await _known_link(tx, revio_customer_id)
        chosen = _suggested(link, rmm_company_id)
        await _link(tx, revio_customer_id, chosen, "suggestion_confirmed", actor, settings)

    await in_transaction(pool, tenant_id, CONSUMER, None, body, actor=actor)


def _suggested(link: LinkState, rmm_company_id: str | None) -> str:
    if link.state != "suggested" or not link.candidates:
        raise ManualOperationError(
            "conflict", f"customer {link.customer_id} has no suggestion ({link.state})"
        )
    ids = [c["id"] for c in link.candidates]
    chosen = rmm_company_id or ids[0]
    if chosen not in ids:
        raise ManualOperationError(
            "not_found", f"RMM company {chosen} is not suggested for {link.customer_id}"
        )
    return chosen


async def reject(
    pool: asyncpg.Pool,
    tenant_id: str,
    revio_customer_id: str,
    actor: str,
    rmm_company_id: str | None = None,
) -> None:
    """Reject a suggestion: the pair is never proposed again."""

    async def body(tx: CompanyTx, _: bool) -> None:
        await tx.lock_matching()
        link = await _known_link(tx, revio_customer_id)
        chosen = _suggested(link, rmm_company_id)
        await tx.record_link(link, (reject_event(_context(tenant_id), link, chosen, actor),))

    await in_transaction(pool, tenant_id, CONSUMER, None, body, actor=actor)


async def unlink(pool: asyncpg.Pool, tenant_id: str, revio_customer_id: str, actor: str) -> None:
    """Unlink a pair: both stay as they are in their systems; automation will not link
    this pair again."""

    async def body(tx: CompanyTx, _: bool) -> None:
        await tx.lock_matching()
        link = await _known_link(tx, revio_customer_id)
        if link.state != "linked" or link.rmm_company_id is None:
            raise ManualOperationError("conflict", f"customer {revio_customer_id} is not linked")
        rmm = await tx.rmm(link.rmm_company_id)
        unlinked, released = unlink_events(_context(tenant_id), link, actor)
        await tx.record_link(link, (unlinked,))
        await tx.record_rmm(rmm, (released,))

    await in_transaction(pool, tenant_id, CONSUMER, None, body, actor=actor)


async def confirm_all(
    pool: asyncpg.Pool, tenant_id: str, sync_run_id: UUID, actor: str
) -> ConfirmAllReport:
    """Confirm the best suggestion of every customer suggested in a sync run ("Confirm All &
    Continue"); a company suggested to two customers goes to the first, the other is skipped."""
    settings = await _settings(pool, tenant_id)
    report = ConfirmAllReport()

    async def body(tx: CompanyTx, _: bool) -> None:
        report.confirmed.clear()
        report.skipped.clear()
        await tx.lock_matching()
        rows = await tx.conn.fetch(
            "SELECT revio_customer_id, rmm_company_id FROM company_links WHERE tenant_id = $1"
            " AND state = 'suggested' AND sync_run_id = $2 ORDER BY score DESC, revio_customer_id",
            tenant_id,
            sync_run_id,
        )
        for row in rows:
            customer_id, chosen = row["revio_customer_id"], row["rmm_company_id"]
            if (await tx.rmm(chosen)).state == "linked":
                report.skipped[customer_id] = f"RMM company {chosen} is linked already"
                continue
            await _link(tx, customer_id, chosen, "suggestion_confirmed", actor, settings)
            report.confirmed.append(customer_id)

    await in_transaction(pool, tenant_id, CONSUMER, None, body, actor=actor)
    return report
