"""The ticket rules, as pure functions: (state, input, settings, context) -> Decision.

- Which tickets start a link (`should_link_rmm_ticket`, `should_link_revio_ticket`): manual
  RMM tickets with `sync_manual_tickets`; Rev.io tickets a person created with
  `revio_to_rmm_tickets`; only open tickets of linked companies; never an alert ticket and
  never a ticket revsync created (loop safety).
- A link syncs while the setting of its origin is on: description, status (by category) and
  notes, each note once (`decide_sighting`).
- Conflicts (`decide_field`): last writer wins per field by vendor timestamp, except that a
  ticket closed on either side is closed on the other: a status change made on a side
  before our close reached it loses to the close. Once a side is known to be closed (a
  sighting, or the OK result of our close), reopening it is an ordinary, newer change.
"""

from dataclasses import dataclass, field
from typing import Any

from revsync.contracts.base import Command, Result
from revsync.contracts.revio import AddRevioJournalEntry, CreateRevioTicket, UpdateRevioTicket
from revsync.contracts.rmm import AddRmmTicketNote, CloseRmmTicket, CreateRmmTicket, UpdateRmmTicket
from revsync.decision import NOTHING, Decision, DecisionContext, sent
from revsync.tenancy import SyncSettings

from services.ticket import events as E
from services.ticket.sightings import CATEGORY_TO_REVIO, Note, Sighting
from services.ticket.state import FIELDS, LinkState, Side, apply, note_key, other

LWW = "last_writer_wins"
CLOSE_WINS = "closed_on_either_side_closes_both"


@dataclass
class Builder:
    """Accumulates a decision, folding each event into the state as it goes, so later rules
    of the same decision see what earlier ones decided."""

    state: LinkState
    ctx: DecisionContext
    events: list[Any] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def add(self, type_: str, *commands: Command, **data: Any) -> None:
        if commands:
            data = {**data, "sent": sent(*commands)}
        event = self.ctx.event(type_, **data)
        self.events.append(event)
        self.commands.extend(commands)
        self.state = apply(self.state, type_, data)

    def decision(self) -> Decision:
        return Decision(tuple(self.events), tuple(self.commands))


# --- which tickets start a link -------------------------------------------------------------


def sync_enabled_for(origin: Side | None, settings: SyncSettings) -> bool:
    """A link syncs while the setting of the side it came from is on."""
    if origin == "rmm":
        return settings.sync_manual_tickets
    if origin == "revio":
        return settings.revio_to_rmm_tickets
    return False


def should_link_rmm_ticket(
    sighting: Sighting, is_alert_ticket: bool, settings: SyncSettings
) -> bool:
    return (
        settings.sync_manual_tickets
        and not is_alert_ticket
        and not sighting.written_by_revsync
        and not sighting.closed
    )


def should_link_revio_ticket(sighting: Sighting, settings: SyncSettings) -> bool:
    return settings.revio_to_rmm_tickets and not sighting.written_by_revsync and not sighting.closed


def decide_new_ticket(
    state: LinkState,
    sighting: Sighting,
    counterpart_owner: str | None,
    is_alert_ticket: bool,
    settings: SyncSettings,
    ctx: DecisionContext,
) -> Decision:
    """A ticket without a link: create its counterpart, or say why not.

    `counterpart_owner` is the linked Rev.io customer of an RMM ticket's company, or the
    linked RMM company of a Rev.io ticket's customer (None: not linked)."""
    if sighting.side == "rmm":
        wanted = should_link_rmm_ticket(sighting, is_alert_ticket, settings)
    else:
        wanted = should_link_revio_ticket(sighting, settings)
    if not wanted:
        return NOTHING  # feature off, alert ticket, our own ticket, or closed before sync
    if sighting.owner_id is None or counterpart_owner is None:
        return _skip(state, sighting, ctx)
    b = Builder(state, ctx)
    command = _create_command(sighting, counterpart_owner, settings, ctx)
    target = other(sighting.side)
    sent_fields = {"description": sighting.fields["description"], "status": "New"}
    rmm_company, revio_customer = (
        (sighting.owner_id, counterpart_owner)
        if sighting.side == "rmm"
        else (counterpart_owner, sighting.owner_id)
    )
    b.add(
        E.LINK_REQUESTED,
        command,
        origin=sighting.side,
        target=target,
        rule="sync_manual_tickets" if sighting.side == "rmm" else "revio_to_rmm_tickets",
        command_id=str(command.message_id),
        rmm_ticket_id=sighting.ticket_id if sighting.side == "rmm" else None,
        revio_ticket_id=sighting.ticket_id if sighting.side == "revio" else None,
        rmm_company_id=rmm_company,
        revio_customer_id=revio_customer,
        fields=sighting.fields,
        sent_fields=sent_fields,
        at=sighting.at.isoformat(),
        attempt=state.attempts + 1 if state.phase == "failed" else 1,
        summary=sighting.summary,
    )
    for note in sighting.notes:
        _carry_note(b, sighting.side, note)
    return b.decision()


