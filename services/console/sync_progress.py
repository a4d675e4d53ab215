"""A sync run's progress per entity kind, its ETA, and the rule that completes it.

- seen: `seen` changes of the run the console's consumer counted (`sync_run_seen`), against
  the `total` the connector announced with them;
- decided: objects of the kind in the read model of the service deciding on it that hold a
  decision (see `DECIDED_BY`), not counting the ones revsync itself created during the run
  (`created`: they were not listed, so they would make decided exceed the total: "RMM
  companies 37/37, decided 40"); kinds no service decides on show no decided count;
- writes: commands the decisions issued that no connector answered yet, per target system,
  and the rate their connector answers them (`sync_writes.py`); once everything is decided
  the run shows `writing` until they drain, with an ETA from that rate (none before there is
  one). The list of runs shows a run in progress with this same phase (`shown_phase`);
- the run is done once both connectors finished listing, every kind is fully seen, the
  company service matched the run's customers and companies (`SyncRunMatched`, when it
  listed any), and either every decidable kind is fully decided or nothing has moved for
  `quiet_s` (not every object needs a decision, so "all decided" alone could wait forever).
  Without the match a company service that is behind, still working through the polls that
  came before the run, would let the run look quiet and done before it decided anything.
  For the same reason "nothing has moved" counts only while the deciding services have no
  change waiting (`DECIDING_CONSUMERS`, all tenants): at 10,000 clients a run read done with
  2 of 92,000 endpoints decided, the asset service 100,000 changes behind.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from nats.errors import Error as NatsError
from revsync.eventlog import ConcurrencyError, NewEvent
from revsync.logs import get_logger
from revsync.messaging.subscriber import consumer_name
from revsync.unit_of_work import UnitOfWork

from services.asset.app import CHANGE_ROUTES as ASSET_CHANGES
from services.asset.app import SERVICE as ASSET
from services.company.app import CHANGE_ROUTES as COMPANY_CHANGES
from services.company.app import SERVICE as COMPANY
from services.company.events import REVIO_CREATED, RMM_CREATED, RUN_MATCHED, run_stream
from services.console.sync_runs import ACTIVE_PHASES, PROJECTION, stream_of
from services.console.sync_writes import WritesWaiting, load_writes, writes_eta_s

log = get_logger(__name__)


@dataclass(frozen=True)
class DecidedBy:
    """The read model of the objects of one kind (one row per object, `key` its id column),
    when an object counts as decided (`decided`, SQL), and the event of the service's log that
    says revsync created one (`created`, naming it by `key`; None: revsync creates none)."""

    table: str
    decided: str
    key: str
    created: str | None = None


# What a service decides on and when an object counts as decided: it holds a decision (`rule`
# set; an asset's state other than `observed`), whenever taken. The log cannot say which
# objects a run saw: a service records nothing for an object a run lists unchanged (one the
# poll at the tenant's save observed first, as in every initial sync), so counted from the
# log the endpoints of an initial sync read "decided 0" to the end; and scanning the log grew
# with it (62 ms a look at 2,000 clients, called every second: the database's most expensive
# query of the run). The objects revsync created during the run are in the read model too,
# but no listing of the run had them: they are counted as `created`, not as decided.
# A deleted object is not decided either: no listing has it, so counted it would let "all
# decided" come true while listed objects still wait. Deleted are a customer deleted in
# Rev.io, an RMM company deleted in RMM (an unlinked one on its own row; a linked one's
# observations go to its link's stream, so it is the link that says so: `$1` is the tenant)
# and an endpoint deleted in RMM (its asset `retired`).
_NOT_DELETED_WHILE_LINKED = (
    "rmm_company_id NOT IN (SELECT rmm_company_id FROM company_links WHERE tenant_id = $1"
    " AND state = 'linked' AND rmm_deleted AND rmm_company_id IS NOT NULL)"
)
DECIDED_BY = {
    "revio.customer": DecidedBy(
        "company_links", "rule IS NOT NULL AND NOT deleted", "revio_customer_id", REVIO_CREATED
    ),
    "rmm.company": DecidedBy(
        "rmm_companies",
        f"rule IS NOT NULL AND NOT deleted AND {_NOT_DELETED_WHILE_LINKED}",
        "rmm_company_id",
        RMM_CREATED,
    ),
    "rmm.endpoint": DecidedBy("assets", "state NOT IN ('observed', 'retired')", "identifier"),
}
DECIDED_KINDS = tuple(DECIDED_BY)
"""Kinds a service decides on: their decided count is 0 until the first decision."""


def decided_query(kind: str) -> str:
    """Decided objects of `kind` but those in `$2` (created during the run), and when the
    last decision was taken."""
    of = DECIDED_BY[kind]
    return (
        f"SELECT count(*) FILTER (WHERE {of.decided} AND {of.key} <> ALL($2::text[]))"
        f" AS decided, max(updated_at) FILTER (WHERE {of.decided}) AS last"
        f" FROM {of.table} WHERE tenant_id = $1"
    )


# Where the run begins in the log, and where it ended: the events between are its time's.
RUN_SPAN = (
    "SELECT version, global_position FROM events"
    " WHERE tenant_id = $1 AND stream = $2 AND version IN (1, $3)"
)
# The objects revsync created meanwhile (a range of one index: `events_tenant_type`).
CREATED_SINCE = (
    "SELECT DISTINCT data ->> $3 AS id FROM events WHERE tenant_id = $1 AND type = $2"
    " AND global_position > $4 AND ($5::bigint IS NULL OR global_position <= $5)"
)
# The durable consumers whose changes the run's decisions come from.
DECIDING_CONSUMERS = [consumer_name(COMPANY, route) for route in COMPANY_CHANGES] + [
    consumer_name(ASSET, route) for route in ASSET_CHANGES
]
# Kinds the company service matches as a batch once the run's listings are in.
MATCHED_KINDS = ("revio.customer", "rmm.company")
LABELS = {
    "rmm.company": "RMM companies",
    "rmm.endpoint": "RMM endpoints",
    "rmm.ticket": "RMM tickets",
    "rmm.alert": "RMM alerts",
    "revio.customer": "Rev.io customers",
    "revio.ticket": "Rev.io tickets",
    "revio.asset": "Rev.io assets",
}


@dataclass
class KindProgress:
    kind: str
    seen: int = 0
    total: int | None = None
    decided: int | None = None
    created: int | None = None  # objects revsync created during the run (not listed by it)

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)

    @property
    def listed(self) -> bool:
        return self.total is None or self.seen >= self.total

    @property
    def shown_decided(self) -> int | None:
        """Decided, never more than the objects listed: the read model may also hold objects
        this run did not list (deleted ones, say)."""
        if self.decided is None:
            return None
        return min(self.decided, self.total if self.total is not None else self.seen)


@dataclass
class RunProgress:
    tenant_id: str
    run_id: UUID
    kind: str
    phase: str
    version: int
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    updated_at: datetime
    listings: dict[str, Any]
    errors: list[dict[str, Any]]
    kinds: list[KindProgress] = field(default_factory=list)
    last_activity_at: datetime | None = None
    companies_matched: bool = False  # the company service recorded `SyncRunMatched`
    writes: list[WritesWaiting] = field(default_factory=list)  # the tenant's, per target system

    @property
    def commands_waiting(self) -> bool:
        """The tenant's windowed commands not answered yet."""
        return any(w.waiting > 0 for w in self.writes)

    def waits_for_match(self) -> bool:
        """Customers or companies were listed and the company service has not matched them."""
        listed = any(k.kind in MATCHED_KINDS and k.seen > 0 for k in self.kinds)
        return listed and not self.companies_matched

    def all_decided(self) -> bool:
        """Everything listed, matched, and every object seen of a decidable kind decided."""
        if not all(k.listed for k in self.kinds) or self.waits_for_match():
            return False
        return all(k.decided >= k.seen for k in self.kinds if k.decided is not None)

    def shown_phase(self) -> str:
        """The phase, and while deciding: `writing` once all is decided and only the writes
        of the decisions are still on their way."""
        if self.phase == "deciding" and self.commands_waiting and self.all_decided():
            return "writing"
        return self.phase

    def activity(self) -> str | None:
        """What the run still waits for besides deciding: "171 writes to RMM waiting"."""
        waiting = [w.describe() for w in self.writes if w.waiting > 0]
        return ", ".join(waiting) or None

    def fraction(self) -> float:
        """Seen and decided of what was listed, with every write waiting still to do."""
        if self.phase == "done":
            return 1.0
        work = done = 0
        for k in self.kinds:
            if k.total is None:
                continue
            work += k.total
            done += min(k.seen, k.total)
            if k.decided is not None:
                work += k.total
                done += min(k.decided, k.total)
        work += sum(w.waiting for w in self.writes)
        listed = sum(1 for system in ("rmm", "revio") if system in self.listings)
        if work == 0:
            return 0.5 * listed / 2
        return min(done / work, 0.99)

    def writes_eta_s(self, now: datetime) -> float | None:
        """The ETA of the writes waiting (`sync_writes.writes_eta_s`)."""
        return writes_eta_s(self.writes, now)

    def eta_s(self, now: datetime) -> float | None:
        if self.phase not in ACTIVE_PHASES:
            return 0.0 if self.phase == "done" else None
        if self.shown_phase() == "writing":
            return self.writes_eta_s(now)
        fraction = self.fraction()
        if fraction <= 0:
            return None
        elapsed = (now - self.started_at).total_seconds()
        return round(elapsed * (1 - fraction) / fraction, 1)

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        return {
            "id": str(self.run_id),
            "kind": self.kind,
            "phase": self.shown_phase(),
            "activity": self.activity(),
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "listings": self.listings,
            "progress": [
                {
                    "kind": k.kind,
                    "label": k.label,
                    "seen": k.seen,
                    "total": k.total,
                    "decided": k.shown_decided,
                    "created": k.created,
                }
                for k in self.kinds
            ],
            "writes_waiting": {w.system: w.waiting for w in self.writes if w.waiting > 0},
            "fraction": round(self.fraction(), 3),
            "eta_seconds": self.eta_s(now),
            "errors": self.errors,
        }


