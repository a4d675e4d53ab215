"""What the alert service writes into Rev.io: ticket title and body, journal entries."""

from datetime import datetime

from services.alert.state import AlertState

TITLE_MAX = 120


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "unknown time"


def ticket_title(severity: str, summary: str) -> str:
    title = f"[{severity}] {summary}"
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def ticket_body(state: AlertState, revio_asset_id: str | None) -> str:
    lines = [
        state.summary or "",
        "",
        f"Severity: {state.severity}",
        f"Endpoint: {state.endpoint_id or 'none'}",
    ]
    if revio_asset_id:
        lines.append(f"Rev.io asset: {revio_asset_id}")
    lines += [
        f"Alert condition: {state.condition_id}",
        f"RMM ticket: {state.rmm_ticket_id}",
        f"Raised: {_when(state.observed_at)}",
    ]
    if state.description and state.description != state.summary:
        lines += ["", state.description]
    return "\n".join(lines)


def _earlier(repeats: int) -> str:
    """Repeats not journaled before (their entry failed), reported with the next entry."""
    return f" ({repeats} earlier repeat(s) not journaled before)" if repeats else ""


def repeat_entry(
    count: int, kind: str, severity: str, summary: str, at: datetime, earlier: int = 0
) -> str:
    verb = "updated" if kind == "updated" else "repeated"
    return f"Alert {verb} (occurrence {count}) at {_when(at)}: [{severity}] {summary}" + _earlier(
        earlier
    )


def recurrence_entry(
    count: int, severity: str, summary: str, at: datetime, earlier: int = 0
) -> str:
    return f"Alert recurred (occurrence {count}) at {_when(at)}: [{severity}] {summary}" + _earlier(
        earlier
    )


def deferred_repeats_entry(repeats: int, state: AlertState) -> str:
    return (
        f"Alert repeated {repeats} time(s) while this ticket was being created; "
        f"latest at {_when(state.observed_at)}: [{state.severity}] {state.summary}"
    )


def repeats_since_entry(repeats: int, state: AlertState) -> str:
    """Repeats counted while the previous journal entry was being written, in one entry."""
    return (
        f"Alert repeated {repeats} more time(s) since occurrence {state.count - repeats} "
        f"(now occurrence {state.count}); latest at {_when(state.observed_at)}: "
        f"[{state.severity}] {state.summary}"
    )


def cleared_entry(at: datetime | None) -> str:
    return f"Alert cleared in RMM at {_when(at)}."