def _skip(state: LinkState, sighting: Sighting, ctx: DecisionContext) -> Decision:
    if sighting.side == "rmm":
        reason = "no_company" if sighting.owner_id is None else "company_not_linked"
        owner = {"company_id": sighting.owner_id}
    else:
        reason = "no_customer" if sighting.owner_id is None else "customer_not_linked"
        owner = {"customer_id": sighting.owner_id}
    if state.phase == "skipped" and state.skip_reason == reason:
        return NOTHING
    event = ctx.event(
        E.SKIPPED,
        reason=reason,
        rule="company_must_be_linked",
        side=sighting.side,
        ticket_id=sighting.ticket_id,
        **owner,
    )
    return Decision((event,))


def _create_command(
    sighting: Sighting, counterpart_owner: str, settings: SyncSettings, ctx: DecisionContext
) -> Command:
    description = sighting.fields["description"] or sighting.summary
    if sighting.side == "rmm":
        return CreateRevioTicket(
            **ctx.envelope(),
            source_key=f"rmm-ticket:{sighting.ticket_id}",
            customer_id=counterpart_owner,
            title=sighting.summary,
            description=description,
            rmm_ticket_id=sighting.ticket_id,
        )
    assert settings.default_service_board and settings.default_ticket_source
    return CreateRmmTicket(
        **ctx.envelope(),
        revio_ticket_id=sighting.ticket_id,
        company_id=counterpart_owner,
        summary=sighting.summary,
        description=description,
        board_id=settings.default_service_board,
        source_id=settings.default_ticket_source,
    )


# --- sightings of linked tickets --------------------------------------------------------------


def decide_sighting(
    state: LinkState, sighting: Sighting, settings: SyncSettings, ctx: DecisionContext
) -> Decision:
    """A side of a link (or of a requested link) was seen: sync what changed."""
    if state.phase not in ("requested", "linked") or not sync_enabled_for(state.origin, settings):
        return NOTHING
    b = Builder(state, ctx)
    if state.phase == "requested" and sighting.side != state.origin:
        # the created ticket's echo came before the create's result: link now
        _link(b, sighting.ticket_id, via="echo")
    if b.state.ticket_of(sighting.side) != sighting.ticket_id:
        return b.decision()  # another ticket claims this link: ignore its content
    for name in FIELDS:
        decide_field(b, sighting, name)
    for note in sighting.notes:
        _carry_note(b, sighting.side, note)
    return b.decision()


def decide_field(b: Builder, sighting: Sighting, name: str) -> None:
    """One field of a sighting: unchanged, our own write landing, a change to carry over, or
    a conflict to resolve."""
    side, value, at = sighting.side, sighting.fields[name], sighting.at
    if value == b.state.seen_on(side, name):
        return  # this side did not change it (or still shows it from before our write)
    writing, agreed = b.state.writing(side, name), b.state.agreed.get(name)
    if (writing is not None and writing[1] == value) or (agreed and agreed.value == value):
        b.add(E.FIELD_CONFIRMED, side=side, field=name, value=value, via="sighting")
        return
    if name == "status" and value == "Closed":
        _close_other_side(b, sighting)
        return
    known_closed_here = b.state.seen_on(side, name) == "Closed"
    if name == "status" and agreed and agreed.value == "Closed" and not known_closed_here:
        _conflict(b, sighting, name, CLOSE_WINS)  # changed here before the close arrived
    elif agreed is None or agreed.at is None or at > agreed.at:
        _push_change(b, sighting, name)
    else:
        _conflict(b, sighting, name, LWW)


