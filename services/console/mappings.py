"""Customer <-> company mappings as the console sees them, behind one small port.

The company service owns the links: its decisions are events on `company-link:<Rev.io
customer id>` streams, folded into its `company_links` and `rmm_companies` projections
(migration 005), and a person's actions go through `services.company.manual`, which appends
the decisions with the person as actor. The console never writes links itself. A mapping's
id is the Rev.io customer id, the id of its stream. A linked pair whose RMM company was
deleted in RMM stays linked (nothing is undone by automation) and says so (`rmm_deleted`),
for a person to unmap or relink it.
"""

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

# company_links.state; `creating` = an RMM company is being created for the customer
STATES: tuple[str, ...] = ("suggested", "linked", "held", "rejected", "unlinked", "creating")
OPEN_STATES = ("unlinked", "held", "suggested", "rejected")


@dataclass(frozen=True)
class Mapping:
    id: str
    revio_customer_id: str
    rmm_company_id: str | None
    state: str
    revio_name: str | None = None
    rmm_name: str | None = None
    score: float | None = None  # 0-100
    rule: str | None = None
    decided_by: str | None = None
    candidates: tuple[dict[str, Any], ...] = ()
    sync_run_id: str | None = None
    updated_at: datetime | None = None
    rmm_deleted: bool = False  # linked, and the RMM company was deleted in RMM

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "company",
            "state": self.state,
            "revio_customer_id": self.revio_customer_id,
            "revio_name": self.revio_name,
            "rmm_company_id": self.rmm_company_id,
            "rmm_name": self.rmm_name,
            "rmm_deleted": self.rmm_deleted,
            "score": self.score,
            "rule": self.rule,
            "decided_by": self.decided_by,
            "candidates": list(self.candidates),
            "sync_run_id": self.sync_run_id,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True)
class Unlinked:
    """A record of one side without a link (for the search when mapping by hand)."""

    system: str  # rmm (a company) or revio (a customer)
    id: str
    name: str
    active: bool = True


@dataclass
class ConfirmAllOutcome:
    confirmed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


class MappingError(Exception):
    status = 409


class MappingNotFound(MappingError):
    status = 404


class MappingsUnavailable(MappingError):
    status = 503


class MappingStore(Protocol):
    async def list(
        self,
        tenant_id: str,
        state: str | None = None,
        sync_run_id: UUID | None = None,
        rmm_deleted: bool | None = None,
    ) -> list[Mapping]: ...

    async def get(self, tenant_id: str, mapping_id: str) -> Mapping | None: ...

    async def unlinked(self, tenant_id: str, system: str) -> builtins.list[Unlinked]: ...

    async def known_name(self, tenant_id: str, system: str, record_id: str) -> str | None:
        """The name of a record of either side the company service knows (None: unknown)."""
        ...

    async def confirm(
        self, tenant_id: str, mapping_id: str, actor: str, rmm_company_id: str | None = None
    ) -> None: ...

    async def reject(
        self, tenant_id: str, mapping_id: str, actor: str, rmm_company_id: str | None = None
    ) -> None: ...

    async def unlink(self, tenant_id: str, mapping_id: str, actor: str) -> None: ...

    async def link(
        self, tenant_id: str, revio_customer_id: str, rmm_company_id: str, actor: str
    ) -> None: ...

    async def confirm_all(
        self, tenant_id: str, sync_run_id: UUID, actor: str
    ) -> ConfirmAllOutcome: ...


def mapping_from_row(row: Any) -> Mapping:
    run = row["sync_run_id"]
    return Mapping(
        id=row["revio_customer_id"],
        revio_customer_id=row["revio_customer_id"],
        rmm_company_id=row["rmm_company_id"],
        state=row["state"],
        revio_name=row["revio_name"],
        rmm_name=row["rmm_name"],
        score=float(row["score"]) if row["score"] is not None else None,
        rule=row["rule"],
        decided_by=row["decided_by"],
        candidates=tuple(row["candidates"] or ()),
        sync_run_id=str(run) if run is not None else None,
        updated_at=row["updated_at"],
        rmm_deleted=row["rmm_deleted"],
    )


_COLUMNS = (
    "revio_customer_id, rmm_company_id, state, revio_name, rmm_name, score, rule, decided_by,"
    " candidates, sync_run_id, updated_at, rmm_deleted"
)


