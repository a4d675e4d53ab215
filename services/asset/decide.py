"""The asset rules, as pure functions: (state, input, settings, context) -> Decision.

Read top to bottom: the stable identifier of an endpoint's asset (`identifier_for`);
recording an observation, reinstalls included (`observe_endpoint`); what becomes of an
endpoint (`decide_asset`: retired when deleted, skipped when its category is not selected or
no asset type is configured, parked while its company is not linked, else upserted as a
Rev.io asset of the configured type for the linked customer); the Rev.io id write-back
(`should_write_back`); command results (`decide_upsert_result`, `decide_write_back_result`).
`asset_sync_enabled` off is decided before any of this: the handler exits at once. The
identity rules (serial number, reinstalls) are in `identity.py`.
"""

from revsync.contracts.base import Result
from revsync.contracts.revio import UpsertRevioAsset
from revsync.contracts.rmm import REVIO_ASSET_ID_FIELD as REVIO_ASSET_ID_FIELD  # written back
from revsync.contracts.rmm import RmmEndpoint, SetRmmEndpointCustomField
from revsync.decision import NOTHING, Decision, DecisionContext
from revsync.tenancy import SyncSettings

from services.asset import events as E
from services.asset.identity import usable_serial
from services.asset.state import AssetState, evolve

ACTIVE, RETIRED = "ACTIVE", "RETIRED"


def asset_fields(endpoint: RmmEndpoint) -> dict[str, str]:
    fields = {
        "hostname": endpoint.hostname,
        "category": endpoint.category,
        "endpoint_type": endpoint.endpoint_type,
        "os": endpoint.os,
        "serial_number": usable_serial(endpoint.serial_number),
        "rmm_endpoint_id": endpoint.id,
    }
    return {key: value for key, value in fields.items() if value}


def should_write_back(settings: SyncSettings, asset_id: str | None, rmm_value: str | None) -> bool:
    """The Rev.io asset id goes into the endpoint's custom field only when enabled and only
    when RMM holds something else (each write costs API quota)."""
    return settings.write_revio_id_to_rmm and asset_id is not None and rmm_value != asset_id


def write_back_in_flight(asset: AssetState, endpoint_id: str, value: str | None) -> bool:
    """Whether the write of `value` into this endpoint's field is requested and unanswered
    (a write to the endpoint the asset followed before a reinstall does not count)."""
    return any(
        p["verb"] == E.WRITE_BACK_VERB
        and p.get("value") == value
        and p.get("endpoint_id") == endpoint_id
        for p in asset.pending.values()
    )


def write_back(ctx: DecisionContext, asset: AssetState, settings: SyncSettings) -> Decision:
    endpoint = asset.endpoint
    if endpoint is None or asset.endpoint_deleted:
        return NOTHING
    if not should_write_back(settings, asset.revio_asset_id, endpoint.revio_asset_id):
        return NOTHING
    if write_back_in_flight(asset, endpoint.id, asset.revio_asset_id):
        return NOTHING  # a sighting from before that write landed: its result settles it
    assert asset.revio_asset_id is not None
    command = SetRmmEndpointCustomField(
        **ctx.envelope(),
        endpoint_id=endpoint.id,
        field_name=REVIO_ASSET_ID_FIELD,
        value=asset.revio_asset_id,
    )
    event = ctx.event(
        E.WRITE_BACK_REQUESTED,
        rule="write_revio_id_to_rmm",
        command_id=str(command.message_id),
        endpoint_id=endpoint.id,
        field_name=REVIO_ASSET_ID_FIELD,
        value=asset.revio_asset_id,
        rmm_value=endpoint.revio_asset_id,
    )
    return Decision((event,), (command,))


def _upsert(
    ctx: DecisionContext, asset: AssetState, event_type: str, rule: str, wanted: dict
) -> Decision:
    endpoint = asset.endpoint
    assert endpoint is not None
    command = UpsertRevioAsset(
        **ctx.envelope(),
        asset_id=asset.revio_asset_id,
        customer_id=wanted["revio_customer_id"],
        identifier=asset.identifier,
        asset_type_id=wanted["asset_type_id"],
        status=wanted["status"],
        fields=wanted["fields"],
    )
    event = ctx.event(
        event_type,
        rule=rule,
        command_id=str(command.message_id),
        endpoint_id=endpoint.id,
        identifier=asset.identifier,
        asset_id=asset.revio_asset_id,
        **wanted,
    )
    return Decision((event,), (command,))


def retire(ctx: DecisionContext, asset: AssetState) -> Decision:
    """A deleted endpoint retires its asset (status RETIRED); nothing is deleted in Rev.io."""
    pushed = asset.pushed or {}
    customer_id = pushed.get("revio_customer_id") or asset.revio_customer_id
    if pushed.get("status") == RETIRED or asset.state == "retired":
        return NOTHING
    if customer_id is None or (not pushed and asset.revio_asset_id is None):
        endpoint_id = asset.endpoint.id if asset.endpoint else None
        event = ctx.event(
            E.DELETE_IGNORED,
            rule="no_asset",
            endpoint_id=endpoint_id,
            current_endpoint_id=endpoint_id,
        )
        return Decision((event,))
    assert asset.endpoint is not None
    wanted = {
        "revio_customer_id": customer_id,
        "asset_type_id": pushed.get("asset_type_id"),
        "status": RETIRED,
        "fields": pushed.get("fields") or asset_fields(asset.endpoint),
    }
    return _upsert(ctx, asset, E.RETIRE_REQUESTED, "endpoint_deleted", wanted)