def _push_change(b: Builder, sighting: Sighting, name: str) -> None:
    value, to = sighting.fields[name], other(sighting.side)
    agreed = b.state.agreed.get(name)
    commands = _push(b.state, to, name, value, b.ctx)
    b.add(
        E.FIELD_SYNCED,
        *commands,
        field=name,
        value=value,
        previous=agreed.value if agreed else None,
        from_side=sighting.side,
        to_side=to,
        at=sighting.at.isoformat(),
        rule=LWW,
        command_id=_id_of(commands),
        written=value,
    )


def _close_other_side(b: Builder, sighting: Sighting) -> None:
    to = other(sighting.side)
    writing = b.state.writing(to, "status")
    already = b.state.seen_on(to, "status") == "Closed" or (writing and writing[1] == "Closed")
    commands = () if already else _push(b.state, to, "status", "Closed", b.ctx)
    b.add(
        E.CLOSED,
        *commands,
        closed_on=sighting.side,
        at=sighting.at.isoformat(),
        rule=CLOSE_WINS,
        command_id=_id_of(commands),
        written="Closed",
    )


def _conflict(b: Builder, sighting: Sighting, name: str, rule: str) -> None:
    """Both sides changed `name`: keep the agreed value, and write it over the loser's."""
    agreed = b.state.agreed[name]
    commands = _push(b.state, sighting.side, name, agreed.value, b.ctx)
    b.add(
        E.CONFLICT_RESOLVED,
        *commands,
        field=name,
        rule=rule,
        kept=agreed.value,
        kept_from=agreed.by,
        kept_at=agreed.at.isoformat() if agreed.at else None,
        discarded=sighting.fields[name],
        discarded_from=sighting.side,
        discarded_at=sighting.at.isoformat(),
        command_id=_id_of(commands),
        written=agreed.value,
    )


def _id_of(commands: tuple[Command, ...]) -> str | None:
    return str(commands[0].message_id) if commands else None


def _push(
    state: LinkState, to: Side, name: str, value: str | None, ctx: DecisionContext
) -> tuple[Command, ...]:
    """The command that writes `value` into field `name` on side `to` (none while that side's
    ticket does not exist yet: the link catches up when it does)."""
    ticket_id = state.ticket_of(to)
    if ticket_id is None or state.phase != "linked":
        return ()
    if to == "revio":
        if name == "status":
            status = CATEGORY_TO_REVIO.get(value or "", "OPEN")
            return (UpdateRevioTicket(**ctx.envelope(), ticket_id=ticket_id, status=status),)
        return (UpdateRevioTicket(**ctx.envelope(), ticket_id=ticket_id, description=value),)
    if name == "status":
        if value == "Closed":
            return (CloseRmmTicket(**ctx.envelope(), ticket_id=ticket_id),)
        category: Any = value
        return (UpdateRmmTicket(**ctx.envelope(), ticket_id=ticket_id, status_category=category),)
    return (UpdateRmmTicket(**ctx.envelope(), ticket_id=ticket_id, description=value),)


def _carry_note(b: Builder, side: Side, note: Note) -> None:
    """Each note once, never revsync's own (loop safety): now, or when the target exists."""
    if note.written_by_revsync or note_key(side, note.id) in b.state.carried:
        return
    target_ticket = b.state.ticket_of(other(side)) if b.state.phase == "linked" else None
    direction = f"{side}_to_{other(side)}"
    note_data = {"direction": direction, "source_side": side, "source_note_id": note.id}
    if target_ticket is None:
        b.add(E.NOTE_QUEUED, **note_data, text=note.text)
        return
    command = _note_command(side, target_ticket, note.id, note.text, b.ctx)
    b.add(
        E.NOTE_CARRIED,
        command,
        **note_data,
        target_ticket_id=target_ticket,
        command_id=str(command.message_id),
    )


