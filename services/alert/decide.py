"""The alert rules, as pure functions: (state, input, settings, context) -> Decision.

Read top to bottom: which alerts become tickets (`why_no_ticket`, `severity_meets_minimum`),
one ticket per (endpoint, condition) (`decide_alert`: a repeat of a live ticket is a journal
entry, at most one in flight per alert: `should_defer_repeat`), clears (`decide_clear`),
parked alerts when their company is linked (`decide_company_linked`), and command results
(`decide_create_result`, `decide_command_result`, `decide_journal_written`,
`decide_revio_ticket`).
"""

from dataclasses import dataclass, replace
from typing import Any

from revsync.contracts.base import Result
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioTicket,
    RevioTicket,
    UpdateRevioTicket,
)
from revsync.contracts.rmm import RmmAlert, RmmAlertChanged
from revsync.decision import NOTHING, Decision, DecisionContext, sent
from revsync.tenancy import SEVERITY_ORDER, SyncSettings

from services.alert import events as E
from services.alert import texts
from services.alert.state import AlertState

AUTO_CLOSED_STATUS = "auto-closed"
ONE_TICKET_RULE = "one_open_ticket_per_endpoint_condition"


@dataclass(frozen=True)
class Placement:
    """What the app looked up about the alert: the Rev.io customer linked to its company,
    and the Rev.io asset and hostname of its endpoint (any may be missing)."""

    customer_id: str | None = None
    revio_asset_id: str | None = None
    endpoint_hostname: str | None = None


# --- the rules --------------------------------------------------------------------------


def severity_meets_minimum(severity: str, minimum: str) -> bool:
    """Critical > High > Medium > Low > Info; an alert at the minimum passes."""
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(minimum)


def is_clear(change: RmmAlertChanged) -> bool:
    """Cleared, or its RMM ticket reached a status of category Closed (ARCHITECTURE §6)."""
    return change.kind == "cleared" or change.alert.status_category == "Closed"


def is_stale(state: AlertState, alert: RmmAlert) -> bool:
    """An observation of the same RMM ticket no newer than one already decided on: a
    duplicate delivery, or one overtaken by a later change. The ticket's version says so
    when both have one (a repeat raised within the same timestamp is newer); else its
    timestamp does."""
    if alert.ticket_id != state.rmm_ticket_id:
        return False
    if alert.version and state.rmm_ticket_version:
        return alert.version <= state.rmm_ticket_version
    return state.observed_at is not None and alert.updated_at <= state.observed_at


def is_recurrence(state: AlertState, change: RmmAlertChanged) -> bool:
    """After its ticket closed, the alert occurs again (raised or updated, or on another RMM
    ticket); a listing (`seen`) of the occurrence already ticketed is not a recurrence."""
    return change.kind != "seen" or change.alert.ticket_id != state.rmm_ticket_id


def should_defer_repeat(state: AlertState, recurred: bool) -> str | None:
    """A repeat is only counted, not journaled yet, while the ticket is being created or a
    repeat's journal entry is in flight (one journal command per alert at a time, so a storm
    spends the Rev.io rate budget on tickets). Returns what it waits for. A recurrence after
    a clear is journaled at once, like the clear itself."""
    if state.phase == "requested" or state.revio_ticket_id is None:
        return "ticket_exists"
    if state.journal_command_id is not None and not recurred:
        return state.journal_command_id
    return None


def why_no_ticket(
    state: AlertState, settings: SyncSettings, placement: Placement
) -> tuple[str, dict[str, Any]] | None:
    """The rule that keeps the alert in `state` from becoming a ticket, or None."""
    if not settings.sync_alerts:
        return E.SKIPPED, {"reason": "sync_alerts_off", "rule": "sync_alerts"}
    severity = state.severity or "Info"
    if not severity_meets_minimum(severity, settings.min_alert_severity):
        return E.SKIPPED, {
            "reason": "below_threshold",
            "rule": "severity_meets_minimum",
            "minimum": settings.min_alert_severity,
        }
    if state.company_id is None:
        return E.PARKED, {"reason": "no_company", "rule": "company_must_be_linked"}
    if placement.customer_id is None:
        return E.PARKED, {"reason": "company_not_linked", "rule": "company_must_be_linked"}
    return None


