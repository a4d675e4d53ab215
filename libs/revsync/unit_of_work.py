"""One transaction for a decision: inbox record + decision events + outbox rows.

    async with UnitOfWork(pool, tenant_id, consumer="alert", cause=message) as uow:
        if uow.already_processed:
            return                      # a redelivery: acknowledge, decide nothing
        state = await load(uow.conn)    # fold the service's streams
        await uow.append(stream, decide(state, message, settings), expected_version=...)
        uow.send(command)               # published by the outbox relay after commit

Either all of it commits or none of it does, so a crash anywhere loses nothing and a
redelivered message is never decided twice.

`stream=` also takes the transaction-scoped lock of the stream the unit decides about (after
the inbox claim, so a concurrent duplicate waits on the inbox row, never on the stream). The
writers' lock, the inbox claim and the stream's lock are one round trip; the outbox rows and
the relay's wake-up another.

`window=` sends the unit's commands through a command window (`revsync.command_window`):
they are held until their tenant and kind have room, and a `Result` it handles frees its
command's place; still one round trip at commit.
"""

from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
from opentelemetry import propagate, trace

from revsync.command_window import CommandWindow, window_key
from revsync.contracts.base import Command, Message, Result
from revsync.db import Conn, holds_session_state
from revsync.eventlog.model import ANY_VERSION, NewEvent, RecordedEvent
from revsync.eventlog.store import append_in_transaction, append_recorded
from revsync.projection import Projection, apply_all

M = TypeVar("M", bound=Message)
OUTBOX_CHANNEL = "revsync_outbox"
# Every unit of work holds this advisory lock shared; `revsync replay` takes it exclusive, so
# no decision commits while the read models are rebuilt (writers wait, then go on).
WRITERS_LOCK = 0x72657673796E63  # "revsync"


async def pause_writers(conn: Conn) -> None:
    """Wait for the units of work in flight to end and keep new ones waiting until
    `resume_writers` (or until `conn` closes)."""
    holds_session_state(conn)
    await conn.execute("SELECT pg_advisory_lock($1)", WRITERS_LOCK)


async def resume_writers(conn: Conn) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", WRITERS_LOCK)


def stream_lock_key(tenant_id: str, stream: str) -> str:
    """What the transaction-scoped lock of one stream is taken on (`hashtextextended`)."""
    return f"{tenant_id}\x1f{stream}"


# One statement, in this order: the writers' lock (shared), the inbox claim, the stream's lock.
# The stream lock is evaluated over the claim's completed count, so it is taken after the
# claim; it is never taken in the statement that then reads the stream (a statement's
# snapshot predates the locks it waits for).
_BEGIN_CLAIM = (
    "WITH claim AS (INSERT INTO inbox (tenant_id, consumer, message_id)"
    " SELECT $1, $2, $3 FROM (SELECT pg_advisory_xact_lock_shared($4)) AS writers"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT c.claimed, CASE WHEN $5::text IS NULL THEN NULL"
    " ELSE pg_advisory_xact_lock(hashtextextended($5::text, 0)) END"
    " FROM (SELECT count(*) AS claimed FROM claim) AS c"
)
_BEGIN = (
    "SELECT pg_advisory_xact_lock_shared($1), CASE WHEN $2::text IS NULL THEN NULL"
    " ELSE pg_advisory_xact_lock(hashtextextended($2::text, 0)) END"
)
# The inbox claim of several messages handled together (`UnitOfWork.claim`).
_CLAIM_MANY = (
    "INSERT INTO inbox (tenant_id, consumer, message_id)"
    " SELECT $1, $2, m FROM unnest($3::uuid[]) AS m ON CONFLICT DO NOTHING RETURNING message_id"
)
# The outbox rows and the relay's wake-up, one statement.
_WRITE_OUTBOX = (
    "WITH written AS (INSERT INTO outbox (id, tenant_id, subject, payload, headers)"
    " SELECT i, $1, s, p, $5::jsonb"
    " FROM unnest($2::uuid[], $3::text[], $4::bytea[]) AS u(i, s, p) RETURNING 1)"
    " SELECT pg_notify($6, '') FROM (SELECT count(*) FROM written) AS w"
)
# The unit's part in its command windows, one statement (migration 014).
_WRITE_WINDOW = "SELECT command_window_send($1, $2::uuid[], $3::uuid[], $4, $5, $6, $7::jsonb, $8)"


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _whole_stream(history: Sequence[RecordedEvent], expected_version: int) -> bool:
    """Whether `history` is a stream's events 1..n and the append expects version n (the
    append at exactly that version then proves nothing is missing)."""
    if len(history) != expected_version:
        return False
    return all(event.version == n for n, event in enumerate(history, start=1))