def _note_command(
    side: Side, target_ticket: str, note_id: str, text: str, ctx: DecisionContext
) -> Command:
    if side == "rmm":
        return AddRevioJournalEntry(
            **ctx.envelope(), ticket_id=target_ticket, text=text, source_note_id=note_id
        )
    return AddRmmTicketNote(
        **ctx.envelope(), ticket_id=target_ticket, text=text, source_note_id=note_id
    )


def _link(b: Builder, counterpart_id: str, via: str) -> None:
    """The counterpart exists: record the pair, then send what waited for it (queued notes,
    fields that changed on the origin since the create was sent)."""
    assert b.state.origin is not None
    target = other(b.state.origin)
    ids = {f"{b.state.origin}_ticket_id": b.state.ticket_of(b.state.origin)}
    ids[f"{target}_ticket_id"] = counterpart_id
    pushes: list[Command] = []
    linked = apply(b.state, E.LINKED, ids)
    pushed: dict[str, tuple[str, str | None]] = {}
    for name in FIELDS:
        agreed = linked.agreed.get(name)
        if agreed is not None and agreed.value != linked.seen_on(target, name):
            commands = _push(linked, target, name, agreed.value, b.ctx)
            pushes.extend(commands)
            pushed[name] = (str(commands[0].message_id), agreed.value)
    b.add(E.LINKED, *pushes, via=via, command_id=b.state.create_command_id, pushed=pushed, **ids)
    for source_side, note_id, text in b.state.queued:
        side: Side = "rmm" if source_side == "rmm" else "revio"
        command = _note_command(side, counterpart_id, note_id, text, b.ctx)
        b.add(
            E.NOTE_CARRIED,
            command,
            direction=f"{side}_to_{other(side)}",
            source_side=side,
            source_note_id=note_id,
            target_ticket_id=counterpart_id,
            command_id=str(command.message_id),
        )


# --- results -----------------------------------------------------------------------------------


def decide_create_result(state: LinkState, result: Result, ctx: DecisionContext) -> Decision:
    if state.phase != "requested" or str(result.command_id) != state.create_command_id:
        return NOTHING  # linked already (by the echo), or a result we no longer wait for
    ticket_id = result.external_ids.get("ticket_id")
    b = Builder(state, ctx)
    if not result.ok or not ticket_id:
        b.add(
            E.LINK_FAILED,
            command_id=str(result.command_id),
            status=result.status.value,
            reason=result.reason or "the result names no ticket_id",
        )
        return b.decision()
    _link(b, ticket_id, via="result")
    return b.decision()


def decide_command_result(state: LinkState, result: Result, ctx: DecisionContext) -> Decision:
    """An update's result: an OK write is now known on its side; a refused one is recorded."""
    command_id = str(result.command_id)
    if result.ok:
        for side, writes in state.pending.items():
            for name, (pending_id, value) in writes.items():
                if pending_id == command_id:
                    event = ctx.event(
                        E.FIELD_CONFIRMED,
                        side=side,
                        field=name,
                        value=value,
                        via="result",
                        command_id=command_id,
                    )
                    return Decision((event,))
        return NOTHING  # a note, or a write overtaken by a later one
    event = ctx.event(
        E.COMMAND_FAILED,
        command_id=str(result.command_id),
        system=result.system,
        verb=result.verb,
        status=result.status.value,
        reason=result.reason,
    )
    return Decision((event,))


def decide_deleted(state: LinkState, side: Side, ticket_id: str, ctx: DecisionContext) -> Decision:
    if state.phase not in ("requested", "linked") or state.ticket_of(side) != ticket_id:
        return NOTHING
    return Decision((ctx.event(E.DELETED, side=side, ticket_id=ticket_id),))
