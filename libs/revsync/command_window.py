"""Command windows: a service's bulk commands wait their turn in the database, so a tenant
has at most a window's worth of them in the command stream at once.

Why: an initial sync of 10,000 clients decides ~100,000 asset upserts within minutes. Sent at
once, they sit in the connectors' shared consumers, where fairness (`messaging.fairness`)
can only turn them away again and again so other tenants get their turn: at that size most
of a connector's time went into deferring, not into calling vendors. Held here, they cost
nothing until their turn, and the connectors see each tenant's few hundred at a time.

    async with UnitOfWork(pool, tenant, "asset", cause=result, window=CommandWindow(200)) as uow:
        uow.send(command)    # held; in the outbox once its window has room
                             # and `result` (a Result) frees its command's place

A window is per tenant and kind (`window_key`: the issuing service and the command's
`<system>.<entity>`). Its bookkeeping (table `command_window`) commits with the decision, in
the unit of work's one round trip for the outbox: the result handled frees its place, the
commands decided are held, and whatever fits moves to the outbox. Results are the issuer's
own consumers' input, so each frees its place exactly once (the inbox). A unit does not count
a full window (migration 016): each place its results freed goes to the oldest command
waiting, and commands it holds behind older ones wait too (they show the window is full);
only a unit whose commands wait behind nothing counts the window's commands in flight.

`release_held` is the safety net each windowed service runs every few seconds: it releases
what concurrent units could not see (each skips rows another holds locked) and gives up on
commands never answered within `answer_within_s` (a command dead-lettered before its
connector answered, for instance), so a window can never stay shut.
"""

import asyncio
from dataclasses import dataclass

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings

from revsync.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class CommandWindow:
    """At most `size` commands of one tenant and kind in flight; a command not answered
    within `answer_within_s` no longer counts."""

    size: int = 200
    answer_within_s: float = 900.0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"a command window holds at least one command, not {self.size}")
        if self.answer_within_s <= 0:
            raise ValueError("answer_within_s must be positive")


DEFAULT_WINDOW = CommandWindow()


class CommandWindowSettings(BaseSettings):
    """A windowed service's settings (`<SERVICE>_COMMAND_WINDOW`,
    `<SERVICE>_COMMAND_ANSWER_WITHIN_S`, with the service's env prefix)."""

    command_window: int = Field(
        200, ge=1, description="commands of one tenant in flight at once per connector"
    )
    command_answer_within_s: float = Field(
        900.0, gt=0, description="a command unanswered this long frees its place"
    )

    def window(self) -> CommandWindow:
        return CommandWindow(self.command_window, self.command_answer_within_s)


def window_key(issuer: str, subject: str) -> str:
    """`asset:revio.asset` for `cmd.<tenant>.revio.asset.upsert` sent by `asset`."""
    tokens = subject.split(".")
    if len(tokens) < 5 or tokens[0] != "cmd":
        raise ValueError(f"{subject!r} is not a command subject")
    return f"{issuer}:{tokens[2]}.{tokens[3]}"


_EXPIRE = (
    "DELETE FROM command_window WHERE window_key LIKE $1 AND sent_at IS NOT NULL"
    " AND sent_at < now() - make_interval(secs => $2)"
    " RETURNING tenant_id, window_key, id, sent_at"
)
_HELD_WINDOWS = (
    "SELECT tenant_id, array_agg(DISTINCT window_key ORDER BY window_key) AS keys"
    " FROM command_window WHERE window_key LIKE $1 AND sent_at IS NULL GROUP BY tenant_id"
)


def _issuer_pattern(issuer: str) -> str:
    escaped = issuer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}:%"


async def release_held(pool: asyncpg.Pool, issuer: str, window: CommandWindow) -> int:
    """Give up on `issuer`'s commands unanswered for too long, then move held commands into
    the outbox where their window has room; returns how many moved."""
    pattern = _issuer_pattern(issuer)
    expired = await pool.fetch(_EXPIRE, pattern, window.answer_within_s)
    if expired:
        oldest = min(row["sent_at"] for row in expired)
        log.warning(
            "commands never answered no longer hold their window's place",
            issuer=issuer,
            commands=len(expired),
            tenants=sorted({row["tenant_id"] for row in expired}),
            windows=sorted({row["window_key"] for row in expired}),
            first_command_id=str(expired[0]["id"]),
            oldest_sent_at=oldest.isoformat(),
        )
    moved = 0
    for row in await pool.fetch(_HELD_WINDOWS, pattern):
        moved += await pool.fetchval(
            "SELECT command_window_release($1, $2::text[], $3)",
            row["tenant_id"],
            row["keys"],
            window.size,
        )
    return moved


async def release_periodically(
    pool: asyncpg.Pool, issuer: str, window: CommandWindow, interval_s: float = 5.0
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await release_held(pool, issuer, window)
        except Exception as error:  # the database: the next round tries again
            log.error(
                "release of held commands failed",
                issuer=issuer,
                error=f"{type(error).__name__}: {error}",
            )
