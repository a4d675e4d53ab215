"""The company service's events. Every decision says which `rule` fired and with what inputs,
so "why does this customer have no RMM company?" is answered by its stream alone.

Stream `company-link:<revio_customer_id>` (one Rev.io customer and its link):
- `RevioCustomerObserved{kind, customer, observed_at, sync_run_id, total, stale}`: what the
  Rev.io connector reported (`stale`: older than what we had; recorded, not applied).
- `RmmCompanyObserved{kind, company, observed_at, sync_run_id, total, stale,
  revio_customer_id}`: the linked RMM company as reported (on `rmm-company:<id>` while
  unlinked).
- `CustomerLinked{rule, revio_customer_id, rmm_company_id, revio_name, rmm_name, score,
  match, sync_run_id, command_id?, actor?}`: rule `strong_key` (the customer names the
  company, or the company's description marker or one of its external ids is the customer's
  Rev.io id), `exact_name`, `created_in_rmm`, `created_in_revio`, `manual_link` or
  `suggestion_confirmed`.
- `LinkSuggested{rule, revio_customer_id, candidates[{id, name, score}], match,
  sync_run_id}`: waiting for a person; rule `fuzzy_name`, `ambiguous_name` (the normalized
  name is not unique on one side) or `ambiguous_strong_key`.
- `CustomerHeld{rule, revio_customer_id, name, normalized_name, create_mode, listed, match,
  sync_run_id}`: no RMM company and none will be created; rule `create_mode_off`,
  `rmm_company_creation_failed`, or `waiting_for_initial_sync` (create mode is on but no
  sync run of the tenant has listed RMM in full yet: the next run to match decides again).
- `RmmCompanyCreationRequested{rule: create_mode_on, command_id, revio_customer_id, name,
  active, description, sync_run_id}` / `RmmCompanyCreated{command_id, rmm_company_id}` /
  `RmmCompanyCreationFailed{command_id, status, reason}`.
- `SuggestionRejected{rule: rejected_by_person, rmm_company_id, remaining}`;
  `CustomerUnlinked{rule: unlinked_by_person, rmm_company_id}`.
- `RmmCompanyUpdateRequested{command_id, rmm_company_id, changes{field: {value, was,
  rule}}, baseline}`: Rev.io -> RMM (rules `revio_changed`, `revio_authoritative_on_link`,
  `conflict_revio_wins`, `rmm_to_revio_sync_off`, `one_way_field`, `revio_status`,
  `customer_deleted`, `older_write_landed_last`).
- `RevioCustomerUpdateRequested{rule: rmm_to_revio_sync, command_id, customer_id, changes,
  baseline, address_id?}`: RMM -> Rev.io for a linked pair.
- `SyncConflictResolved{rule: revio_wins, field, revio_value, rmm_value, last_synced,
  edited_while}`: both sides changed the field since the last sync (`edited_while`: the
  concurrent edit came in while revsync's own write to that side was in flight).
- `SyncBaselineUpdated{rule: both_sides_agree, baseline}`.
- `RmmSiteCreationRequested{rule: revio_address_without_site, command_id, rmm_company_id,
  address_id, site}` / `RmmSiteCreated{command_id, address_id, site_id}` /
  `RmmSiteMatched{rule: same_address|same_name, address_id, site_id}` /
  `RmmSiteUpdateRequested{command_id, rmm_company_id, address_id, site_id, changes,
  baseline}`.
- `CompanyCommandSucceeded{command_id, verb, at}`: an update landed at `at` (until an
  observation taken after that shows the side, the write counts as in flight: an
  observation showing neither the old nor the new value is a concurrent edit, a conflict).
- `CompanyCommandFailed{command_id, verb, status, reason, revert}`: an update or site create
  was refused; the optimistic values are reverted so the next observation retries.
- `InboundUpdateConflicted{rule: revio_wins, command_id, verb, fields,
  revio_changed_meanwhile, status: conflict, reason, revert}`: Rev.io refused revsync's
  RMM -> Rev.io write because a person changed those fields in Rev.io since revsync last
  read them (`UpdateRevioCustomer.expected`). Rev.io wins: the write is not retried, the
  values it assumed are reverted (except fields a later write covers), and the Rev.io change,
  once observed, goes to RMM (`conflict_revio_wins`).

Stream `rmm-company:<rmm_company_id>` (an RMM company while it is not linked):
- `RmmCompanyObserved` (above); `RmmCompanyClaimed{rule, revio_customer_id}` (linked);
  `RmmCompanyReleased{rule, revio_customer_id, company, deleted}` (unlinked by a person;
  `deleted`: it had been seen deleted in RMM while linked, so it stays out of matching);
- `RmmCompanyLeftUnlinked{rule, rmm_company_id, name, normalized_name, candidates,
  rmm_to_revio_sync, listed, match, sync_run_id}`: rule `rmm_to_revio_sync_off`,
  `suggested_for_review`, `bill_profile_or_identity_missing`,
  `revio_customer_creation_failed`, `waiting_for_initial_sync` (inbound sync would create
  it, but Rev.io was not listed in full yet: the next run to match decides again);
- `RevioCustomerCreationRequested{rule: rmm_to_revio_sync_on, command_id, rmm_company_id,
  name, bill_profile_id, customer_class, address, sync_run_id}` /
  `RevioCustomerCreated{command_id, revio_customer_id}` /
  `RevioCustomerCreationFailed{command_id, status, reason}`.

Stream `company-run:<sync_run_id>`:
- `SyncRunMatched{rule, sync_run_id, revio_seen, revio_total, rmm_seen, rmm_total, counts}`:
  the run's unlinked records were matched (rule `listings_complete` or `listings_quiet`).
"""

