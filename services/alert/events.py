"""The alert service's decision events (stream `alert:<endpoint>:<condition>`).

Each says which `rule` fired and with what inputs, so the audit trail reads as an
explanation. Events about an observation also carry it: `rmm_ticket_id, rmm_ticket_version,
observed_at, kind, endpoint_id, condition_id, company_id, severity, summary, description`
(`rmm_ticket_version` is absent from events recorded before it was; read as 0). Events that sent
commands list them in `sent: [{command_id, system, entity, verb}]`.

- `AlertSkipped{reason, rule, minimum?}`: no ticket, and why: `below_threshold` (rule
  `severity_meets_minimum`, with `severity` and `minimum`) or `sync_alerts_off`.
- `AlertParked{reason, rule: company_must_be_linked}`: waiting for the company link
  (`company_not_linked`, `no_company`); ticketed when the link appears, if still open.
- `AlertTicketRequested{rule: should_open_ticket, trigger, command_id, source_key,
  customer_id, revio_asset_id, endpoint_hostname, ticket_type, minimum, episode, attempt,
  count}`: one `CreateRevioTicket` for this (endpoint, condition). `trigger`: raised,
  updated, seen, recurrence, company_linked or retry_after_failure. `endpoint_hostname`: the
  endpoint's hostname as the asset service knew it (null when unknown; absent from events
  recorded before it was), named in the ticket and in the resolution of its auto-close.
- `AlertTicketLinked{revio_ticket_id, command_id, deferred_repeats, clear_action,
  journal_command_id?}`: the create's result; repeats (and a clear) recorded while it was
  pending are applied now (the repeats in one journal entry, `journal_command_id`, which is
  then the repeat journal entry in flight). `after_failure?`: the create had been answered
  as failed (dead-lettered) and a retry from the DLQ made the ticket after all.
- `AlertTicketCreateFailed{command_id, status, reason, attempt}`: the create was refused, or
  dead-lettered by the connector (status `unavailable`, reason "dead-lettered: ...").
- `AlertRepeated{rule: one_open_ticket_per_endpoint_condition, count, journal, recurred?,
  revio_ticket_id?, command_id?, deferred_repeats?, waiting_for?}`: a repeat or update of an
  alert that has (or is getting) a ticket; `journal`: `sent` now, `deferred` (until the
  ticket exists, or until the repeat journal entry in flight, `waiting_for`, comes back), or
  `parked`. A `sent` entry becomes the one in flight; its `deferred_repeats` are earlier
  repeats it also reports (left over from a failed entry). `sent` events written before
  `deferred_repeats` existed set no entry in flight (their results were never recorded).
- `AlertJournalWritten{command_id, revio_ticket_id, deferred_repeats, next_command_id?,
  not_written?, sent}`: the repeat journal entry in flight (`command_id`) was written; the
  `deferred_repeats` recorded meanwhile go into one entry (`next_command_id`, now in flight),
  or none is in flight any more. `not_written`: repeats left unjournaled because the ticket
  was closed in Rev.io meanwhile (they stay in the counter).
- `AlertCleared{rule: auto_close_on_alert_clear, action, auto_close_on_alert_clear,
  revio_ticket_id?, command_id?}`: `action` is `auto_closed` (the `UpdateRevioTicket` sets
  the `auto-closed` status and a resolution saying why; no journal entry), `journal_entry`,
  `deferred_until_ticket_exists`, `parked_alert_dropped` or `failed_alert_dropped` (its
  create had failed: it is not retried); `deferred_repeats?`: repeats not yet journaled,
  written in one entry sent with the clear.
- `AlertTicketClosed{rule: closed_ticket_ends_episode, revio_ticket_id, status,
  custom_status}`: closed (or deleted) in Rev.io; the next occurrence opens a new ticket.
- `AlertCommandFailed{command_id, verb, status, reason, revio_ticket_id, deferred_repeats?}`:
  an update or journal command was refused (e.g. the `auto-closed` status is missing in
  Rev.io). If it was the repeat journal entry in flight, none is in flight any more; the
  `deferred_repeats` recorded meanwhile stay counted and go into the next repeat's entry (or
  the clear's).
"""

SKIPPED = "AlertSkipped"
PARKED = "AlertParked"
TICKET_REQUESTED = "AlertTicketRequested"
TICKET_LINKED = "AlertTicketLinked"
TICKET_CREATE_FAILED = "AlertTicketCreateFailed"
REPEATED = "AlertRepeated"
CLEARED = "AlertCleared"
TICKET_CLOSED = "AlertTicketClosed"
COMMAND_FAILED = "AlertCommandFailed"
JOURNAL_WRITTEN = "AlertJournalWritten"

ALL = (
    SKIPPED,
    PARKED,
    TICKET_REQUESTED,
    TICKET_LINKED,
    TICKET_CREATE_FAILED,
    REPEATED,
    CLEARED,
    TICKET_CLOSED,
    COMMAND_FAILED,
    JOURNAL_WRITTEN,
)