class UnitOfWork:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenant_id: str,
        consumer: str,
        cause: Message | None = None,
        actor: str = "system",
        stream: str | None = None,
        window: CommandWindow | None = None,
    ) -> None:
        if cause is not None and cause.tenant_id != tenant_id:
            raise ValueError(f"message of tenant {cause.tenant_id!r} handled as {tenant_id!r}")
        self.pool, self.tenant_id, self.consumer = pool, tenant_id, consumer
        self.cause, self.actor, self.window = cause, actor, window
        self._lock = stream_lock_key(tenant_id, stream) if stream is not None else None
        self.already_processed = False
        self._outbox: list[Message] = []
        self._conn: Any = None
        self._tx: Any = None

    @property
    def conn(self) -> asyncpg.Connection:
        return self._conn  # type: ignore[no-any-return]

    async def __aenter__(self) -> "UnitOfWork":
        self._conn = await self.pool.acquire()
        try:
            self._tx = self._conn.transaction()
            await self._tx.start()
            if self.cause is not None:
                claimed = await self._conn.fetchval(
                    _BEGIN_CLAIM,
                    self.tenant_id,
                    self.consumer,
                    self.cause.message_id,
                    WRITERS_LOCK,
                    self._lock,
                )
                self.already_processed = claimed == 0
            else:
                await self._conn.execute(_BEGIN, WRITERS_LOCK, self._lock)
        except BaseException:  # e.g. a deadlock while waiting: no __aexit__ to give it back
            await self.pool.release(self._conn)  # the pool rolls the transaction back
            raise
        return self

    async def claim(self, messages: Sequence[M]) -> list[M]:
        """The inbox claim of several messages handled together by a unit without a single
        `cause` (e.g. counters updated in batches): those not processed before, each once and
        in order. The others were (redeliveries) and must not count again; a concurrent unit
        claiming one of them waits for this one to end."""
        if self.cause is not None:
            raise ValueError("a unit of work with a cause claims it when it begins")
        for message in messages:
            if message.tenant_id != self.tenant_id:
                raise ValueError(f"message of tenant {message.tenant_id!r} in {self.tenant_id!r}")
        ids = sorted({m.message_id for m in messages})  # one lock order for every claimer
        rows = await self._conn.fetch(_CLAIM_MANY, self.tenant_id, self.consumer, ids)
        fresh = {row["message_id"] for row in rows}
        claimed: list[M] = []
        for message in messages:
            if message.message_id in fresh:
                fresh.discard(message.message_id)  # a copy later in the batch is not fresh
                claimed.append(message)
        return claimed

    def metadata(self) -> dict[str, Any]:
        cause = self.cause
        return {
            "service": self.consumer,
            "actor": self.actor,
            "trace_id": current_trace_id(),
            "correlation_id": str(cause.correlation_id) if cause else None,
            "causation_id": str(cause.message_id) if cause else None,
        }

    async def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: int = ANY_VERSION,
        projections: Sequence[Projection] = (),
        history: Sequence[RecordedEvent] | None = None,
    ) -> int:
        """Append decision events (stamped with this unit's metadata) and fold them into
        `projections` in the same transaction; return the stream's new version. `history`:
        every event of `stream` before these, as this unit read them (under the stream's
        lock): the projections fold the stream's row from them instead of loading it."""
        if history is not None and not _whole_stream(history, expected_version):
            raise ValueError(
                f"the history of {stream!r} must be the whole stream up to the expected"
                f" version {expected_version}: got {len(history)} events"
            )
        base = self.metadata()
        stamped = [NewEvent(e.type, e.data, e.id, {**base, **e.metadata}) for e in events]
        if not projections:
            return await append_in_transaction(
                self._conn, self.tenant_id, stream, stamped, expected_version
            )
        recorded = await append_recorded(
            self._conn, self.tenant_id, stream, stamped, expected_version
        )
        # folded together: a stream's row is loaded (or folded from `history`) and written once
        known = (self.tenant_id, stream, history) if history is not None else None
        await apply_all(self._conn, projections, recorded, known)
        return max(event.version for event in recorded)

    def send(self, message: Message) -> None:
        """Queue `message` for the outbox (with a window: for its command window); a command
        is stamped with this service as its issuer, which its result carries back."""
        if message.tenant_id != self.tenant_id:
            raise ValueError(
                f"message for tenant {message.tenant_id!r} sent from {self.tenant_id!r}"
            )
        if self.window is not None and not isinstance(message, Command):
            raise ValueError(f"a unit of work with a command window sends only commands: {message}")
        if isinstance(message, Command) and message.issuer is None:
            message = message.model_copy(update={"issuer": self.consumer})
        self._outbox.append(message)

    async def _write_outbox(self) -> None:
        if self.window is not None:
            await self._write_window(self.window)
        elif self._outbox:
            await self._conn.execute(
                _WRITE_OUTBOX,
                self.tenant_id,
                [m.message_id for m in self._outbox],
                [m.subject for m in self._outbox],
                [m.to_bytes() for m in self._outbox],
                trace_headers(),
                OUTBOX_CHANNEL,
            )

    async def _write_window(self, window: CommandWindow) -> None:
        answered = []
        if isinstance(self.cause, Result) and not self.already_processed:
            answered.append(self.cause.command_id)
        if not answered and not self._outbox:
            return
        await self._conn.execute(
            _WRITE_WINDOW,
            self.tenant_id,
            answered,
            [m.message_id for m in self._outbox],
            [window_key(self.consumer, m.subject) for m in self._outbox],
            [m.subject for m in self._outbox],
            [m.to_bytes() for m in self._outbox],
            trace_headers(),
            window.size,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On any failure the connection goes back to the pool with its transaction open;
        # asyncpg's pool resets it (ROLLBACK) on release, so nothing half-done is committed.
        try:
            if exc_type is None:
                await self._write_outbox()
                await self._tx.commit()
            else:
                await self._tx.rollback()
        finally:
            await self.pool.release(self._conn)
