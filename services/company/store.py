"""The company service's transaction: loading state, matching pools, appending decisions.

`CompanyTx` wraps one `UnitOfWork`. States are loaded from the projection rows (the folded
stream and its version), decisions are appended with that version as the expected version
(a concurrent decider on the same stream gets `ConcurrencyError` and the handler retries from
fresh state) and folded into the projections in the same transaction, so later reads of
the same transaction (matching pools) see them.

Matching and linking take the tenant's matching lock (an advisory transaction lock):
exclusive for a decision that reads the pools or changes a link, shared for a handler that
only records a sync run's listing, so that a run's batch matching never misses a record
observed while it runs and two new records never both think their name is unique.
"""

from typing import Any
from uuid import UUID

from revsync.contracts.base import Command
from revsync.db import Conn
from revsync.decision import Decision
from revsync.eventlog.model import NewEvent
from revsync.unit_of_work import UnitOfWork

from services.company import events as E
from services.company.matching import Party
from services.company.projections import PROJECTIONS
from services.company.state import OPEN_LINK_STATES, LinkState, RmmState


class Retry(Exception):
    """The state changed under the handler's assumptions (e.g. the lock it took): decide
    again from fresh state, with the exclusive matching lock."""


async def peek_link(conn: Conn, tenant_id: str, customer_id: str) -> LinkState | None:
    folded = await conn.fetchval(
        "SELECT folded FROM company_links WHERE tenant_id = $1 AND revio_customer_id = $2",
        tenant_id,
        customer_id,
    )
    return LinkState.model_validate(folded) if folded else None


async def peek_rmm(conn: Conn, tenant_id: str, rmm_company_id: str) -> RmmState | None:
    folded = await conn.fetchval(
        "SELECT folded FROM rmm_companies WHERE tenant_id = $1 AND rmm_company_id = $2",
        tenant_id,
        rmm_company_id,
    )
    return RmmState.model_validate(folded) if folded else None


async def run_matched(conn: Conn, tenant_id: str, sync_run_id: object) -> bool:
    """Whether the run's unlinked records were matched already (a record of an unknown run
    is about to start it: not matched)."""
    matched = await conn.fetchval(
        "SELECT matched_at IS NOT NULL FROM company_sync_runs"
        " WHERE tenant_id = $1 AND sync_run_id = $2",
        tenant_id,
        UUID(str(sync_run_id)),
    )
    return bool(matched)


