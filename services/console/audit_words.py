"""Each decision in plain words, for the audit trail ("Skipped: alert severity Low is below
the minimum High"). One sentence per event type of the services (their `events.py`); any
other type gets a generic sentence made of its name and its reason or rule, so a new
decision is readable before it has words of its own. The log holds no secrets, so neither
do these sentences."""

import re
from collections.abc import Callable
from typing import Any

Data = dict[str, Any]
WHY = {
    # alerts
    "below_threshold": "alert severity {severity} is below the minimum {minimum}",
    "sync_alerts_off": "alert sync is off",
    "company_not_linked": "its RMM company is not linked to a Rev.io customer",
    "no_company": "it belongs to no RMM company",
    # tickets
    "customer_not_linked": "its Rev.io customer is not linked to an RMM company",
    "no_customer": "it belongs to no Rev.io customer",
    # assets
    "category_not_selected": "endpoint category {category} is not synced",
    "asset_type_not_configured": "no asset type is configured",
    "replaced_by_reinstall": "the asset follows the endpoint of a reinstall",
    "no_asset": "there is no asset for it",
    "write_revio_id_to_rmm_off": "writing the Rev.io id back is off",
    # companies
    "create_mode_off": "create mode is off, so it waits to be linked by hand",
    "waiting_for_initial_sync": (
        "waiting for the first sync run to list both systems in full before creating anything"
    ),
    "rmm_company_creation_failed": "creating its RMM company failed",
    "rmm_to_revio_sync_off": "RMM -> Rev.io sync is off",
    "suggested_for_review": "it is suggested for review",
    "bill_profile_or_identity_missing": "no bill profile or identity is configured",
    "revio_customer_creation_failed": "creating its Rev.io customer failed",
}
PRODUCTS = {"rmm": "RMM", "revio": "Rev.io"}  # a side, system or name part as people say it
RULES = {
    "strong_key": "the Rev.io id it carries",
    "exact_name": "the same normalized name",
    "fuzzy_name": "a similar name",
    "ambiguous_name": "a name that is not unique",
    "ambiguous_strong_key": "two records naming it",
    "created_in_rmm": "created in RMM by revsync",
    "created_in_revio": "created in Rev.io by revsync",
    "manual_link": "linked by hand",
    "suggestion_confirmed": "a suggestion confirmed by a person",
    "same_address": "the same address",
    "same_name": "the same name",
}
SECRETS = {
    "rmm.client_secret": "RMM client secret",
    "revio.password": "Rev.io password",
    "revio.subscription_key": "Rev.io subscription key",
}
SETTINGS = {  # a setting's name in words, where the generic rule (`setting_words`) reads badly
    "min_alert_severity": "minimum alert severity",
    "rmm_to_revio_sync": "RMM -> Rev.io updates",
    "revio_to_rmm_tickets": "Rev.io -> RMM tickets",
    "write_revio_id_to_rmm": "writing the Rev.io id back to RMM",
    "auto_close_on_alert_clear": "auto-close on alert clear",
    "asset_sync_enabled": "asset sync",
    "default_service_board": "RMM service board",
    "default_ticket_source": "RMM ticket source",
    "revio.base_url": "Rev.io API URL",
    "rmm.base_url": "RMM base URL",
}


def products(text: str) -> str:
    """`rmm` and `revio` (as words of an internal name) as the products are called."""
    return re.sub(r"\b(rmm|revio)\b", lambda m: PRODUCTS[m.group(1).lower()], text, flags=re.I)


def _side(value: Any) -> str:
    return PRODUCTS.get(str(value), str(value) if value else "?")


def _fill(template: str, data: Data) -> str:
    selected = data.get("selected_categories")
    return template.format(
        severity=data.get("severity", "?"),
        minimum=data.get("minimum", "?"),
        category=data.get("category", "?")
        + (f" (synced: {', '.join(selected)})" if isinstance(selected, list) else ""),
    )


def reason_words(data: Data) -> str | None:
    """Why, in words: the event's `reason`, else its `rule`."""
    reason = data.get("reason") or data.get("rule")
    if not reason:
        return None
    template = WHY.get(str(reason))
    return _fill(template, data) if template else products(str(reason).replace("_", " "))


