"""Read models of the company service, folded in the transaction of each decision:

- `company_links`: one row per Rev.io customer, its link state, the rule behind it, the
  suggestion candidates and the folded `LinkState`; the console's mapping review and the
  other services read it (`state = 'linked'`), only this service writes it;
- `rmm_companies`: one row per RMM company seen unlinked (mapping review, matching pools);
- `company_commands`: every command sent, so its result finds its stream;
- `company_sync_runs`: per sync run, how much of each listing was seen and when it was
  matched.
"""

from typing import Any

from revsync.db import Conn
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Projection

from services.company import events as E
from services.company.decide import customer_party, rmm_party
from services.company.state import LinkState, RmmState, evolve_link, evolve_rmm

_LINK_UPSERT = """
INSERT INTO company_links (tenant_id, revio_customer_id, revio_name, name_key, rmm_ref, state,
    rule, decided_by, rmm_company_id, rmm_name, score, candidates, excluded, deleted,
    sync_run_id, last_event, version, folded, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (tenant_id, revio_customer_id) DO UPDATE SET
    revio_name = excluded.revio_name, name_key = excluded.name_key, rmm_ref = excluded.rmm_ref,
    state = excluded.state, rule = excluded.rule, decided_by = excluded.decided_by,
    rmm_company_id = excluded.rmm_company_id, rmm_name = excluded.rmm_name,
    score = excluded.score, candidates = excluded.candidates, excluded = excluded.excluded,
    deleted = excluded.deleted, sync_run_id = excluded.sync_run_id,
    last_event = excluded.last_event, version = excluded.version, folded = excluded.folded,
    updated_at = excluded.updated_at
"""
_RMM_UPSERT = """
INSERT INTO rmm_companies (tenant_id, rmm_company_id, name, name_key, revio_ref, active, state,
    rule, decided_by, revio_customer_id, candidates, deleted, sync_run_id, last_event, version,
    folded, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (tenant_id, rmm_company_id) DO UPDATE SET
    name = excluded.name, name_key = excluded.name_key, revio_ref = excluded.revio_ref,
    active = excluded.active, state = excluded.state, rule = excluded.rule,
    decided_by = excluded.decided_by, revio_customer_id = excluded.revio_customer_id,
    candidates = excluded.candidates, deleted = excluded.deleted,
    sync_run_id = excluded.sync_run_id, last_event = excluded.last_event,
    version = excluded.version, folded = excluded.folded, updated_at = excluded.updated_at
"""


def _id_of(event: RecordedEvent) -> str:
    return event.stream.split(":", 1)[1]


async def _folded(conn: Conn, table: str, key: str, event: RecordedEvent) -> Any:
    """The row's folded state, or None if the event is already folded (idempotent)."""
    row = await conn.fetchrow(
        f"SELECT version, folded FROM {table} WHERE tenant_id = $1 AND {key} = $2 FOR UPDATE",
        event.tenant_id,
        _id_of(event),
    )
    if row is not None and row["version"] >= event.version:
        return None
    return row["folded"] if row else {}


class CompanyLinks(Projection):
    name = "company-links"
    tables = ("company_links",)
    categories = (E.LINK_CATEGORY,)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        folded = await _folded(conn, "company_links", "revio_customer_id", event)
        if folded is None:
            return
        before = LinkState.model_validate(folded or {"customer_id": _id_of(event)})
        link = evolve_link(before, event.type, event.data).with_(version=event.version)
        party = customer_party(link) if link.customer else None
        await conn.execute(
            _LINK_UPSERT,
            event.tenant_id,
            link.customer_id,
            party.name if party else None,
            party.key if party else None,
            party.ref if party else None,
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
            link.sync_run_id,
            event.type,
            event.version,
            link.model_dump(mode="json"),
            event.recorded_at,
        )


class RmmCompanies(Projection):
    name = "rmm-companies"
    tables = ("rmm_companies",)
    categories = (E.RMM_CATEGORY,)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        folded = await _folded(conn, "rmm_companies", "rmm_company_id", event)
        if folded is None:
            return
        before = RmmState.model_validate(folded or {"rmm_company_id": _id_of(event)})
        rmm = evolve_rmm(before, event.type, event.data).with_(version=event.version)
        party = rmm_party(rmm) if rmm.company else None
        await conn.execute(
            _RMM_UPSERT,
            event.tenant_id,
            rmm.rmm_company_id,
            party.name if party else None,
            party.key if party else None,
            party.ref if party else None,
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


class CompanyCommands(Projection):
    name = "company-commands"
    tables = ("company_commands",)
    categories = (E.LINK_CATEGORY, E.RMM_CATEGORY)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        verb = E.REQUESTS.get(event.type)
        if verb is None:
            return
        await conn.execute(
            "INSERT INTO company_commands (tenant_id, command_id, stream, verb)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            event.tenant_id,
            event.data["command_id"],
            event.stream,
            verb,
        )


class CompanySyncRuns(Projection):
    name = "company-sync-runs"
    tables = ("company_sync_runs",)
    categories = (E.LINK_CATEGORY, E.RMM_CATEGORY, E.RUN_CATEGORY)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        data = event.data
        if event.type == E.RUN_MATCHED:
            await conn.execute(
                "INSERT INTO company_sync_runs (tenant_id, sync_run_id, first_seen_at,"
                " last_seen_at, matched_at, counts) VALUES ($1, $2, $3, $3, $3, $4)"
                " ON CONFLICT (tenant_id, sync_run_id) DO UPDATE SET"
                " matched_at = excluded.matched_at, counts = excluded.counts",
                event.tenant_id,
                data["sync_run_id"],
                event.recorded_at,
                data.get("counts"),
            )
            return
        if event.type not in (E.CUSTOMER_OBSERVED, E.RMM_OBSERVED) or data["kind"] != "seen":
            return
        if not data.get("sync_run_id"):
            return
        side = "revio" if event.type == E.CUSTOMER_OBSERVED else "rmm"
        await conn.execute(
            f"INSERT INTO company_sync_runs (tenant_id, sync_run_id, {side}_seen, {side}_total,"
            " first_seen_at, last_seen_at) VALUES ($1, $2, 1, $3, $4, $4)"
            " ON CONFLICT (tenant_id, sync_run_id) DO UPDATE SET"
            f" {side}_seen = company_sync_runs.{side}_seen + 1,"
            f" {side}_total = coalesce(excluded.{side}_total, company_sync_runs.{side}_total),"
            " last_seen_at = greatest(company_sync_runs.last_seen_at, excluded.last_seen_at)",
            event.tenant_id,
            data["sync_run_id"],
            data.get("total"),
            event.recorded_at,
        )


PROJECTIONS: tuple[Projection, ...] = (
    CompanyLinks(),
    RmmCompanies(),
    CompanyCommands(),
    CompanySyncRuns(),
)