CUSTOMER_OBSERVED = "RevioCustomerObserved"
RMM_OBSERVED = "RmmCompanyObserved"
LINKED = "CustomerLinked"
SUGGESTED = "LinkSuggested"
HELD = "CustomerHeld"
RMM_CREATE_REQUESTED = "RmmCompanyCreationRequested"
RMM_CREATED = "RmmCompanyCreated"
RMM_CREATE_FAILED = "RmmCompanyCreationFailed"
REJECTED = "SuggestionRejected"
UNLINKED = "CustomerUnlinked"
RMM_UPDATE_REQUESTED = "RmmCompanyUpdateRequested"
REVIO_UPDATE_REQUESTED = "RevioCustomerUpdateRequested"
CONFLICT_RESOLVED = "SyncConflictResolved"
BASELINE_UPDATED = "SyncBaselineUpdated"
SITE_CREATE_REQUESTED = "RmmSiteCreationRequested"
SITE_CREATED = "RmmSiteCreated"
SITE_MATCHED = "RmmSiteMatched"
SITE_UPDATE_REQUESTED = "RmmSiteUpdateRequested"
COMMAND_FAILED = "CompanyCommandFailed"
INBOUND_CONFLICTED = "InboundUpdateConflicted"
COMMAND_SUCCEEDED = "CompanyCommandSucceeded"

CLAIMED = "RmmCompanyClaimed"
RELEASED = "RmmCompanyReleased"
LEFT_UNLINKED = "RmmCompanyLeftUnlinked"
REVIO_CREATE_REQUESTED = "RevioCustomerCreationRequested"
REVIO_CREATED = "RevioCustomerCreated"
REVIO_CREATE_FAILED = "RevioCustomerCreationFailed"

RUN_MATCHED = "SyncRunMatched"

LINK_CATEGORY = "company-link"
RMM_CATEGORY = "rmm-company"
RUN_CATEGORY = "company-run"

# events that send a command, and the verb (`<system>.<entity>.<verb>`) of that command
REQUESTS = {
    RMM_CREATE_REQUESTED: "rmm.company.create",
    RMM_UPDATE_REQUESTED: "rmm.company.update",
    SITE_CREATE_REQUESTED: "rmm.site.create",
    SITE_UPDATE_REQUESTED: "rmm.site.update",
    REVIO_UPDATE_REQUESTED: "revio.customer.update",
    REVIO_CREATE_REQUESTED: "revio.customer.create",
}


def link_stream(revio_customer_id: str) -> str:
    return f"{LINK_CATEGORY}:{revio_customer_id}"


def rmm_stream(rmm_company_id: str) -> str:
    return f"{RMM_CATEGORY}:{rmm_company_id}"


def run_stream(sync_run_id: object) -> str:
    return f"{RUN_CATEGORY}:{sync_run_id}"