class CompanyTx:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.tenant_id = uow.tenant_id

    @property
    def conn(self) -> Conn:
        return self.uow.conn

    async def lock_matching(self, shared: bool = False) -> None:
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        await self.conn.execute(
            f"SELECT {function}(hashtextextended($1, 0))", f"{self.tenant_id}\x1fcompany-matching"
        )

    async def link(self, customer_id: str) -> LinkState:
        found = await peek_link(self.conn, self.tenant_id, customer_id)
        return found or LinkState(customer_id=customer_id)

    async def rmm(self, rmm_company_id: str) -> RmmState:
        found = await peek_rmm(self.conn, self.tenant_id, rmm_company_id)
        return found or RmmState(rmm_company_id=rmm_company_id)

    async def _append(self, stream: str, version: int, events: tuple[NewEvent, ...]) -> None:
        await self.uow.append(stream, events, expected_version=version, projections=PROJECTIONS)

    async def record_link(
        self, link: LinkState, decision: Decision | tuple[NewEvent, ...]
    ) -> LinkState:
        """Append to the customer's stream, send the decision's commands; the new state."""
        events = self._send(decision)
        if not events:
            return link
        await self._append(E.link_stream(link.customer_id), link.version, events)
        return await self.link(link.customer_id)

    async def record_rmm(
        self, rmm: RmmState, decision: Decision | tuple[NewEvent, ...]
    ) -> RmmState:
        events = self._send(decision)
        if not events:
            return rmm
        await self._append(E.rmm_stream(rmm.rmm_company_id), rmm.version, events)
        return await self.rmm(rmm.rmm_company_id)

    async def record_run(self, sync_run_id: object, events: tuple[NewEvent, ...]) -> None:
        await self._append(E.run_stream(sync_run_id), 0, events)

    def _send(self, decision: Decision | tuple[NewEvent, ...]) -> tuple[NewEvent, ...]:
        if isinstance(decision, Decision):
            self.send(decision.commands)
            return decision.events
        return decision

    def send(self, commands: tuple[Command, ...]) -> None:
        for command in commands:
            self.uow.send(command)

    async def run_matched(self, sync_run_id: object) -> bool:
        return await run_matched(self.conn, self.tenant_id, sync_run_id)

    async def run_to_wait_for(self, own_run: object) -> UUID | None:
        """The sync run an unlinked record's observation leaves its matching to, or None to
        match it now: its own run while that is still listing; for an observation outside
        any run (a connector's poll), a run of the tenant that is still listing. That run's
        batch matches every record left to it against both full listings (matching it now
        would need the exclusive matching lock, which stalls every observation of the run
        behind it, and would miss what the run has not listed yet)."""
        if own_run is not None:
            return None if await self.run_matched(own_run) else UUID(str(own_run))
        found = await self.conn.fetchval(
            "SELECT sync_run_id FROM company_sync_runs"
            " WHERE tenant_id = $1 AND matched_at IS NULL"
            " ORDER BY first_seen_at DESC LIMIT 1",
            self.tenant_id,
        )
        return found if isinstance(found, UUID) else None

    async def any_run_matched(self) -> bool:
        """Whether both sides were listed in full once: some sync run of the tenant was
        matched (nothing is created automatically before that)."""
        matched = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM company_sync_runs"
            " WHERE tenant_id = $1 AND matched_at IS NOT NULL)",
            self.tenant_id,
        )
        return bool(matched)

    # --- matching pools -----------------------------------------------------------------

    async def open_rmm_companies(self) -> list[RmmState]:
        """RMM companies a customer may be matched with (being created in Rev.io included:
        their strong key may still link them)."""
        rows = await self.conn.fetch(
            "SELECT folded FROM rmm_companies WHERE tenant_id = $1 AND NOT deleted"
            " AND state IN ('unlinked', 'creating_customer') AND name IS NOT NULL"
            " ORDER BY rmm_company_id",
            self.tenant_id,
        )
        return [RmmState.model_validate(row["folded"]) for row in rows]

    async def open_rmm_parties(self) -> list[Party]:
        """`open_rmm_companies` as matching sees them (`rmm_party`), read from the columns the
        projection keeps for it: a steady-state match reads every open RMM company, and
        validating each one's folded state made that cost grow with the tenant's size."""
        rows = await self.conn.fetch(
            "SELECT rmm_company_id, name, name_key, revio_ref, state FROM rmm_companies"
            " WHERE tenant_id = $1 AND NOT deleted"
            " AND state IN ('unlinked', 'creating_customer') AND name IS NOT NULL"
            " ORDER BY rmm_company_id",
            self.tenant_id,
        )
        return [
            Party(row["rmm_company_id"], row["name"], row["name_key"] or "",
                  tuple((row["revio_ref"] or "").split()), row["state"] == "unlinked")
            for row in rows
        ]  # fmt: skip

    async def open_customer_parties(self) -> list[tuple[Party, tuple[str, ...]]]:
        """`open_links` as matching sees them (`customer_party`), each with the RMM companies
        a person excluded for it, from the projection's columns (see `open_rmm_parties`)."""
        rows = await self.conn.fetch(
            "SELECT revio_customer_id, revio_name, name_key, rmm_ref, state, excluded"
            " FROM company_links WHERE tenant_id = $1 AND NOT deleted"
            " AND state IN ('unlinked', 'held', 'suggested', 'rejected', 'creating')"
            " AND revio_name IS NOT NULL ORDER BY revio_customer_id",
            self.tenant_id,
        )
        return [
            (Party(row["revio_customer_id"], row["revio_name"], row["name_key"] or "",
                   tuple((row["rmm_ref"] or "").split()), row["state"] in OPEN_LINK_STATES),
             tuple(row["excluded"]))
            for row in rows
        ]  # fmt: skip

    async def open_links(self) -> list[LinkState]:
        rows = await self.conn.fetch(
            "SELECT folded FROM company_links WHERE tenant_id = $1 AND NOT deleted"
            " AND state IN ('unlinked', 'held', 'suggested', 'rejected', 'creating')"
            " AND revio_name IS NOT NULL ORDER BY revio_customer_id",
            self.tenant_id,
        )
        return [LinkState.model_validate(row["folded"]) for row in rows]

    async def name_counts(self, side: str, key: str | None = None) -> dict[str, int]:
        """How many known (not deleted) records of a side have each normalized name (only
        `key`'s count when given). RMM companies linked to a customer are counted under the
        name they had when last seen unlinked."""
        table = "company_links" if side == "revio" else "rmm_companies"
        where = " AND name_key = $2" if key is not None else ""
        rows = await self.conn.fetch(
            f"SELECT name_key, count(*) AS n FROM {table} WHERE tenant_id = $1 AND NOT deleted"
            f" AND name_key IS NOT NULL{where} GROUP BY name_key",
            self.tenant_id,
            *([key] if key is not None else []),
        )
        return {row["name_key"]: int(row["n"]) for row in rows}

    async def command(self, command_id: UUID) -> tuple[str, str] | None:
        row = await self.conn.fetchrow(
            "SELECT stream, verb FROM company_commands WHERE tenant_id = $1 AND command_id = $2",
            self.tenant_id,
            command_id,
        )
        return (row["stream"], row["verb"]) if row else None

    async def request_of(self, stream: str, command_id: UUID) -> dict[str, Any] | None:
        """The decision event that sent a command (to undo it when it failed)."""
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            "SELECT data FROM events WHERE tenant_id = $1 AND stream = $2"
            " AND data ->> 'command_id' = $3 ORDER BY version LIMIT 1",
            self.tenant_id,
            stream,
            str(command_id),
        )
