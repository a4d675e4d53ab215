"""Read models of the asset service, folded in the transaction of each decision:

- `assets`: one row per asset (`asset:<identifier>`): its endpoint, company, state and the
  rule behind it, the Rev.io customer and asset ids, and the folded `AssetState`; the
  console and the alert service read it (the Rev.io asset of an endpoint);
- `asset_endpoints`: every endpoint id an asset had (a reinstalled agent keeps its asset);
- `asset_commands`: every command sent, so its result finds the asset it is about.
"""

from revsync.db import Conn
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Projection

from services.asset import events as E
from services.asset.state import AssetState, evolve

_UPSERT = """
INSERT INTO assets (tenant_id, identifier, endpoint_id, rmm_company_id, category, hostname,
    state, rule, revio_customer_id, revio_asset_id, last_event, version, folded, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (tenant_id, identifier) DO UPDATE SET
    endpoint_id = excluded.endpoint_id, rmm_company_id = excluded.rmm_company_id,
    category = excluded.category, hostname = excluded.hostname, state = excluded.state,
    rule = excluded.rule, revio_customer_id = excluded.revio_customer_id,
    revio_asset_id = excluded.revio_asset_id, last_event = excluded.last_event,
    version = excluded.version, folded = excluded.folded, updated_at = excluded.updated_at
"""


class Assets(Projection):
    name = "assets"
    tables = ("assets", "asset_endpoints", "asset_commands")
    categories = (E.CATEGORY,)

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        identifier = event.stream.split(":", 1)[1]
        row = await conn.fetchrow(
            "SELECT version, folded FROM assets WHERE tenant_id = $1 AND identifier = $2"
            " FOR UPDATE",
            event.tenant_id,
            identifier,
        )
        if row is not None and row["version"] >= event.version:
            return  # already folded
        before = (
            AssetState.model_validate(row["folded"]) if row else AssetState(identifier=identifier)
        )
        asset = evolve(before, event.type, event.data).with_(version=event.version)
        endpoint = asset.endpoint
        await conn.execute(
            _UPSERT,
            event.tenant_id,
            identifier,
            endpoint.id if endpoint else None,
            endpoint.company_id if endpoint else None,
            endpoint.category if endpoint else None,
            endpoint.hostname if endpoint else None,
            asset.state,
            asset.rule,
            asset.revio_customer_id,
            asset.revio_asset_id,
            event.type,
            event.version,
            asset.model_dump(mode="json"),
            event.recorded_at,
        )
        if event.type == E.OBSERVED:
            await conn.execute(
                "INSERT INTO asset_endpoints (tenant_id, endpoint_id, identifier)"
                " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                event.tenant_id,
                event.data["endpoint"]["id"],
                identifier,
            )
        verb = E.REQUESTS.get(event.type)
        if verb is not None:
            await conn.execute(
                "INSERT INTO asset_commands (tenant_id, command_id, stream, verb)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                event.tenant_id,
                event.data["command_id"],
                event.stream,
                verb,
            )


PROJECTIONS: tuple[Projection, ...] = (Assets(),)