# --- observations -------------------------------------------------------------------------


def _observation(change: RmmAlertChanged) -> dict[str, Any]:
    alert = change.alert
    return {
        "rmm_ticket_id": alert.ticket_id,
        "rmm_ticket_version": alert.version,
        "observed_at": alert.updated_at.isoformat(),
        "kind": change.kind,
        "endpoint_id": alert.endpoint_id,
        "condition_id": alert.condition_id,
        "company_id": alert.company_id,
        "severity": alert.severity,
        "summary": alert.summary,
        "description": alert.description,
    }


def _with_observation(state: AlertState, change: RmmAlertChanged) -> AlertState:
    alert = change.alert
    return replace(
        state,
        rmm_ticket_id=alert.ticket_id,
        rmm_ticket_version=alert.version,
        observed_at=alert.updated_at,
        endpoint_id=alert.endpoint_id,
        condition_id=alert.condition_id,
        company_id=alert.company_id,
        severity=alert.severity,
        summary=alert.summary,
        description=alert.description,
    )


def decide_alert(
    state: AlertState,
    change: RmmAlertChanged,
    settings: SyncSettings,
    placement: Placement,
    ctx: DecisionContext,
) -> Decision:
    """An alert was raised, updated, cleared or seen."""
    if is_clear(change):
        return decide_clear(state, change, settings, ctx)
    if is_stale(state, change.alert):
        return NOTHING
    observation = _observation(change)
    if state.has_live_ticket:
        if not settings.sync_alerts or change.kind == "seen":
            return NOTHING  # sync paused, or a listing of what we already know
        return _repeat(state, change, observation, ctx)
    if state.phase == "closed" and not is_recurrence(state, change):
        return NOTHING
    current = _with_observation(state, change)
    if state.phase == "failed":
        return _open_or_hold(current, settings, placement, ctx, observation, "retry_after_failure")
    trigger = "recurrence" if state.phase == "closed" else change.kind
    return _open_or_hold(current, settings, placement, ctx, observation, trigger)


def _open_or_hold(
    current: AlertState,
    settings: SyncSettings,
    placement: Placement,
    ctx: DecisionContext,
    observation: dict[str, Any],
    trigger: str,
) -> Decision:
    """Open a ticket for `current` (the state with the new observation), or say why not."""
    blocker = why_no_ticket(current, settings, placement)
    if blocker is None:
        return _request_ticket(current, settings, placement, ctx, observation, trigger)
    type_, why = blocker
    if type_ == E.SKIPPED:
        key = (why["reason"], current.rmm_ticket_id, current.severity)
        if current.phase == "skipped" and current.skipped_as == key:
            return NOTHING  # already said so for this alert at this severity
        return Decision((ctx.event(E.SKIPPED, **why, **observation),))
    if current.phase == "parked":
        if not observation:
            return NOTHING  # a link sweep found it still unlinked
        repeated = {"count": current.count + 1, "journal": "parked", "rule": ONE_TICKET_RULE}
        return Decision((ctx.event(E.REPEATED, **repeated, **observation),))
    return Decision((ctx.event(E.PARKED, **why, **observation),))


