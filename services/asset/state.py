"""The asset service's state: the fold of one `asset:<identifier>` stream (pure).

Why the stream is keyed by the stable identifier (serial number, else the first endpoint
id) and not by endpoint id: reinstalling an agent gives the same machine a new endpoint id;
keyed by serial, the new endpoint lands on the same stream, so it can never become a second
asset. `asset_endpoints` (projection) maps every endpoint id an asset had to its identifier,
so an endpoint keeps its asset even if its serial number is reported later or changes.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from revsync.contracts.base import copy_with
from revsync.contracts.rmm import RmmEndpoint
from revsync.eventlog.model import NewEvent, RecordedEvent

from services.asset import events as E

AssetStatus = Literal["observed", "skipped", "parked", "pending", "synced", "retired", "failed"]


class AssetState(BaseModel):
    model_config = ConfigDict(frozen=True)

    identifier: str
    version: int = 0
    state: AssetStatus = "observed"
    rule: str | None = None
    endpoint: RmmEndpoint | None = None  # the endpoint the asset follows now
    endpoint_deleted: bool = False
    previous_endpoint_ids: tuple[str, ...] = ()
    observed_at: datetime | None = None
    sync_run_id: str | None = None
    skipped_as: tuple[str, ...] | None = None  # (rule, category, selection) last recorded
    parked_on: str | None = None  # RMM company it waits for
    revio_customer_id: str | None = None
    revio_asset_id: str | None = None
    pushed: dict[str, Any] | None = None  # the asset as last sent to Rev.io
    latest_upsert: str | None = None  # the command that sent `pushed`
    latest_landed_at: datetime | None = None  # when it was applied (its result's time)
    older_landed_at: datetime | None = None  # the last time an earlier upsert was applied
    pending: dict[str, dict[str, Any]] = Field(default_factory=dict)  # command id -> what it was
    written: dict[str, Any] | None = None  # the last write-back that landed: endpoint_id, value, at

    def with_(self, **changes: Any) -> "AssetState":
        return copy_with(self, changes)

    def follows(self, endpoint_id: str) -> bool:
        return self.endpoint is None or self.endpoint.id == endpoint_id


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _without(pending: dict[str, dict[str, Any]], command_id: Any) -> dict[str, Any]:
    return {k: v for k, v in pending.items() if k != command_id}


def as_known(asset: AssetState, endpoint: RmmEndpoint, observed_at: datetime) -> RmmEndpoint:
    """The endpoint as an observation read at `observed_at` shows it, except the Rev.io id
    field when the observation may predate revsync's own write of it (a write in flight, or
    one that landed after the observation was read): that value is the one RMM holds or
    will hold, and the observation is not news (it would ask for the same write again)."""
    value: str | None = None
    found = False
    for entry in asset.pending.values():
        if entry["verb"] == E.WRITE_BACK_VERB and entry.get("endpoint_id") == endpoint.id:
            found, value = True, entry["value"]
    written = asset.written
    if not found and written and written["endpoint_id"] == endpoint.id and written.get("at"):
        found, value = observed_at < _time(written["at"]), written["value"]
    if not found or endpoint.revio_asset_id == value:
        return endpoint
    return endpoint.model_copy(update={"revio_asset_id": value})


def _observed(asset: AssetState, data: dict[str, Any]) -> AssetState:
    if data.get("stale") or data.get("superseded"):
        return asset
    observed_at = _time(data["observed_at"])
    endpoint = as_known(asset, RmmEndpoint.model_validate(data["endpoint"]), observed_at)
    return asset.with_(
        endpoint=endpoint,
        endpoint_deleted=data["kind"] == "deleted",
        observed_at=observed_at,
        sync_run_id=data.get("sync_run_id") or asset.sync_run_id,
    )


def _requested(asset: AssetState, data: dict[str, Any], retire: bool) -> AssetState:
    pushed = {key: data[key] for key in ("revio_customer_id", "asset_type_id", "status", "fields")}
    entry = {"verb": E.UPSERT_VERB, "retire": retire}
    return asset.with_(
        latest_upsert=data["command_id"],
        latest_landed_at=None,
        older_landed_at=None,  # what landed before this request landed before its write
        state="retired" if retire else "pending",
        rule=data["rule"],
        pushed=pushed,
        revio_customer_id=data["revio_customer_id"],
        parked_on=None,
        skipped_as=None,
        pending={**asset.pending, data["command_id"]: entry},
    )


def _field_value(asset: AssetState, value: str | None) -> AssetState:
    if asset.endpoint is None:
        return asset
    return asset.with_(endpoint=asset.endpoint.model_copy(update={"revio_asset_id": value}))


def evolve(asset: AssetState, type_: str, data: dict[str, Any]) -> AssetState:
    """The asset after one of its events (unknown event types change nothing)."""
    command_id = str(data.get("command_id"))
    if type_ == E.OBSERVED:
        return _observed(asset, data)
    if type_ == E.REPLACED:
        previous = (*asset.previous_endpoint_ids, data["previous_endpoint_id"])
        return asset.with_(previous_endpoint_ids=previous)
    if type_ == E.SKIPPED:
        skipped_as = (data["rule"], data["category"], ",".join(data["selected_categories"]))
        return asset.with_(
            state="skipped", rule=data["rule"], skipped_as=skipped_as, parked_on=None
        )
    if type_ == E.PARKED:
        return asset.with_(
            state="parked", rule=data["rule"], parked_on=data["rmm_company_id"], skipped_as=None
        )
    if type_ == E.UPSERT_REQUESTED:
        return _requested(asset, data, retire=False)
    if type_ == E.RETIRE_REQUESTED:
        return _requested(asset, data, retire=True)
    if type_ == E.DELETE_IGNORED:
        if data["rule"] == "no_asset":
            return asset.with_(state="retired", rule=data["rule"])
        return asset
    if type_ == E.RECORDED:
        pending = _without(asset.pending, command_id)
        in_flight = any(p["verb"] == E.UPSERT_VERB for p in pending.values())
        retired = (asset.pushed or {}).get("status") == "RETIRED"
        at = _time(data["at"]) if data.get("at") else None
        latest = command_id == asset.latest_upsert
        older = asset.older_landed_at
        if at is not None and not latest:
            older = at if older is None else max(older, at)
        return asset.with_(
            revio_asset_id=data["revio_asset_id"],
            # the state follows the latest request, whatever order the results come back in
            state=asset.state if in_flight else ("retired" if retired else "synced"),
            latest_landed_at=at if latest and at is not None else asset.latest_landed_at,
            older_landed_at=older,
            pending=pending,
        )
    if type_ == E.UPSERT_FAILED:
        return asset.with_(
            state="failed",
            rule="upsert_failed",
            pushed=None,
            pending=_without(asset.pending, command_id),
        )
    if type_ == E.WRITE_BACK_REQUESTED:
        entry = {
            "verb": E.WRITE_BACK_VERB,
            "endpoint_id": data.get("endpoint_id"),
            "previous": data["rmm_value"],
            "value": data["value"],
        }
        changed = _field_value(asset, data["value"])
        return changed.with_(pending={**asset.pending, command_id: entry})
    if type_ == E.WRITTEN_BACK:
        written = {key: data.get(key) for key in ("endpoint_id", "value", "at")}
        return asset.with_(pending=_without(asset.pending, command_id), written=written)
    if type_ == E.WRITE_BACK_FAILED:
        before = asset.pending.get(command_id, {}).get("previous")
        return _field_value(asset, before).with_(pending=_without(asset.pending, command_id))
    return asset


def fold_onto(asset: AssetState, events: Iterable[NewEvent]) -> AssetState:
    """The asset after events appended at its version (the version counts them)."""
    version = asset.version
    for event in events:
        asset, version = evolve(asset, event.type, event.data), version + 1
    return asset.with_(version=version)


def fold(identifier: str, events: Iterable[RecordedEvent]) -> AssetState:
    asset = AssetState(identifier=identifier)
    for event in events:
        asset = evolve(asset, event.type, event.data).with_(version=event.version)
    return asset