def completion_rule(
    progress: RunProgress, now: datetime, quiet_s: float, behind: bool = False
) -> str | None:
    """Which rule completes the run now, if any (pure); `behind`: a deciding service has
    changes waiting, so a quiet run is not done."""
    if progress.phase != "deciding" or not all(k.listed for k in progress.kinds):
        return None
    if progress.waits_for_match():
        return None
    if progress.all_decided() and not progress.commands_waiting:
        return "all_decided"
    last = progress.last_activity_at or progress.updated_at
    if (now - last).total_seconds() >= quiet_s and not behind:
        return "quiet_after_listing"
    return None


async def run_span(conn: Any, tenant_id: str, run_id: UUID, run: Any) -> tuple[int, int | None]:
    """The log positions of the run's first event and, once it ended, of its last."""
    rows = await conn.fetch(RUN_SPAN, tenant_id, stream_of(run_id), run["version"])
    at = {row["version"]: row["global_position"] for row in rows}
    ended = run["phase"] not in ACTIVE_PHASES
    return at.get(1, 0), at.get(run["version"]) if ended else None


async def created_during(
    conn: Any, tenant_id: str, kind: str, span: tuple[int, int | None]
) -> list[str]:
    """The ids of the objects of `kind` revsync created during the run."""
    of = DECIDED_BY[kind]
    if of.created is None:
        return []
    rows = await conn.fetch(CREATED_SINCE, tenant_id, of.created, of.key, *span)
    return [row["id"] for row in rows if row["id"] is not None]