def _request_ticket(
    current: AlertState,
    settings: SyncSettings,
    placement: Placement,
    ctx: DecisionContext,
    observation: dict[str, Any],
    trigger: str,
) -> Decision:
    assert current.severity and current.summary and placement.customer_id
    retry = current.phase == "failed"
    episode = current.episode if retry else current.episode + 1
    carried_over = current.phase in ("parked", "failed")  # same occurrence, still open
    count = current.count + (1 if observation else 0) if carried_over else 1
    source_key = f"rmm-alert:{current.key}:{episode}"
    command = CreateRevioTicket(
        **ctx.envelope(),
        source_key=source_key,
        customer_id=placement.customer_id,
        title=texts.ticket_title(current.severity, current.summary, placement.endpoint_hostname),
        description=texts.ticket_body(
            current, placement.revio_asset_id, placement.endpoint_hostname
        ),
        ticket_type=settings.alert_ticket_type,
        priority=current.severity,
        rmm_ticket_id=current.rmm_ticket_id,
    )
    event = ctx.event(
        E.TICKET_REQUESTED,
        rule="should_open_ticket",
        trigger=trigger,
        command_id=str(command.message_id),
        sent=sent(command),
        source_key=source_key,
        customer_id=placement.customer_id,
        revio_asset_id=placement.revio_asset_id,
        ticket_type=settings.alert_ticket_type,
        minimum=settings.min_alert_severity,
        episode=episode,
        attempt=current.attempts + 1 if retry else 1,
        count=count,
        rmm_ticket_id=current.rmm_ticket_id,
        rmm_ticket_version=current.rmm_ticket_version,
        observed_at=current.observed_at.isoformat() if current.observed_at else None,
        endpoint_id=current.endpoint_id,
        endpoint_hostname=placement.endpoint_hostname,
        condition_id=current.condition_id,
        company_id=current.company_id,
        severity=current.severity,
        summary=current.summary,
        description=current.description,
    )
    return Decision((event,), (command,))


def _repeat(
    state: AlertState, change: RmmAlertChanged, observation: dict[str, Any], ctx: DecisionContext
) -> Decision:
    """A repeat or update of an alert whose ticket exists (or is being created): a journal
    entry and a counter, never a second ticket."""
    alert, count = change.alert, state.count + 1
    recurred = state.phase == "cleared"
    waiting_for = should_defer_repeat(state, recurred)
    if waiting_for is not None:
        repeated = {"count": count, "journal": "deferred", "rule": ONE_TICKET_RULE}
        return Decision(
            (ctx.event(E.REPEATED, **repeated, waiting_for=waiting_for, **observation),)
        )
    assert state.revio_ticket_id is not None
    earlier = state.deferred_repeats  # left over from a failed entry: reported with this one
    if recurred:
        text = texts.recurrence_entry(
            count, alert.severity, alert.summary, alert.updated_at, earlier
        )
    else:
        text = texts.repeat_entry(
            count, change.kind, alert.severity, alert.summary, alert.updated_at, earlier
        )
    command = AddRevioJournalEntry(
        **ctx.envelope(),
        ticket_id=state.revio_ticket_id,
        text=text,
        source_note_id=f"rmm-alert:{state.key}:{state.episode}:{count}",
    )
    event = ctx.event(
        E.REPEATED,
        count=count,
        journal="sent",
        deferred_repeats=earlier,
        recurred=recurred,
        rule=ONE_TICKET_RULE,
        revio_ticket_id=state.revio_ticket_id,
        command_id=str(command.message_id),
        sent=sent(command),
        **observation,
    )
    return Decision((event,), (command,))


# --- clears ---------------------------------------------------------------------------------


def decide_clear(
    state: AlertState, change: RmmAlertChanged, settings: SyncSettings, ctx: DecisionContext
) -> Decision:
    """The alert cleared: auto-close the ticket, or say so in a journal entry. Clears are
    idempotent by phase, so they skip the staleness check (a clear may carry the same
    timestamp as the raise it ends)."""
    alert = change.alert
    if state.rmm_ticket_id is not None and alert.ticket_id != state.rmm_ticket_id:
        return NOTHING  # the clear of another RMM ticket than the one this episode follows
    observation = _observation(change)
    base = {
        "rule": "auto_close_on_alert_clear",
        "auto_close_on_alert_clear": settings.auto_close_on_alert_clear,
        **observation,
    }
    if state.phase in ("parked", "failed"):  # no ticket of ours: nothing is ticketed now
        return Decision((ctx.event(E.CLEARED, action=f"{state.phase}_alert_dropped", **base),))
    if not settings.sync_alerts:
        return NOTHING  # sync is off: tickets already opened are left as they are
    if state.phase == "requested":
        if state.clear_pending:
            return NOTHING  # already waiting to apply this clear
        return Decision((ctx.event(E.CLEARED, action="deferred_until_ticket_exists", **base),))
    if state.phase != "open" or state.revio_ticket_id is None:
        return NOTHING  # nothing of ours is open for it
    # repeats not journaled yet go first, in one entry: a clear is never deferred
    flushed = _repeats_entry(state, ctx) if state.deferred_repeats else ()
    commands = _clear_commands(state, settings, ctx, alert)
    action = "auto_closed" if settings.auto_close_on_alert_clear else "journal_entry"
    event = ctx.event(
        E.CLEARED,
        action=action,
        revio_ticket_id=state.revio_ticket_id,
        command_id=str(commands[0].message_id),
        deferred_repeats=state.deferred_repeats if flushed else 0,
        sent=sent(*flushed, *commands),
        **base,
    )
    return Decision((event,), flushed + commands)


