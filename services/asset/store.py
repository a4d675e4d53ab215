"""The asset service's reads and writes within one unit of work.

The link of an endpoint's company is read from the company service's `company_links`
projection, under a shared advisory lock per (tenant, RMM company). The link follower
(`follower.py`) takes the same lock exclusively before it looks for parked endpoints of a
company that just linked: a handler that parked an endpoint because the link was not
there yet has then committed (its endpoint is found), and any handler after it sees the
link. So no endpoint stays parked behind a link.
"""

from uuid import UUID

from revsync.contracts.rmm import RmmEndpoint
from revsync.db import Conn
from revsync.decision import Decision
from revsync.eventlog.model import NewEvent
from revsync.unit_of_work import UnitOfWork

from services.asset import events as E
from services.asset.identity import identifier_for
from services.asset.projections import PROJECTIONS
from services.asset.state import AssetState, fold_onto


def company_lock_key(tenant_id: str, rmm_company_id: str) -> str:
    return f"{tenant_id}\x1fasset-company:{rmm_company_id}"


async def company_barrier(conn: Conn, tenant_id: str, rmm_company_id: str) -> None:
    """Wait until every handler that read this company's link has committed."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        company_lock_key(tenant_id, rmm_company_id),
    )


class AssetTx:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.tenant_id = uow.tenant_id

    @property
    def conn(self) -> Conn:
        return self.uow.conn

    async def asset_of(self, endpoint: RmmEndpoint) -> AssetState:
        """The asset an endpoint belongs to (`identifier_for`: the one it already has, else
        its serial number or id), in one round trip."""
        row = await self.conn.fetchrow(
            "SELECT known.identifier, a.folded FROM (SELECT coalesce("
            " (SELECT identifier FROM asset_endpoints WHERE tenant_id = $1 AND endpoint_id = $2),"
            " $3) AS identifier) AS known"
            " LEFT JOIN assets a ON a.tenant_id = $1 AND a.identifier = known.identifier",
            self.tenant_id,
            endpoint.id,
            identifier_for(endpoint, None),
        )
        assert row is not None
        return self._restore(row["identifier"], row["folded"])

    async def asset(self, identifier: str) -> AssetState:
        folded = await self.conn.fetchval(
            "SELECT folded FROM assets WHERE tenant_id = $1 AND identifier = $2",
            self.tenant_id,
            identifier,
        )
        return self._restore(identifier, folded)

    @staticmethod
    def _restore(identifier: str, folded: object) -> AssetState:
        return AssetState.model_validate(folded) if folded else AssetState(identifier=identifier)

    async def linked_customer(self, rmm_company_id: str) -> str | None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))",
            company_lock_key(self.tenant_id, rmm_company_id),
        )
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            "SELECT revio_customer_id FROM company_links"
            " WHERE tenant_id = $1 AND rmm_company_id = $2 AND state = 'linked'",
            self.tenant_id,
            rmm_company_id,
        )

    async def record(
        self, asset: AssetState, decision: Decision | tuple[NewEvent, ...]
    ) -> AssetState:
        if isinstance(decision, Decision):
            for command in decision.commands:
                self.uow.send(command)
            events = decision.events
        else:
            events = decision
        if not events:
            return asset
        await self.uow.append(
            E.asset_stream(asset.identifier),
            events,
            expected_version=asset.version,
            projections=PROJECTIONS,
        )
        # the same fold the projection just wrote (an append that succeeded at the expected
        # version leaves no other event in between), without reading it back
        return fold_onto(asset, events)

    async def commanded(self, command_id: UUID) -> tuple[AssetState, str] | None:
        """The asset that sent a command, and the command's verb (None: not ours); one round
        trip."""
        row = await self.conn.fetchrow(
            "SELECT c.stream, c.verb, a.folded FROM asset_commands c"
            " LEFT JOIN assets a ON a.tenant_id = c.tenant_id"
            " AND a.identifier = substr(c.stream, length($3) + 1)"
            " WHERE c.tenant_id = $1 AND c.command_id = $2",
            self.tenant_id,
            command_id,
            E.asset_stream(""),
        )
        if row is None:
            return None
        identifier = row["stream"].removeprefix(E.asset_stream(""))
        return self._restore(identifier, row["folded"]), row["verb"]

    async def assets_to_revisit(self, rmm_company_id: str, customer_id: str) -> list[str]:
        """Assets of a company that just linked: parked ones, and those synced for another
        customer."""
        rows = await self.conn.fetch(
            "SELECT identifier FROM assets WHERE tenant_id = $1 AND rmm_company_id = $2"
            " AND (state = 'parked' OR (state IN ('pending', 'synced', 'failed')"
            " AND revio_customer_id IS DISTINCT FROM $3)) ORDER BY identifier",
            self.tenant_id,
            rmm_company_id,
            customer_id,
        )
        return [row["identifier"] for row in rows]
