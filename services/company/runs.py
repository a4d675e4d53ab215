"""Matching of a sync run's unlinked records, once both listings are in.

During a sync run the connectors list everything as `seen` changes, in no particular order.
Matching a customer before the RMM listing is complete would miss its company (and with
create mode on, create a duplicate), so unlinked records seen in a run are only recorded;
linked pairs are synced at once. When both listings are complete (every `seen` of each
side counted against its `total`), or nothing of the run arrived for `quiet_s` (a listing
that was empty, failed or lost a message), `match_run` matches every unlinked customer of
the run against every unlinked RMM company in one transaction, holding the tenant's
matching lock, and records `SyncRunMatched` (which is what makes later `seen` changes of the
run decide at once).

Records observed outside any run (the connectors poll as soon as a tenant is saved) while a
run of the tenant is listing are left to that run's batch too (`left_for_run` on the
observation): matching each of them at once would take the exclusive matching lock and stall
every observation of the run behind it. Those observed before any run began are matched at
once, but nothing is created for them before a run matched: they wait (rule
`waiting_for_initial_sync`), and the next run to match decides them with the run's own
records, both sides now listed in full.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid5

from revsync.contracts.base import utc_now
from revsync.decision import DecisionContext
from revsync.logs import get_logger
from revsync.tenancy import SyncSettings
from revsync.unit_of_work import UnitOfWork

from services.company import events as E
from services.company.decide import (
    WAITING,
    customer_party,
    decide_unmatched_customer,
    decide_unmatched_rmm_company,
    rmm_party,
)
from services.company.flows import link_pair
from services.company.handlers import CompanyService
from services.company.matching import Candidates, Match, match_company
from services.company.state import State
from services.company.store import CompanyTx

log = get_logger(__name__)

_READY = """
SELECT tenant_id, sync_run_id,
    (revio_total IS NOT NULL AND revio_seen >= revio_total
     AND rmm_total IS NOT NULL AND rmm_seen >= rmm_total) AS complete
FROM company_sync_runs
WHERE matched_at IS NULL AND (
    (revio_total IS NOT NULL AND revio_seen >= revio_total
     AND rmm_total IS NOT NULL AND rmm_seen >= rmm_total)
    OR last_seen_at < now() - make_interval(secs => $1))
ORDER BY first_seen_at
"""


def decided_by_run(record: State, run_id: str) -> bool:
    """A run decides the unlinked records it listed and those waiting for a first run (seen
    before anything was listed; perhaps never listed by this run)."""
    return record.sync_run_id == run_id or record.rule == WAITING


async def match_run(
    service: CompanyService, tenant_id: str, sync_run_id: UUID, rule: str, settings: SyncSettings
) -> dict[str, int] | None:
    """Match the run's unlinked records; None if the run was matched already."""
    async with UnitOfWork(service.pool, tenant_id, service.consumer, window=service.window) as uow:
        tx = CompanyTx(uow)
        await tx.lock_matching()
        run = await tx.conn.fetchrow(
            "SELECT * FROM company_sync_runs WHERE tenant_id = $1 AND sync_run_id = $2 FOR UPDATE",
            tenant_id,
            sync_run_id,
        )
        if run is None or run["matched_at"] is not None:
            return None
        ctx = DecisionContext(tenant_id, utc_now(), uuid5(sync_run_id, "company-matching"))
        counts: Counter[str] = Counter()
        rmms = {r.rmm_company_id: r for r in await tx.open_rmm_companies()}
        candidates = Candidates(rmm_party(r) for r in rmms.values())  # once, not per customer
        revio_names, rmm_names = await tx.name_counts("revio"), await tx.name_counts("rmm")
        run_id = str(sync_run_id)
        for link in await tx.open_links():
            if not decided_by_run(link, run_id) or not link.open:
                continue
            party = customer_party(link)
            match = match_company(
                party,
                candidates,
                revio_names.get(party.key, 0),
                rmm_names.get(party.key, 0),
                link.excluded,
            )
            if match.link is not None:
                candidates.remove(match.link.id)  # linked: no longer a candidate
                await link_pair(
                    tx,
                    ctx,
                    link,
                    rmms.pop(match.link.id),
                    match.rule,
                    settings,
                    match.link.score,
                    match.inputs,
                )
                counts["linked"] += 1
                continue
            decision = decide_unmatched_customer(ctx, link, match, settings, listed=True)
            after = await tx.record_link(link, decision)
            counts[after.state] += 1
        suggested = {c["id"] for link in await tx.open_links() for c in link.candidates}
        for rmm in rmms.values():
            if not decided_by_run(rmm, run_id) or not rmm.open:
                continue
            decision = decide_unmatched_rmm_company(
                ctx,
                rmm,
                Match("no_candidate"),
                settings,
                rmm.rmm_company_id in suggested,
                listed=True,
            )
            after_rmm = await tx.record_rmm(rmm, decision)
            kind = (
                "revio_customer_requested"
                if after_rmm.state == "creating_customer"
                else "rmm_left_unlinked"
            )
            counts[kind] += 1
        summary: dict[str, Any] = {
            "rule": rule,
            "sync_run_id": run_id,
            "revio_seen": run["revio_seen"],
            "revio_total": run["revio_total"],
            "rmm_seen": run["rmm_seen"],
            "rmm_total": run["rmm_total"],
            "counts": dict(counts),
        }
        await tx.record_run(sync_run_id, (ctx.event(E.RUN_MATCHED, **summary),))
        return dict(counts)


Ready = tuple[str, UUID, bool]  # tenant, run, listings complete (else only quiet)
Behind = Callable[[], Awaitable[bool]]


async def ready_runs(service: CompanyService, quiet_s: float) -> list[Ready]:
    rows = await service.pool.fetch(_READY, quiet_s)
    return [(row["tenant_id"], row["sync_run_id"], row["complete"]) for row in rows]


def to_match(ready: list[Ready], behind: bool) -> list[Ready]:
    """A run whose listings are complete is matched; one that is only quiet, only when no
    customer or company change is waiting for this service (`behind`). Quiet must mean that
    nothing of the run is coming, not that we have not read it yet: at 10,000 clients the
    service ran more than 30 s behind its backlog and matched a run whose RMM listing it had
    not read, and each company of it was then matched on its own, under the exclusive lock."""
    return [run for run in ready if run[2] or not behind]


async def watch_runs(
    service: CompanyService,
    poll_s: float = 1.0,
    quiet_s: float = 30.0,
    behind: Behind | None = None,
) -> None:
    """Background task: match each sync run once its listings are in (`to_match`)."""
    while True:
        try:
            ready = await ready_runs(service, quiet_s)
            lagging = behind is not None and not all(run[2] for run in ready) and await behind()
            for tenant_id, run_id, complete in to_match(ready, lagging):
                settings = await service.settings_for(tenant_id)
                if settings is None:
                    continue
                rule = "listings_complete" if complete else "listings_quiet"
                counts = await match_run(service, tenant_id, run_id, rule, settings)
                if counts is not None:
                    log.info(
                        "sync run matched",
                        tenant_id=tenant_id,
                        sync_run_id=str(run_id),
                        rule=rule,
                        **counts,
                    )
        except Exception as error:  # the run stays unmatched and is tried again next time
            log.error(
                "sync run matching failed; will retry", error=f"{type(error).__name__}: {error}"
            )
        await asyncio.sleep(poll_s)