def _repeats_entry(state: AlertState, ctx: DecisionContext) -> tuple[AddRevioJournalEntry]:
    """One journal entry for the `state.deferred_repeats` repeats not journaled yet (the
    last ones: occurrences up to `state.count`)."""
    assert state.revio_ticket_id is not None
    return (
        AddRevioJournalEntry(
            **ctx.envelope(),
            ticket_id=state.revio_ticket_id,
            text=texts.repeats_since_entry(state.deferred_repeats, state),
            source_note_id=f"rmm-alert:{state.key}:{state.episode}:{state.count}",
        ),
    )


def _clear_commands(
    state: AlertState, settings: SyncSettings, ctx: DecisionContext, alert: RmmAlert | None
) -> tuple[UpdateRevioTicket | AddRevioJournalEntry, ...]:
    """Auto-close the ticket, saying why in its resolution (no journal entry), or journal
    the clear. `alert`: the clear observed now; None for a clear recorded while the create
    was pending (the state's observation is that clear)."""
    assert state.revio_ticket_id is not None
    cleared_at = alert.updated_at if alert else state.observed_at
    if settings.auto_close_on_alert_clear:
        return (
            UpdateRevioTicket(
                **ctx.envelope(),
                ticket_id=state.revio_ticket_id,
                custom_status=AUTO_CLOSED_STATUS,
                resolution=texts.auto_close_resolution(state, cleared_at),
            ),
        )
    return (
        AddRevioJournalEntry(
            **ctx.envelope(),
            ticket_id=state.revio_ticket_id,
            text=texts.cleared_entry(cleared_at),
            source_note_id=f"rmm-alert:{state.key}:{state.episode}:cleared",
        ),
    )


# --- company links --------------------------------------------------------------------------


def decide_company_linked(
    state: AlertState, settings: SyncSettings, placement: Placement, ctx: DecisionContext
) -> Decision:
    """A parked alert's company may now be linked: ticket it if it is still open."""
    if state.phase != "parked" or placement.customer_id is None:
        return NOTHING
    return _open_or_hold(state, settings, placement, ctx, {}, "company_linked")


# --- results ----------------------------------------------------------------------------------


