"""The writes a sync run still waits for, and how fast they drain.

Commands the run's decisions issued that no connector answered yet: the asset and company
services send theirs through command windows (held or in flight there until answered), per
`<issuer>:<system>.<entity>`, so the commands waiting are the tenant's rows of
`command_window`, grouped by the system they write to. Not the outbox: alerts and tickets
keep a busy tenant's outbox from ever staying empty.

How fast they drain comes from the connectors' latest answers since the run began (their
`CommandExecuted` audit events, migration 015): the ETA is the slowest system's writes
waiting over the rate it answers them (the slower of its latest 100 and latest 20 answers:
a rate-limited connector answers a burst, then slows down), and there is none until each
system waiting has answered twice. `sync_progress` shows a run whose decisions are all
taken as `writing` while any wait (before, a run draining 171 write-backs to RMM read
`deciding`, 0.99 and "ETA: 1 s" for five minutes).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Commands waiting in the tenant's command windows, per `<system>.<entity>`.
COMMANDS_WAITING = (
    "SELECT split_part(window_key, ':', 2) AS kind, count(*) AS waiting FROM command_window"
    " WHERE tenant_id = $1 GROUP BY 1"
)
# The connectors' latest answers after a log position, newest first.
COMMAND_EXECUTED = "CommandExecuted"
ANSWERS_SAMPLED = 100
RECENT_ANSWERS = 20
LATEST_ANSWERS = (
    "SELECT split_part(data ->> 'subject', '.', 3) || '.' || split_part(data ->> 'subject', '.', 4)"
    " AS kind, recorded_at FROM events WHERE tenant_id = $1 AND type = $2"
    " AND global_position > $3 ORDER BY global_position DESC LIMIT $4"
)
SYSTEM_LABELS = {"rmm": "RMM", "revio": "Rev.io"}


@dataclass(frozen=True)
class WritesWaiting:
    """Commands to one system the decisions issued and its connector has not answered yet
    (held or in flight in a command window), and when it answered the latest commands of
    those kinds since the run began."""

    system: str
    waiting: int
    answered_at: tuple[datetime, ...] = ()

    @property
    def label(self) -> str:
        return SYSTEM_LABELS.get(self.system, self.system)

    def rate(self, now: datetime) -> float | None:
        """Answers a second: the intervals between the latest answers over the time from the
        first of them until now (a connector that stopped answering slows it down), or over
        only the latest `RECENT_ANSWERS` when they are slower: a rate limiter lets a burst
        through, then throttles, and the burst would keep the ETA optimistic for as long as
        it stays in the sample. None before two answers."""
        if len(self.answered_at) < 2:
            return None
        answered = sorted(self.answered_at)
        rates = [_rate(answered, now), _rate(answered[-RECENT_ANSWERS:], now)]
        known = [rate for rate in rates if rate is not None]
        return min(known) if known else None

    def eta_s(self, now: datetime) -> float | None:
        rate = self.rate(now)
        return None if rate is None else self.waiting / rate

    def describe(self) -> str:
        return f"{self.waiting} write{'' if self.waiting == 1 else 's'} to {self.label} waiting"


def _rate(answered: Sequence[datetime], now: datetime) -> float | None:
    span = (now - answered[0]).total_seconds()
    return (len(answered) - 1) / span if span > 0 and len(answered) > 1 else None


def writes_eta_s(writes: Sequence[WritesWaiting], now: datetime) -> float | None:
    """The slowest system's writes waiting over the rate it answers them; None while one
    has no rate yet (pure)."""
    etas = [w.eta_s(now) for w in writes if w.waiting > 0]
    if not etas or any(eta is None for eta in etas):
        return None
    return round(max(eta for eta in etas if eta is not None), 1)


def writes_by_system(
    waiting: dict[str, int], answers: Sequence[tuple[str, datetime]]
) -> list[WritesWaiting]:
    """Commands waiting per `<system>.<entity>` and the latest answers (kind, time) as the
    writes waiting per system, each with the answers to the kinds waiting (pure)."""
    systems: dict[str, list[str]] = {}
    for kind in sorted(waiting):
        systems.setdefault(kind.split(".", 1)[0], []).append(kind)
    return [
        WritesWaiting(
            system,
            sum(waiting[kind] for kind in kinds),
            tuple(at for kind, at in answers if kind in kinds),
        )
        for system, kinds in systems.items()
    ]


async def load_writes(conn: Any, tenant_id: str, since: int) -> list[WritesWaiting]:
    """The tenant's commands waiting in its command windows, per target system, with the
    latest answers to commands of those kinds after log position `since`."""
    rows = await conn.fetch(COMMANDS_WAITING, tenant_id)
    if not rows:
        return []
    waiting = {row["kind"]: row["waiting"] for row in rows}
    answers = await conn.fetch(LATEST_ANSWERS, tenant_id, COMMAND_EXECUTED, since, ANSWERS_SAMPLED)
    return writes_by_system(waiting, [(row["kind"], row["recorded_at"]) for row in answers])