def _by(data: Data) -> str:
    return f" by {data['actor']}" if data.get("actor") else ""


def _score(value: Any) -> str:
    return f"{float(value):.0f}%" if value is not None else ""


def _name(value: Any) -> str:
    """A name as vendors hold it, spaced as words ("Acme LLP " reads "Acme LLP")."""
    return " ".join(str(value).split()) if value else ""


def _rmm(data: Data) -> str:
    name = _name(data.get("rmm_name"))
    company = data.get("rmm_company_id") or "?"
    return f"RMM company {name} ({company})" if name else f"RMM company {company}"


def _linked(d: Data) -> str:
    how = RULES.get(str(d.get("rule")), str(d.get("rule") or "").replace("_", " "))
    score = f", similarity {_score(d['score'])}" if d.get("score") is not None else ""
    return f"Linked to {_rmm(d)} ({how}{score}){_by(d)}"


def _suggested(d: Data) -> str:
    shown = [
        f"{_name(c.get('name')) or c.get('id') or '?'} ({_score(c.get('score'))})"
        for c in d.get("candidates", [])
    ]
    how = RULES.get(str(d.get("rule")), str(d.get("rule") or ""))
    return f"Suggested for review ({how}): {', '.join(shown) or 'no candidate'}"


def _skipped(d: Data) -> str:
    return f"Skipped: {reason_words(d) or 'no reason given'}"


def _parked(d: Data) -> str:
    return f"Waiting: {reason_words(d) or 'parked'}"


def setting_words(name: str) -> str:
    """`min_alert_severity` -> "minimum alert severity", `rmm.client_id` -> "RMM client id"."""
    return SETTINGS.get(name) or products(name.replace(".", " ").replace("_", " "))


def value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _settings_changed(d: Data) -> str:
    """Which settings changed, old -> new (events recorded before `changes` existed, and a
    tenant's first save, have none), and which secrets were set (never their values)."""
    changed = [
        f"{setting_words(str(c.get('field')))} {value_words(c.get('old'))}"
        f" -> {value_words(c.get('new'))}"
        for c in d.get("changes") or []
    ]
    secrets = [SECRETS.get(s, s) for s in d.get("secrets_changed") or []]
    return (
        "Settings saved"
        + (f": {', '.join(changed)}" if changed else "")
        + (f"; new {', '.join(secrets)}" if secrets else "")
    )


def _claimed(d: Data) -> str:
    how = RULES.get(str(d.get("rule")), reason_words(d) or "")
    customer = d.get("revio_customer_id") or "?"
    return f"Linked to Rev.io customer {customer}" + (f" ({how})" if how else "")


def _verb_system(d: Data) -> str:
    return _side(str(d.get("verb") or "").split(".")[0])


def _listing(d: Data) -> str:
    system = "ConnectWise RMM" if d.get("system") == "rmm" else "Rev.io"
    if d.get("status") == "ok":
        return f"{system} listed everything for the sync run"
    return f"{system} could not list: {d.get('reason') or d.get('status')}"


def _failed(what: str) -> Callable[[Data], str]:
    return lambda d: f"{what} failed ({d.get('status', '?')}): {d.get('reason') or 'no reason'}"


def _cleared(d: Data) -> str:
    action = {
        "auto_closed": "its Rev.io ticket moves to auto-closed",
        "journal_entry": "a note was added to its Rev.io ticket",
        "deferred_until_ticket_exists": "noted once its ticket exists",
        "parked_alert_dropped": "it was waiting, so nothing is ticketed",
        "failed_alert_dropped": "its ticket could not be created, and is no longer tried",
    }.get(str(d.get("action")), str(d.get("action") or "").replace("_", " "))
    return "Alert cleared" + (f": {action}" if action else "")