def decide_create_result(
    state: AlertState, result: Result, settings: SyncSettings, ctx: DecisionContext
) -> Decision:
    """The Rev.io ticket was created (or not); apply what happened while we waited.

    A create answered as failed (dead-lettered) that a person retried from the DLQ may still
    succeed: its ticket is linked if the alert has none yet (closed at once if the alert
    cleared meanwhile), so it is not left open and orphaned in Rev.io."""
    if str(result.command_id) != state.create_command_id:
        return NOTHING  # a result we no longer wait for
    late = state.phase != "requested"
    if late:
        orphan = result.ok and state.revio_ticket_id is None and state.phase in ("failed", "closed")
        if not orphan:
            return NOTHING
        state = replace(state, clear_pending=state.phase == "closed", deferred_repeats=0)
    ticket_id = result.external_ids.get("ticket_id")
    if not result.ok or not ticket_id:
        event = ctx.event(
            E.TICKET_CREATE_FAILED,
            command_id=str(result.command_id),
            status=result.status.value,
            reason=result.reason or "the result names no ticket_id",
            attempt=state.attempts,
        )
        return Decision((event,))
    linked = replace(state, revio_ticket_id=ticket_id, phase="open")
    commands: list[AddRevioJournalEntry | UpdateRevioTicket] = []
    if state.deferred_repeats:
        commands.append(
            AddRevioJournalEntry(
                **ctx.envelope(),
                ticket_id=ticket_id,
                text=texts.deferred_repeats_entry(state.deferred_repeats, state),
                source_note_id=f"rmm-alert:{state.key}:{state.episode}:deferred",
            )
        )
    clear_action = None
    if state.clear_pending:
        commands.extend(_clear_commands(linked, settings, ctx, None))
        clear_action = "auto_closed" if settings.auto_close_on_alert_clear else "journal_entry"
    event = ctx.event(
        E.TICKET_LINKED,
        revio_ticket_id=ticket_id,
        command_id=str(result.command_id),
        deferred_repeats=state.deferred_repeats,
        clear_action=clear_action,
        journal_command_id=(
            str(commands[0].message_id) if state.deferred_repeats and not clear_action else None
        ),
        sent=sent(*commands),
        auto_close_command_id=(
            str(commands[-1].message_id) if clear_action == "auto_closed" else None
        ),
        rmm_ticket_id=state.rmm_ticket_id,
        observed_at=state.observed_at.isoformat() if state.observed_at else None,
        **({"after_failure": True} if late else {}),
    )
    return Decision((event,), tuple(commands))


def decide_command_result(state: AlertState, result: Result, ctx: DecisionContext) -> Decision:
    """An update or journal command came back. A failure is recorded (an auto-close that
    failed leaves the ticket open, so a recurrence adds to it; a repeat's journal entry that
    failed is no longer in flight, and the repeats deferred meanwhile go into the next
    entry). The repeat journal entry in flight that was written: `decide_journal_written`."""
    in_flight = str(result.command_id) == state.journal_command_id
    if result.ok:
        return decide_journal_written(state, result, ctx) if in_flight else NOTHING
    event = ctx.event(
        E.COMMAND_FAILED,
        command_id=str(result.command_id),
        verb=result.verb,
        status=result.status.value,
        reason=result.reason,
        revio_ticket_id=state.revio_ticket_id,
        **({"deferred_repeats": state.deferred_repeats} if in_flight else {}),
    )
    return Decision((event,))


def decide_journal_written(state: AlertState, result: Result, ctx: DecisionContext) -> Decision:
    """The repeat journal entry in flight was written: the repeats deferred meanwhile go into
    one entry, which is then the one in flight; with none, nothing is in flight any more. On
    a ticket closed in Rev.io meanwhile nothing more is written (the counter keeps them)."""
    writable = state.phase in ("open", "cleared") and state.revio_ticket_id is not None
    commands = _repeats_entry(state, ctx) if state.deferred_repeats and writable else ()
    event = ctx.event(
        E.JOURNAL_WRITTEN,
        command_id=str(result.command_id),
        revio_ticket_id=state.revio_ticket_id,
        deferred_repeats=state.deferred_repeats if commands else 0,
        next_command_id=str(commands[0].message_id) if commands else None,
        not_written=0 if commands else state.deferred_repeats,
        count=state.count,
        sent=sent(*commands),
    )
    return Decision((event,), commands)


def ticket_is_closed(ticket: RevioTicket, deleted: bool = False) -> bool:
    return deleted or ticket.closed or ticket.status.upper() == "CLOSED"


def decide_revio_ticket(
    state: AlertState, ticket: RevioTicket, ctx: DecisionContext, deleted: bool = False
) -> Decision:
    """Our Rev.io ticket was closed (or deleted) in Rev.io: the next occurrence opens a new
    one."""
    closed = ticket_is_closed(ticket, deleted)
    if not closed or ticket.id != state.revio_ticket_id or state.phase not in ("open", "cleared"):
        return NOTHING
    event = ctx.event(
        E.TICKET_CLOSED,
        revio_ticket_id=ticket.id,
        status="deleted" if deleted else ticket.status,
        custom_status=ticket.custom_status,
        rule="closed_ticket_ends_episode",
    )
    return Decision((event,))
