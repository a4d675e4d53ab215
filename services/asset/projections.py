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
from revsync.projection import Projection, Rows, StreamRows, Write

from services.asset import events as E
from services.asset.state import AssetState, evolve

ASSETS = Rows(
    "assets",
    ("tenant_id", "identifier", "endpoint_id", "rmm_company_id", "category", "hostname",
     "state", "rule", "revio_customer_id", "revio_asset_id", "last_event", "version", "folded",
     "updated_at"),
    key=("tenant_id", "identifier"),
    update=True,
    json=frozenset({"folded"}),
)  # fmt: skip
ENDPOINTS = Rows("asset_endpoints", ("tenant_id", "endpoint_id", "identifier"))
COMMANDS = Rows("asset_commands", ("tenant_id", "command_id", "stream", "verb"))


class Assets(StreamRows[AssetState]):
    name = "assets"
    tables = ("assets", "asset_endpoints", "asset_commands")
    categories = (E.CATEGORY,)
    rows, loaded = ASSETS, "folded"

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
            yield ENDPOINTS, (event.tenant_id, event.data["endpoint"]["id"], self.key(event))
        verb = E.REQUESTS.get(event.type)
        if verb is not None:
            yield COMMANDS, (event.tenant_id, event.data["command_id"], event.stream, verb)


PROJECTIONS: tuple[Projection, ...] = (Assets(),)
