"""What the alert service writes into Rev.io: ticket title and body, journal entries, the
resolution of an auto-closed ticket. The endpoint is named by its hostname when the asset
service knows it (an operator reads hostnames, not RMM ids), else by its RMM id."""

import re
from datetime import datetime

from services.alert.state import AlertState

TITLE_MAX = 120


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "unknown time"


def names_host(text: str, hostname: str) -> bool:
    """`text` names `hostname` as a word (any case; `GRAN-LT-001.corp.local` names it,
    `GRAN-LT-0012` does not)."""
    return re.search(rf"(?<![\w-]){re.escape(hostname)}(?![\w-])", text, re.IGNORECASE) is not None


def ticket_title(severity: str, summary: str, hostname: str | None = None) -> str:
    """`[severity] summary on HOST`, the host only when the summary does not name it (and
    it leaves room for the summary); the summary is cut to keep the title in TITLE_MAX."""
    head = f"[{severity}] "
    suffix = f" on {hostname}" if hostname and not names_host(summary, hostname) else ""
    if len(suffix) > TITLE_MAX // 3:
        suffix = ""  # a hostname that long would crowd the summary out
    room = TITLE_MAX - len(head) - len(suffix)
    if len(summary) > room:
        summary = summary[: room - 1] + "…"
    return head + summary + suffix


def endpoint_line(endpoint_id: str | None, hostname: str | None) -> str:
    if endpoint_id and hostname:
        return f"Endpoint: {hostname} (RMM id {endpoint_id})"
    return f"Endpoint: {endpoint_id or 'none'}"


def ticket_body(state: AlertState, revio_asset_id: str | None, hostname: str | None = None) -> str:
    """The ticket's facts. Rev.io tickets have no title: the connector writes the title as
    the description's first line, so the summary is repeated here only when the title had
    to cut it."""
    summary = state.summary or ""
    title = ticket_title(state.severity or "", summary, hostname)
    lines = [] if summary in title else [summary, ""]
    lines += [
        f"Severity: {state.severity}",
        endpoint_line(state.endpoint_id, hostname),
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


def auto_close_resolution(state: AlertState, at: datetime | None) -> str:
    """The resolution of a ticket closed because its alert cleared."""
    where = state.endpoint_hostname or state.endpoint_id
    on = f" on {where}" if where else ""
    return f"Auto-closed by revsync: the RMM alert {state.condition_id}{on} cleared at {_when(at)}."
