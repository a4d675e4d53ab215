"""The asset service's events, on stream `asset:<identifier>` (the asset's stable identifier:
the endpoint's serial number, else the RMM endpoint id it was first seen with). Every
decision says which `rule` fired and with what inputs.

- `EndpointObserved{kind, endpoint, observed_at, sync_run_id, stale, superseded}`: what the
  RMM connector reported (`stale`: older than what we had; `superseded`: an endpoint this
  asset no longer follows). Recorded only when it differs from what we had.
- `EndpointReplaced{rule: same_serial_number, identifier, previous_endpoint_id,
  endpoint_id}`: an agent reinstall (new endpoint id, same serial): same asset.
- `EndpointSkipped{rule, endpoint_id, category, selected_categories, asset_type}`: no asset;
  rule `category_not_selected` or `asset_type_not_configured`.
- `EndpointParked{rule: company_not_linked, endpoint_id, rmm_company_id}`: waits for its
  company's link, synced as soon as the company links.
- `AssetUpsertRequested{rule, command_id, endpoint_id, revio_customer_id, identifier,
  asset_type_id, status, fields, asset_id}`: rule `endpoint_to_asset` (first time),
  `endpoint_changed`, `company_relinked`, `retry_after_failure`, `older_write_landed_last`.
- `AssetRetirementRequested{rule: endpoint_deleted, command_id, endpoint_id, asset_id,
  ...}`: the asset's status becomes RETIRED; nothing is deleted in Rev.io.
- `EndpointDeletionIgnored{rule, endpoint_id, current_endpoint_id}`: rule
  `replaced_by_reinstall` (the asset follows a newer endpoint) or `no_asset`.
- `AssetRecorded{command_id, revio_asset_id, status, at}` / `AssetUpsertFailed{command_id,
  status, reason}`: the upsert's result (`at`: when it was applied). An older upsert applied
  after a newer one is followed by the newer one again (rule `older_write_landed_last`).
- `RevioIdWriteBackRequested{rule: write_revio_id_to_rmm, command_id, endpoint_id,
  field_name, value, rmm_value}`: only when RMM holds a different value.
- `RevioIdWriteBackSkipped{rule: write_revio_id_to_rmm_off, endpoint_id, value}`.
- `RevioIdWrittenBack{command_id, endpoint_id, value, at}` / `RevioIdWriteBackFailed{
  command_id, endpoint_id, status, reason}` (`at`: when RMM took the write; an observation
  read before that shows the field as it was, and is not taken for a change of it).
"""

OBSERVED = "EndpointObserved"
REPLACED = "EndpointReplaced"
SKIPPED = "EndpointSkipped"
PARKED = "EndpointParked"
UPSERT_REQUESTED = "AssetUpsertRequested"
RETIRE_REQUESTED = "AssetRetirementRequested"
DELETE_IGNORED = "EndpointDeletionIgnored"
RECORDED = "AssetRecorded"
UPSERT_FAILED = "AssetUpsertFailed"
WRITE_BACK_REQUESTED = "RevioIdWriteBackRequested"
WRITE_BACK_SKIPPED = "RevioIdWriteBackSkipped"
WRITTEN_BACK = "RevioIdWrittenBack"
WRITE_BACK_FAILED = "RevioIdWriteBackFailed"

CATEGORY = "asset"
UPSERT_VERB = "revio.asset.upsert"
WRITE_BACK_VERB = "rmm.endpoint.set_custom_field"
REQUESTS = {
    UPSERT_REQUESTED: UPSERT_VERB,
    RETIRE_REQUESTED: UPSERT_VERB,
    WRITE_BACK_REQUESTED: WRITE_BACK_VERB,
}


def asset_stream(identifier: str) -> str:
    return f"{CATEGORY}:{identifier}"