class CompanyServiceMappings:
    """The port over the company service: its projections for reading, `manual` for acting."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def list(
        self,
        tenant_id: str,
        state: str | None = None,
        sync_run_id: UUID | None = None,
        rmm_deleted: bool | None = None,
    ) -> list[Mapping]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM company_links WHERE tenant_id = $1 AND NOT deleted"
            " AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR sync_run_id = $3)"
            " AND ($4::boolean IS NULL OR rmm_deleted = $4)"
            " ORDER BY state, score DESC NULLS LAST, lower(revio_name), revio_customer_id",
            tenant_id,
            state,
            sync_run_id,
            rmm_deleted,
        )
        return [mapping_from_row(row) for row in rows]

    async def get(self, tenant_id: str, mapping_id: str) -> Mapping | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM company_links WHERE tenant_id = $1 AND revio_customer_id = $2",
            tenant_id,
            mapping_id,
        )
        return mapping_from_row(row) if row else None

    async def unlinked(self, tenant_id: str, system: str) -> builtins.list[Unlinked]:
        if system == "rmm":
            rows = await self.pool.fetch(
                "SELECT rmm_company_id AS id, name, coalesce(active, true) AS active"
                " FROM rmm_companies WHERE tenant_id = $1 AND state = 'unlinked'"
                " AND NOT deleted AND name IS NOT NULL",
                tenant_id,
            )
        else:
            rows = await self.pool.fetch(
                "SELECT revio_customer_id AS id, revio_name AS name, true AS active"
                " FROM company_links WHERE tenant_id = $1 AND state = ANY($2::text[])"
                " AND NOT deleted AND revio_name IS NOT NULL",
                tenant_id,
                list(OPEN_STATES),
            )
        return [Unlinked(system, r["id"], r["name"], r["active"]) for r in rows]

    async def known_name(self, tenant_id: str, system: str, record_id: str) -> str | None:
        # what `services.company.manual` knows: a customer its stream saw, a company not deleted
        if system == "rmm":
            sql = (
                "SELECT name FROM rmm_companies WHERE tenant_id = $1 AND rmm_company_id = $2"
                " AND NOT deleted"
            )
        else:
            sql = (
                "SELECT revio_name FROM company_links WHERE tenant_id = $1"
                " AND revio_customer_id = $2"
            )
        name = await self.pool.fetchval(sql, tenant_id, record_id)
        return None if name is None else str(name)

    async def _run(self, operation: str, **kwargs: Any) -> Any:
        from services.company import manual

        try:
            return await getattr(manual, operation)(self.pool, **kwargs)
        except manual.ManualOperationError as error:
            if error.code == "not_found":
                raise MappingNotFound(str(error)) from error
            raise MappingError(str(error)) from error

    async def confirm(
        self, tenant_id: str, mapping_id: str, actor: str, rmm_company_id: str | None = None
    ) -> None:
        await self._run(
            "confirm",
            tenant_id=tenant_id,
            revio_customer_id=mapping_id,
            actor=actor,
            rmm_company_id=rmm_company_id,
        )

    async def reject(
        self, tenant_id: str, mapping_id: str, actor: str, rmm_company_id: str | None = None
    ) -> None:
        await self._run(
            "reject",
            tenant_id=tenant_id,
            revio_customer_id=mapping_id,
            actor=actor,
            rmm_company_id=rmm_company_id,
        )

    async def unlink(self, tenant_id: str, mapping_id: str, actor: str) -> None:
        await self._run("unlink", tenant_id=tenant_id, revio_customer_id=mapping_id, actor=actor)

    async def link(
        self, tenant_id: str, revio_customer_id: str, rmm_company_id: str, actor: str
    ) -> None:
        await self._run(
            "link",
            tenant_id=tenant_id,
            revio_customer_id=revio_customer_id,
            rmm_company_id=rmm_company_id,
            actor=actor,
        )

    async def confirm_all(self, tenant_id: str, sync_run_id: UUID, actor: str) -> ConfirmAllOutcome:
        report = await self._run(
            "confirm_all", tenant_id=tenant_id, sync_run_id=sync_run_id, actor=actor
        )
        return ConfirmAllOutcome(list(report.confirmed), dict(report.skipped))
