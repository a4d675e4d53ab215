"""Read models of the company service, folded in the transaction of each decision:

- `company_links`: one row per Rev.io customer, its link state, the rule behind it, the
  suggestion candidates and the folded `LinkState`; the console's mapping review and the
  other services read it (`state = 'linked'`), only this service writes it. A linked RMM
  company's observations are recorded on the link's stream, so its deletion in RMM shows
  here (`rmm_deleted`), not in its `rmm_companies` row;
- `rmm_companies`: one row per RMM company seen unlinked (mapping review, matching pools);
- `company_commands`: every command sent, so its result finds its stream;
- `company_sync_runs`: per sync run, how much of each listing was seen and when it was
  matched.
"""

import itertools
from collections.abc import Sequence
from typing import Any

import asyncpg
from revsync.db import Conn
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Projection, Rows, StreamRows

from services.company import events as E
from services.company.decide import customer_party, rmm_party
from services.company.state import LinkState, RmmState, evolve_link, evolve_rmm

COMPANY_LINKS = Rows(
    "company_links",
    ("tenant_id", "revio_customer_id", "revio_name", "name_key", "rmm_ref", "state", "rule",
     "decided_by", "rmm_company_id", "rmm_name", "score", "candidates", "excluded", "deleted",
     "rmm_deleted", "sync_run_id", "last_event", "version", "folded", "updated_at"),
    key=("tenant_id", "revio_customer_id"),
    update=True,
    json=frozenset({"candidates", "folded"}),
)  # fmt: skip
RMM_COMPANIES = Rows(
    "rmm_companies",
    ("tenant_id", "rmm_company_id", "name", "name_key", "revio_ref", "active", "state", "rule",
     "decided_by", "revio_customer_id", "candidates", "deleted", "sync_run_id", "last_event",
     "version", "folded", "updated_at"),
    key=("tenant_id", "rmm_company_id"),
    update=True,
    json=frozenset({"candidates", "folded"}),
)  # fmt: skip


class CompanyLinks(StreamRows[LinkState]):
    name = "company-links"
    tables = ("company_links",)
    categories = (E.LINK_CATEGORY,)
    rows, loaded = COMPANY_LINKS, "folded"

    def restore(self, key: str, row: asyncpg.Record | None) -> LinkState:
        return LinkState.model_validate((row["folded"] if row else None) or {"customer_id": key})

    def step(self, state: LinkState, event: RecordedEvent) -> LinkState:
        return evolve_link(state, event.type, event.data)  # `row` sets the version

    def row(self, tenant_id: str, link: LinkState, event: RecordedEvent) -> Sequence[Any]:
        link = link.with_(version=event.version)  # once per row, not once per event
        party = customer_party(link) if link.customer else None
        return (
            tenant_id,
            link.customer_id,
            party.name if party else None,
            party.key if party else None,
            (" ".join(party.refs) or None) if party else None,  # all it may name
            link.state,
            link.rule,
            link.decided_by,
            link.rmm_company_id,
            link.rmm.name
            if link.rmm
            else (link.candidates[0]["name"] if link.candidates else None),
            link.score,
            list(link.candidates),
            list(link.excluded),
            link.customer_deleted,
            link.state == "linked" and link.rmm_deleted,  # the linked company, deleted in RMM
            link.sync_run_id,
            event.type,
            event.version,
            link.model_dump(mode="json"),
            event.recorded_at,
        )


class RmmCompanies(StreamRows[RmmState]):
    name = "rmm-companies"
    tables = ("rmm_companies",)
    categories = (E.RMM_CATEGORY,)
    rows, loaded = RMM_COMPANIES, "folded"

    def restore(self, key: str, row: asyncpg.Record | None) -> RmmState:
        return RmmState.model_validate((row["folded"] if row else None) or {"rmm_company_id": key})

    def step(self, state: RmmState, event: RecordedEvent) -> RmmState:
        return evolve_rmm(state, event.type, event.data)  # `row` sets the version

    def row(self, tenant_id: str, rmm: RmmState, event: RecordedEvent) -> Sequence[Any]:
        rmm = rmm.with_(version=event.version)  # once per row, not once per event
        party = rmm_party(rmm) if rmm.company else None
        return (
            tenant_id,
            rmm.rmm_company_id,
            party.name if party else None,
            party.key if party else None,
            (" ".join(party.refs) or None) if party else None,  # all it may name
            rmm.company.active if rmm.company else None,
            rmm.state,
            rmm.rule,
            rmm.decided_by,
            rmm.revio_customer_id,
            list(rmm.candidates),
            rmm.deleted,
            rmm.sync_run_id,
            event.type,
            event.version,
            rmm.model_dump(mode="json"),
            event.recorded_at,
        )


