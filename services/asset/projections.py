"""Read models of the asset service, folded in the transaction of each decision:

- `assets`: one row per asset (`asset:<identifier>`): its endpoint, company, state and the
  rule behind it, the Rev.io customer and asset ids, and the folded `AssetState`; the
  console and the alert service read it (the Rev.io asset of an endpoint);
- `asset_endpoints`: every endpoint id an asset had (a reinstalled agent keeps its asset);
- `asset_commands`: every command sent, so its result finds the asset it is about.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from revsync.eventlog.model import RecordedEvent
from revsync.projection import Projection, StreamRows, Write

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


_ENDPOINT = (
    "INSERT INTO asset_endpoints (tenant_id, endpoint_id, identifier)"
    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
)
_COMMAND = (
    "INSERT INTO asset_commands (tenant_id, command_id, stream, verb)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
)


class Assets(StreamRows[AssetState]):
    name = "assets"
    tables = ("assets", "asset_endpoints", "asset_commands")
    categories = (E.CATEGORY,)
    table, key_column, loaded, upsert = "assets", "identifier", "folded", _UPSERT

    def restore(self, key: str, row: asyncpg.Record | None) -> AssetState:
        return AssetState.model_validate(row["folded"]) if row else AssetState(identifier=key)

    def step(self, state: AssetState, event: RecordedEvent) -> AssetState:
        return evolve(state, event.type, event.data)  # `row` sets the version

    def row(self, tenant_id: str, state: AssetState, event: RecordedEvent) -> Sequence[Any]:
        state = state.with_(version=event.version)  # once per row, not once per event
        endpoint = state.endpoint
        return (
            tenant_id,
            self.key(event),
            endpoint.id if endpoint else None,
            endpoint.company_id if endpoint else None,
            endpoint.category if endpoint else None,
            endpoint.hostname if endpoint else None,
            state.state,
            state.rule,
            state.revio_customer_id,
            state.revio_asset_id,
            event.type,
            event.version,
            state.model_dump(mode="json"),
            event.recorded_at,
        )

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        if event.type == E.OBSERVED:
            yield _ENDPOINT, (event.tenant_id, event.data["endpoint"]["id"], self.key(event))
        verb = E.REQUESTS.get(event.type)
        if verb is not None:
            yield _COMMAND, (event.tenant_id, event.data["command_id"], event.stream, verb)


PROJECTIONS: tuple[Projection, ...] = (Assets(),)