async def load_progress(conn: Any, tenant_id: str, run_id: UUID) -> RunProgress | None:
    run = await conn.fetchrow(
        "SELECT * FROM sync_runs WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id
    )
    if run is None:
        return None
    kinds: dict[str, KindProgress] = {}
    last_activity = run["updated_at"]
    for row in await conn.fetch(
        "SELECT kind, seen, total, updated_at FROM sync_run_seen"
        " WHERE tenant_id = $1 AND run_id = $2 ORDER BY kind",
        tenant_id,
        run_id,
    ):
        kind = row["kind"].split(":", 1)[0]  # endpoints count per category
        # a kind a service decides on has decided none until its first decision (not
        # "no decided count", which would let "all decided" ignore it)
        decided = 0 if kind in DECIDED_KINDS else None
        found = kinds.setdefault(kind, KindProgress(kind, 0, 0, decided))
        found.seen += row["seen"]
        both = found.total is not None and row["total"] is not None
        found.total = found.total + row["total"] if both else None  # type: ignore[operator]
        last_activity = max(last_activity, row["updated_at"])
    span = await run_span(conn, tenant_id, run_id, run)
    for kind in DECIDED_KINDS:
        if kind not in kinds:
            continue
        created = await created_during(conn, tenant_id, kind, span)
        row = await conn.fetchrow(decided_query(kind), tenant_id, created)
        kinds[kind].decided = row["decided"]
        if DECIDED_BY[kind].created is not None:
            kinds[kind].created = len(created)
        if row["last"] is not None:
            last_activity = max(last_activity, row["last"])
    active = run["phase"] in ACTIVE_PHASES
    writes = await load_writes(conn, tenant_id, span[0]) if active else []
    matched = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM events WHERE tenant_id = $1 AND stream = $2 AND type = $3)",
        tenant_id,
        run_stream(run_id),
        RUN_MATCHED,
    )
    return RunProgress(
        tenant_id=tenant_id,
        run_id=run_id,
        kind=run["kind"],
        phase=run["phase"],
        version=run["version"],
        started_at=run["started_at"],
        started_by=run["started_by"],
        finished_at=run["finished_at"],
        updated_at=run["updated_at"],
        listings=run["listings"],
        errors=run["errors"],
        kinds=sorted(kinds.values(), key=lambda k: k.kind),
        last_activity_at=last_activity,
        companies_matched=bool(matched),
        writes=writes,
    )