COMMANDS = Rows("company_commands", ("tenant_id", "command_id", "stream", "verb"))


class CompanyCommands(Projection):
    name = "company-commands"
    tables = ("company_commands",)
    categories = (E.LINK_CATEGORY, E.RMM_CATEGORY)

    @staticmethod
    def _row(event: RecordedEvent) -> tuple[Any, ...] | None:
        verb = E.REQUESTS.get(event.type)
        if verb is None:
            return None
        return (event.tenant_id, event.data["command_id"], event.stream, verb)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        row = self._row(event)
        if row is not None:
            await conn.execute(COMMANDS.sql, *row)

    async def apply_batch(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        rows = [row for row in map(self._row, events) if row is not None]
        if rows:
            await COMMANDS.write_many(conn, rows)


_RUN_MATCHED = (
    "INSERT INTO company_sync_runs (tenant_id, sync_run_id, first_seen_at,"
    " last_seen_at, matched_at, counts) VALUES ($1, $2, $3, $3, $3, $4)"
    " ON CONFLICT (tenant_id, sync_run_id) DO UPDATE SET"
    " matched_at = excluded.matched_at, counts = excluded.counts"
)
# `seen` observations of both sides: counts added, a total given replaces the one recorded
# The log is read in commit order, which across streams is not the order the services folded
# them in: the row must come out the same in any order. So the times are the least and the
# greatest of the observations (a row the match created holds the match's time until the
# first observation replaces it), and the match leaves them alone.
_RUN_SEEN = (
    "INSERT INTO company_sync_runs AS r (tenant_id, sync_run_id, revio_seen, revio_total,"
    " rmm_seen, rmm_total, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (tenant_id, sync_run_id) DO UPDATE SET"
    " revio_seen = r.revio_seen + excluded.revio_seen,"
    " revio_total = coalesce(excluded.revio_total, r.revio_total),"
    " rmm_seen = r.rmm_seen + excluded.rmm_seen,"
    " rmm_total = coalesce(excluded.rmm_total, r.rmm_total),"
    " first_seen_at = CASE WHEN r.revio_seen + r.rmm_seen = 0 THEN excluded.first_seen_at"
    " ELSE least(r.first_seen_at, excluded.first_seen_at) END,"
    " last_seen_at = CASE WHEN r.revio_seen + r.rmm_seen = 0 THEN excluded.last_seen_at"
    " ELSE greatest(r.last_seen_at, excluded.last_seen_at) END"
)


class CompanySyncRuns(Projection):
    """Per sync run: a `SyncRunMatched` records the match; every `seen` observation of the
    run adds one to its side (a batch adds up the observations between two matches)."""

    name = "company-sync-runs"
    tables = ("company_sync_runs",)
    categories = (E.LINK_CATEGORY, E.RMM_CATEGORY, E.RUN_CATEGORY)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        await self.apply_batch(conn, (event,))

    async def apply_batch(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        writes: list[tuple[str, list[Any]]] = []  # in log order, per run
        adding: dict[tuple[str, str], list[Any]] = {}  # the run's `seen` write being added up
        for event in events:
            data = event.data
            if event.type == E.RUN_MATCHED:
                run = (event.tenant_id, data["sync_run_id"])
                adding.pop(run, None)  # later observations add up after the match
                matched = [*run, event.recorded_at, data.get("counts")]
                writes.append((_RUN_MATCHED, matched))
                continue
            if event.type not in (E.CUSTOMER_OBSERVED, E.RMM_OBSERVED) or data["kind"] != "seen":
                continue
            if not data.get("sync_run_id"):
                continue
            run = (event.tenant_id, data["sync_run_id"])
            seen = adding.get(run)
            if seen is None:
                seen = adding[run] = [*run, 0, None, 0, None, event.recorded_at, None]
                writes.append((_RUN_SEEN, seen))
            side = 2 if event.type == E.CUSTOMER_OBSERVED else 4
            seen[side] += 1
            if data.get("total") is not None:
                seen[side + 1] = data["total"]
            if event.recorded_at < seen[6]:
                seen[6] = event.recorded_at
            if seen[7] is None or event.recorded_at > seen[7]:
                seen[7] = event.recorded_at
        for sql, group in itertools.groupby(writes, key=lambda write: write[0]):
            await conn.executemany(sql, [args for _, args in group])


PROJECTIONS: tuple[Projection, ...] = (
    CompanyLinks(),
    RmmCompanies(),
    CompanyCommands(),
    CompanySyncRuns(),
)
