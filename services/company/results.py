"""What command results decide for the company service (each in the result's transaction):
a created RMM company or Rev.io customer completes its pending link (then its sites are
created), a created site is mapped, an update that landed is timed (later observations are
told from earlier ones) and a refused one is undone."""

from revsync.contracts.base import Result, ResultStatus
from revsync.decision import Decision, DecisionContext
from revsync.tenancy import SyncSettings

from services.company import events as E
from services.company.flows import link_pair
from services.company.links import (
    command_failed,
    created_company,
    created_customer,
    inbound_update_conflicted,
    rewrite_after_older_write,
    rmm_company_creation_failed,
)
from services.company.store import CompanyTx


async def rmm_company_created(
    tx: CompanyTx, ctx: DecisionContext, customer_id: str, result: Result, settings: SyncSettings
) -> None:
    """The RMM company of a creating link exists: link it (unless it was linked meanwhile,
    e.g. when the connector reported the new company first and its strong key linked it)."""
    await tx.lock_matching()
    link = await tx.link(customer_id)
    command_id = str(result.command_id)
    if command_id not in link.pending:
        return
    company_id = result.external_ids.get("company_id")
    if not result.ok or not company_id:
        await tx.record_link(link, rmm_company_creation_failed(ctx, link, result))
        return
    company = created_company(link, result)
    link = await tx.record_link(
        link, (ctx.event(E.RMM_CREATED, command_id=command_id, rmm_company_id=company_id),)
    )
    rmm = await tx.rmm(company_id)
    if link.state != "creating" or rmm.state == "linked":
        return  # linked meanwhile (to it, or by a person to another)
    await link_pair(
        tx,
        ctx,
        link,
        rmm,
        "created_in_rmm",
        settings,
        command_id=command_id,
        company=rmm.company or company,
    )


async def revio_customer_created(
    tx: CompanyTx, ctx: DecisionContext, rmm_company_id: str, result: Result, settings: SyncSettings
) -> None:
    await tx.lock_matching()
    rmm = await tx.rmm(rmm_company_id)
    command_id = str(result.command_id)
    if command_id not in rmm.pending:
        return
    customer_id = result.external_ids.get("customer_id")
    if not result.ok or not customer_id:
        failed = ctx.event(
            E.REVIO_CREATE_FAILED,
            command_id=command_id,
            status=result.status.value,
            reason=result.reason,
        )
        await tx.record_rmm(rmm, (failed,))
        return
    customer = created_customer(rmm, result)
    created = ctx.event(E.REVIO_CREATED, command_id=command_id, revio_customer_id=customer_id)
    rmm = await tx.record_rmm(rmm, (created,))
    link = await tx.link(customer_id)
    if rmm.state == "linked" or link.state == "linked":
        return  # the new customer was reported first and linked by its strong key
    await link_pair(
        tx,
        ctx,
        link,
        rmm,
        "created_in_revio",
        settings,
        command_id=command_id,
        customer=None if link.customer else customer,
    )


async def update_done(
    tx: CompanyTx, ctx: DecisionContext, customer_id: str, stream: str, verb: str, result: Result
) -> None:
    """An update landed (its time tells later observations from earlier ones), or failed
    (what revsync assumed it changed is undone), or Rev.io refused it because a person
    changed it meanwhile (Rev.io wins: undone and not retried, `inbound_update_conflicted`)."""
    link = await tx.link(customer_id)
    command_id = str(result.command_id)
    if command_id not in link.pending:
        return  # the link changed since (unlinked, relinked)
    if result.ok:
        at = result.occurred_at.isoformat()
        done = ctx.event(E.COMMAND_SUCCEEDED, command_id=command_id, verb=verb, at=at)
        again = rewrite_after_older_write(ctx, link, command_id, result.occurred_at)
        await tx.record_link(link, Decision((done, *again.events), again.commands))
        return
    request = await tx.request_of(stream, result.command_id)
    if result.status is ResultStatus.CONFLICT and verb == "revio.customer.update":
        await tx.record_link(link, inbound_update_conflicted(ctx, link, result, request))
        return
    await tx.record_link(link, command_failed(ctx, result, verb, request))


async def site_created(
    tx: CompanyTx, ctx: DecisionContext, customer_id: str, result: Result
) -> None:
    link = await tx.link(customer_id)
    entry = link.pending.get(str(result.command_id))
    if entry is None:
        return
    site_id = result.external_ids.get("site_id")
    if result.ok and site_id:
        event = ctx.event(
            E.SITE_CREATED,
            command_id=str(result.command_id),
            address_id=entry["address_id"],
            site_id=site_id,
        )
        await tx.record_link(link, (event,))
        return
    await tx.record_link(link, command_failed(ctx, result, entry["verb"], None))