Pending = Callable[[], Awaitable[int]]
Behind = Callable[[], Awaitable[bool]]


async def complete_if_due(
    pool: asyncpg.Pool, tenant_id: str, run_id: UUID, quiet_s: float, behind: bool = False
) -> bool:
    async with pool.acquire() as conn:
        progress = await load_progress(conn, tenant_id, run_id)
    if progress is None:
        return False
    rule = completion_rule(progress, datetime.now(UTC), quiet_s, behind)
    if rule is None:
        return False
    counts = {
        k.kind: {"seen": k.seen, "total": k.total, "decided": k.decided, "created": k.created}
        for k in progress.kinds
    }
    event = NewEvent("SyncRunCompleted", {"run_id": str(run_id), "counts": counts, "rule": rule})
    try:
        async with UnitOfWork(pool, tenant_id, consumer="console") as uow:
            await uow.append(stream_of(run_id), [event], progress.version, projections=[PROJECTION])
    except ConcurrencyError:
        return False  # something happened to the run meanwhile: look again next time
    log.info("sync run completed", tenant_id=tenant_id, run_id=str(run_id), rule=rule)
    return True


async def monitor(
    pool: asyncpg.Pool,
    quiet_s: float,
    pending: Pending | None = None,
    behind: Behind | None = None,
    interval_s: float = 1.0,
) -> None:
    """Completes the runs whose work is done; stateless, so it resumes after a restart.
    `pending` counts the `seen` changes the console has not consumed yet: while there are
    some, no run is complete (their kinds may not even be counted yet). `behind`: whether a
    deciding service has changes waiting; while it has, no run is done."""
    while True:
        try:
            rows = await pool.fetch(
                "SELECT tenant_id, run_id FROM sync_runs WHERE phase = 'deciding'"
            )
            if rows and pending is not None and await pending() > 0:
                rows = []
            if rows and behind is not None and await behind():
                rows = []  # a deciding service has changes waiting: no run is done yet (and
                # its progress is not worth reading every second while the work goes on)
            for row in rows:
                await complete_if_due(pool, row["tenant_id"], row["run_id"], quiet_s)
        except (OSError, asyncpg.PostgresError, NatsError) as error:
            log.warning("sync run monitor could not look; will retry", error=repr(error))
        await asyncio.sleep(interval_s)