def _skip(ctx: DecisionContext, asset: AssetState, rule: str, settings: SyncSettings) -> Decision:
    endpoint = asset.endpoint
    assert endpoint is not None
    selected = sorted(settings.endpoint_categories)
    if asset.state == "skipped" and asset.skipped_as == (
        rule,
        endpoint.category,
        ",".join(selected),
    ):
        return NOTHING
    event = ctx.event(
        E.SKIPPED,
        rule=rule,
        endpoint_id=endpoint.id,
        category=endpoint.category,
        selected_categories=selected,
        asset_type=settings.asset_type,
    )
    return Decision((event,))


def _park(ctx: DecisionContext, asset: AssetState) -> Decision:
    endpoint = asset.endpoint
    assert endpoint is not None
    if asset.state == "parked" and asset.parked_on == endpoint.company_id:
        return NOTHING
    event = ctx.event(
        E.PARKED,
        rule="company_not_linked",
        endpoint_id=endpoint.id,
        rmm_company_id=endpoint.company_id,
    )
    return Decision((event,))


def upsert_rule(asset: AssetState, customer_id: str) -> str:
    if asset.pushed is None:
        return "retry_after_failure" if asset.state == "failed" else "endpoint_to_asset"
    if asset.pushed["revio_customer_id"] != customer_id:
        return "company_relinked"
    return "endpoint_changed"


def decide_asset(
    ctx: DecisionContext, asset: AssetState, settings: SyncSettings, customer_id: str | None
) -> Decision:
    """What becomes of the asset's endpoint now; `customer_id`: the Rev.io customer linked
    to the endpoint's company (None: not linked)."""
    endpoint = asset.endpoint
    if endpoint is None:
        return NOTHING
    if asset.endpoint_deleted:
        return retire(ctx, asset)
    if endpoint.category not in settings.endpoint_categories:
        return _skip(ctx, asset, "category_not_selected", settings)
    if not settings.asset_type:
        return _skip(ctx, asset, "asset_type_not_configured", settings)
    if customer_id is None:
        return _park(ctx, asset)
    wanted = {
        "revio_customer_id": customer_id,
        "asset_type_id": settings.asset_type,
        "status": ACTIVE,
        "fields": asset_fields(endpoint),
    }
    decision = NOTHING
    if wanted != asset.pushed:
        rule = upsert_rule(asset, customer_id)
        decision = _upsert(ctx, asset, E.UPSERT_REQUESTED, rule, wanted)
    return decision + write_back(ctx, asset, settings)


def decide_upsert_result(
    ctx: DecisionContext,
    asset: AssetState,
    result: Result,
    settings: SyncSettings,
    send: bool = True,
) -> Decision:
    """The asset exists in Rev.io: record its id, then write it back to RMM if enabled and
    RMM holds something else (`send` False: asset sync was switched off since, record only)."""
    command_id = str(result.command_id)
    entry = asset.pending.get(command_id)
    if entry is None:
        return NOTHING
    asset_id = result.external_ids.get("asset_id")
    if not result.ok or not asset_id:
        failed = ctx.event(
            E.UPSERT_FAILED, command_id=command_id, status=result.status.value, reason=result.reason
        )
        return Decision((failed,))
    status = RETIRED if entry.get("retire") else ACTIVE
    at = result.occurred_at.isoformat()
    data = {"command_id": command_id, "revio_asset_id": asset_id, "status": status, "at": at}
    decision = Decision((ctx.event(E.RECORDED, **data),))
    after = evolve(asset, E.RECORDED, data)
    if landed_after_a_newer_write(asset, command_id, result) and after.pushed is not None:
        # Rev.io now holds this older write: send the latest one again
        rule = "older_write_landed_last"
        again = _upsert(ctx, after, _event_type(after), rule, after.pushed)
        return decision + again
    if not send or entry.get("retire") or after.endpoint is None or after.endpoint_deleted:
        return decision
    if not settings.write_revio_id_to_rmm and asset.revio_asset_id != asset_id:
        skipped = ctx.event(
            E.WRITE_BACK_SKIPPED,
            rule="write_revio_id_to_rmm_off",
            endpoint_id=after.endpoint.id,
            value=asset_id,
        )
        return decision + Decision((skipped,))
    return decision + write_back(ctx, after, settings)


def landed_after_a_newer_write(asset: AssetState, command_id: str, result: Result) -> bool:
    """An older upsert was applied (its result's time) after the newest one, so Rev.io holds
    the older one; whichever of the two results comes back first."""
    if command_id == asset.latest_upsert:
        older = asset.older_landed_at
        return older is not None and older > result.occurred_at
    newest = asset.latest_landed_at
    return newest is not None and result.occurred_at > newest


def _event_type(asset: AssetState) -> str:
    return (
        E.RETIRE_REQUESTED if (asset.pushed or {}).get("status") == RETIRED else E.UPSERT_REQUESTED
    )


def decide_write_back_result(ctx: DecisionContext, asset: AssetState, result: Result) -> Decision:
    command_id = str(result.command_id)
    entry = asset.pending.get(command_id)
    if entry is None:
        return NOTHING
    endpoint_id = entry.get("endpoint_id") or (asset.endpoint.id if asset.endpoint else None)
    if result.ok:
        event = ctx.event(
            E.WRITTEN_BACK,
            command_id=command_id,
            endpoint_id=endpoint_id,
            value=entry["value"],
            at=result.occurred_at.isoformat(),
        )
    else:
        event = ctx.event(
            E.WRITE_BACK_FAILED,
            command_id=command_id,
            endpoint_id=endpoint_id,
            status=result.status.value,
            reason=result.reason,
        )
    return Decision((event,))
