"""Which asset an endpoint is (pure): an asset is identified stably by the endpoint's serial
number (a real one, not a vendor placeholder), else by the endpoint id it was first seen
with, and keeps that identifier for good. A new endpoint id with a known serial is an agent
reinstall: the same asset, now following the newer endpoint.
"""

from revsync.contracts.rmm import RmmEndpoint, RmmEndpointChanged
from revsync.decision import DecisionContext
from revsync.eventlog.model import NewEvent

from services.asset import events as E
from services.asset.state import AssetState, as_known

_PLACEHOLDER_SERIALS = {
    "none", "null", "n/a", "na", "unknown", "default string", "not specified", "not applicable",
    "to be filled by o.e.m.", "to be filled by oem", "system serial number", "invalid",
    "chassis serial number", "0123456789", "123456789", "1234567890",
}  # fmt: skip


def usable_serial(serial: str | None) -> str | None:
    """A serial number that identifies one machine (not empty, not a vendor placeholder)."""
    value = (serial or "").strip()
    if len(value) < 3 or value.casefold() in _PLACEHOLDER_SERIALS or len(set(value)) == 1:
        return None
    return value


def identifier_for(endpoint: RmmEndpoint, known: str | None) -> str:
    """The asset an endpoint belongs to: the one it already has, else its serial number,
    else its endpoint id."""
    return known or usable_serial(endpoint.serial_number) or endpoint.id


def observe_endpoint(
    ctx: DecisionContext, asset: AssetState, change: RmmEndpointChanged
) -> tuple[NewEvent, ...]:
    """Record an observation when it tells something new. A new endpoint id on an asset is an
    agent reinstall (same serial): the asset follows the newer endpoint, and the deletion of
    the endpoint it replaced is ignored."""
    endpoint, deleted = change.endpoint, change.kind == "deleted"
    current = asset.endpoint.id if asset.endpoint else None
    # only an older observation of the same endpoint is stale (another one may replace it)
    stale = current == endpoint.id and asset.observed_at is not None
    stale = stale and change.occurred_at < asset.observed_at  # type: ignore[operator]
    superseded = endpoint.id in asset.previous_endpoint_ids and not asset.endpoint_deleted
    replaced_gone = deleted and current is not None and current != endpoint.id
    known = as_known(asset, endpoint, change.occurred_at)
    unchanged = asset.endpoint == known and asset.endpoint_deleted == deleted
    if (superseded and not deleted) or (unchanged and not (stale or replaced_gone)):
        return ()  # nothing new (a replaced endpoint's changes are not followed)
    events: list[NewEvent] = []
    if not (stale or superseded or replaced_gone) and current not in (None, endpoint.id):
        events.append(
            ctx.event(
                E.REPLACED,
                rule="same_serial_number",
                identifier=asset.identifier,
                previous_endpoint_id=current,
                endpoint_id=endpoint.id,
            )
        )
    events.append(
        ctx.event(
            E.OBSERVED,
            kind=change.kind,
            endpoint=endpoint.model_dump(mode="json"),
            observed_at=change.occurred_at.isoformat(),
            sync_run_id=str(change.sync_run_id) if change.sync_run_id else None,
            stale=stale,
            superseded=superseded or replaced_gone,
        )
    )
    if replaced_gone and not stale:
        events.append(
            ctx.event(
                E.DELETE_IGNORED,
                rule="replaced_by_reinstall",
                endpoint_id=endpoint.id,
                current_endpoint_id=current,
            )
        )
    return tuple(events)