WORDS: dict[str, Callable[[Data], str]] = {
    # alert service
    "AlertSkipped": _skipped,
    "AlertParked": _parked,
    "AlertTicketRequested": lambda d: (
        "Asked Rev.io for a ticket for this alert"
        + (f" on {d['endpoint_hostname']}" if d.get("endpoint_hostname") else "")
    ),
    "AlertTicketLinked": lambda d: (
        f"Alert ticket created: Rev.io ticket {d.get('revio_ticket_id')}"
        + (" (late: its create had been reported as failed)" if d.get("after_failure") else "")
    ),
    "AlertTicketCreateFailed": _failed("Creating the alert ticket"),
    "AlertRepeated": lambda d: (
        f"The alert repeated ({d.get('count', '?')} times): journal"
        f" entry {d.get('journal', 'sent')}"
    ),
    "AlertJournalWritten": lambda d: (
        "Journal entry written in Rev.io"
        + (
            f"; {d['deferred_repeats']} repeat(s) since then sent in one entry"
            if d.get("deferred_repeats")
            else ""
        )
    ),
    "AlertCleared": _cleared,
    "AlertTicketClosed": lambda d: (
        f"Rev.io ticket {d.get('revio_ticket_id')} was closed in"
        " Rev.io; a recurrence opens a new ticket"
    ),
    "AlertCommandFailed": _failed("A Rev.io update"),
    # company service
    "CustomerLinked": _linked,
    "LinkSuggested": _suggested,
    "CustomerHeld": lambda d: f"Held: {reason_words(d)}",
    "RmmCompanyCreationRequested": lambda d: f"Asked RMM to create company {d.get('name')!r}",
    "RmmCompanyCreated": lambda d: f"RMM company {d.get('rmm_company_id')} created",
    "RmmCompanyCreationFailed": _failed("Creating the RMM company"),
    "SuggestionRejected": lambda d: f"Suggestion {_rmm(d)} rejected{_by(d)}",
    "CustomerUnlinked": lambda d: f"Unlinked from {_rmm(d)}{_by(d)}",
    "RmmCompanyLeftUnlinked": lambda d: f"Left unlinked: {reason_words(d)}",
    "RevioCustomerCreationRequested": lambda d: (
        f"Asked Rev.io to create a customer for {d.get('name')!r}"
    ),
    "RevioCustomerCreated": lambda d: f"Rev.io customer {d.get('revio_customer_id')} created",
    "RevioCustomerCreationFailed": _failed("Creating the Rev.io customer"),
    "RmmCompanyUpdateRequested": lambda d: (
        "Sent to RMM: " + ", ".join(sorted(d.get("changes", {})))
    ),
    "RevioCustomerUpdateRequested": lambda d: (
        "Sent to Rev.io: " + ", ".join(sorted(d.get("changes", {})))
    ),
    "SyncConflictResolved": lambda d: (
        f"Conflict on {d.get('field')}: Rev.io wins"
        f" ({d.get('revio_value')!r} over {d.get('rmm_value')!r})"
    ),
    "RmmSiteCreationRequested": lambda d: f"Asked RMM for a site for address {d.get('address_id')}",
    "RmmSiteCreated": lambda d: (
        f"RMM site {d.get('site_id')} created for Rev.io address {d.get('address_id')}"
    ),
    "RmmSiteMatched": lambda d: (
        f"Rev.io address {d.get('address_id')} matched to RMM site {d.get('site_id')}"
        f" ({RULES.get(str(d.get('rule')), reason_words(d) or 'matched')})"
    ),
    "RmmSiteUpdateRequested": lambda d: (
        f"Sent to RMM site {d.get('site_id')}: " + ", ".join(sorted(d.get("changes", {})))
    ),
    "RmmCompanyClaimed": _claimed,
    "RmmCompanyReleased": lambda d: (
        f"Unlinked from Rev.io customer {d.get('revio_customer_id') or '?'}{_by(d)}"
    ),
    "SyncBaselineUpdated": lambda d: "RMM and Rev.io agree: nothing to send",
    "CompanyCommandSucceeded": lambda d: f"The update landed in {_verb_system(d)}",
    "CompanyCommandFailed": _failed("An RMM or Rev.io update"),
    "InboundUpdateConflicted": lambda d: (
        "Not written to Rev.io: " + ", ".join(d.get("fields") or []) + " changed there"
        " meanwhile; Rev.io wins and its values go to RMM"
    ),
    "SyncRunMatched": lambda d: (
        "Sync run matched: "
        + ", ".join(f"{k} {v}" for k, v in sorted((d.get("counts") or {}).items()))
    ),
    # asset service
    "EndpointSkipped": _skipped,
    "EndpointParked": _parked,
    "AssetUpsertRequested": lambda d: f"Asked Rev.io to record the asset ({reason_words(d)})",
    "AssetRetirementRequested": lambda d: "The endpoint was deleted: its asset is retired",
    "AssetRecorded": lambda d: f"Rev.io asset {d.get('revio_asset_id')} recorded",
    "AssetUpsertFailed": _failed("Recording the asset"),
    "RevioIdWriteBackRequested": lambda d: f"Writing Rev.io id {d.get('value')} into RMM",
    "RevioIdWriteBackSkipped": _skipped,
    "RevioIdWrittenBack": lambda d: (
        f"Rev.io id {d.get('value')} written into the RMM endpoint {d.get('endpoint_id')}"
    ),
    "RevioIdWriteBackFailed": _failed("Writing the Rev.io id back into RMM"),
    "EndpointReplaced": lambda d: (
        f"Same serial number: the asset now follows RMM endpoint {d.get('endpoint_id')}"
        f" (was {d.get('previous_endpoint_id')})"
    ),
    "EndpointDeletionIgnored": lambda d: f"Deletion ignored: {reason_words(d)}",
    # ticket service
    "TicketSkipped": _skipped,
    "TicketLinkRequested": lambda d: f"Creating its counterpart in {_side(d.get('target'))}",
    "TicketLinked": lambda d: (
        f"Tickets linked: RMM {d.get('rmm_ticket_id')} and Rev.io {d.get('revio_ticket_id')}"
    ),
    "TicketLinkFailed": _failed("Creating the counterpart ticket"),
    "TicketFieldSynced": lambda d: (
        f"{d.get('field')} copied from {_side(d.get('from_side'))} to {_side(d.get('to_side'))}"
    ),
    "TicketConflictResolved": lambda d: (
        f"Conflict on {d.get('field')}: kept the value from"
        f" {_side(d.get('kept_from'))} ({reason_words(d)})"
    ),
    "TicketFieldConfirmed": lambda d: (
        f"{_side(d.get('side'))} shows the {d.get('field')} agreed on: nothing to do"
    ),
    "TicketClosed": lambda d: f"Closed in {_side(d.get('closed_on'))}, so closed on the other side",
    "NoteCarried": lambda d: (
        f"Note copied ({products(str(d.get('direction') or '').replace('_', ' '))})"
    ),
    "NoteQueued": lambda d: "Note waits for its ticket to exist",
    "TicketCommandFailed": _failed("A ticket update"),
    "TicketDeleted": lambda d: f"Deleted in {_side(d.get('side'))}: the link stops syncing",
    # connectors and the console
    "CommandExecuted": lambda d: (
        f"Executed {d.get('subject', '?')}: {d.get('status', '?')}"
        + (f" ({d['reason']})" if d.get("reason") else "")
    ),
    "SettingsChanged": _settings_changed,
    "TenantCreated": lambda d: (
        f"Tenant created: {d.get('name', '?')}"
        + ("; not served until its setup is finished" if d.get("enabled") is False else "")
    ),
    "TenantDisabled": lambda d: "Tenant disabled: nothing is synced until it is enabled again",
    "TenantEnabled": lambda d: "Tenant enabled: syncing resumes",
    "SyncRunStarted": lambda d: (
        f"Sync run started ({d.get('kind', 'initial')}) by {d.get('started_by', '?')}"
    ),
    "SyncRunListingFinished": _listing,
    "SyncRunCompleted": lambda d: "Sync run done",
    "SyncRunCancelled": lambda d: f"Sync run cancelled {d.get('reason') or ''}".rstrip(),
    "DeadLetterRetried": lambda d: f"Dead letter retried: {d.get('original_subject', '?')}",
}


def humanize(type_name: str) -> str:
    words = products(re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower())
    return words[:1].upper() + words[1:]


def describe(type_name: str, data: Data) -> str:
    """The decision in plain words."""
    words = WORDS.get(type_name)
    if words is not None:
        try:
            return words(data)
        except (AttributeError, KeyError, TypeError, ValueError):
            pass  # an unexpected shape: the generic sentence below still says what happened
    sentence = humanize(type_name)
    reason = reason_words(data)
    return f"{sentence}: {reason}" if reason else sentence
