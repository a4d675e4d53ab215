"""The ticket service's decision events (stream `ticket-link:<origin>-<origin ticket id>`).

Sides are `rmm` and `revio`; fields are `description` and `status` (an RMM status
category: New, InProgress, Closed). Events that sent commands carry `command_id` and
`sent: [{command_id, system, entity, verb}]`.

- `TicketSkipped{reason, rule: company_must_be_linked, side, ticket_id, company_id |
  customer_id}`: `company_not_linked`, `no_company`, `customer_not_linked`, `no_customer`.
- `TicketLinkRequested{rule, origin, target, command_id, rmm_ticket_id | revio_ticket_id,
  rmm_company_id, revio_customer_id, fields, sent_fields, at, attempt, summary}`: the
  counterpart is created; `rule` is `sync_manual_tickets` or `revio_to_rmm_tickets`.
- `TicketLinked{rmm_ticket_id, revio_ticket_id, via, command_id, pushed}`: the pair exists
  (`via` the create's `result`, or the `echo` of the created ticket arriving first);
  `pushed` names fields changed on the origin while the create was in flight, now written.
- `TicketLinkFailed{command_id, status, reason}`: the create was refused.
- `TicketFieldSynced{rule: last_writer_wins, field, value, previous, from_side, to_side,
  at}`: one side changed a field last; the other side is written.
- `TicketFieldConfirmed{side, field, value, via}`: a side is known to show a value we wrote
  or agreed on (`via` our write's OK `result`, or a `sighting`): nothing to do.
- `TicketConflictResolved{rule, field, kept, kept_from, kept_at, discarded, discarded_from,
  discarded_at}`: both sides changed a field; `rule` is `last_writer_wins` (by vendor
  timestamp) or `closed_on_either_side_closes_both`; the loser is overwritten.
- `TicketClosed{rule: closed_on_either_side_closes_both, closed_on, at}`: closed on one
  side, so closed on the other.
- `NoteQueued{direction, source_side, source_note_id, text}`: a note waits for its target
  ticket to exist.
- `NoteCarried{direction, source_side, source_note_id, target_ticket_id, command_id}`: a
  note is copied, once (`rmm_to_revio` as a journal entry, `revio_to_rmm` as an RMM note).
- `TicketCommandFailed{command_id, system, verb, status, reason}`: a write was refused.
- `TicketDeleted{side, ticket_id}`: one side's ticket was deleted; the link stops syncing
  (nothing is deleted in Rev.io by automation).
"""

SKIPPED = "TicketSkipped"
LINK_REQUESTED = "TicketLinkRequested"
LINKED = "TicketLinked"
LINK_FAILED = "TicketLinkFailed"
FIELD_SYNCED = "TicketFieldSynced"
FIELD_CONFIRMED = "TicketFieldConfirmed"
CONFLICT_RESOLVED = "TicketConflictResolved"
CLOSED = "TicketClosed"
NOTE_QUEUED = "NoteQueued"
NOTE_CARRIED = "NoteCarried"
COMMAND_FAILED = "TicketCommandFailed"
DELETED = "TicketDeleted"

ALL = (
    SKIPPED,
    LINK_REQUESTED,
    LINKED,
    LINK_FAILED,
    FIELD_SYNCED,
    FIELD_CONFIRMED,
    CONFLICT_RESOLVED,
    CLOSED,
    NOTE_QUEUED,
    NOTE_CARRIED,
    COMMAND_FAILED,
    DELETED,
)
