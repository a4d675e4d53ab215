"""One transaction for a decision: inbox record + decision events + outbox rows.

    async with UnitOfWork(pool, tenant_id, consumer="alert", cause=message) as uow:
        if uow.already_processed:
            return                      # a redelivery: acknowledge, decide nothing
        state = await load(uow.conn)    # fold the service's streams
        await uow.append(stream, decide(state, message, settings), expected_version=...)
        uow.send(command)               # published by the outbox relay after commit

Either all of it commits or none of it does, so a crash anywhere loses nothing and a
redelivered message is never decided twice.
"""

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import asyncpg
from opentelemetry import propagate, trace

from revsync.contracts.base import Message
from revsync.db import Conn, holds_session_state
from revsync.eventlog.model import ANY_VERSION, NewEvent
from revsync.eventlog.store import append_in_transaction, read_events_by_id
from revsync.projection import Projection, apply_all

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


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


class UnitOfWork:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenant_id: str,
        consumer: str,
        cause: Message | None = None,
        actor: str = "system",
    ) -> None:
        if cause is not None and cause.tenant_id != tenant_id:
            raise ValueError(f"message of tenant {cause.tenant_id!r} handled as {tenant_id!r}")
        self.pool, self.tenant_id, self.consumer = pool, tenant_id, consumer
        self.cause, self.actor = cause, actor
        self.already_processed = False
        self._outbox: list[Message] = []
        self._conn: Any = None
        self._tx: Any = None

    @property
    def conn(self) -> asyncpg.Connection:
        return self._conn  # type: ignore[no-any-return]

    async def __aenter__(self) -> "UnitOfWork":
        self._conn = await self.pool.acquire()
        self._tx = self._conn.transaction()
        await self._tx.start()
        await self._conn.execute("SELECT pg_advisory_xact_lock_shared($1)", WRITERS_LOCK)
        if self.cause is not None:
            claimed = await self._conn.fetchval(
                "INSERT INTO inbox (tenant_id, consumer, message_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING 1",
                self.tenant_id,
                self.consumer,
                self.cause.message_id,
            )
            self.already_processed = claimed is None
        return self

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
    ) -> int:
        """Append decision events (stamped with this unit's metadata) and fold them into
        `projections` in the same transaction; return the stream's new version."""
        base = self.metadata()
        stamped = [NewEvent(e.type, e.data, e.id, {**base, **e.metadata}) for e in events]
        version = await append_in_transaction(
            self._conn, self.tenant_id, stream, stamped, expected_version
        )
        if projections:
            recorded = await read_events_by_id(self._conn, [e.id for e in stamped])
            await apply_all(self._conn, projections, recorded)
        return version

    def send(self, message: Message) -> None:
        if message.tenant_id != self.tenant_id:
            raise ValueError(
                f"message for tenant {message.tenant_id!r} sent from {self.tenant_id!r}"
            )
        self._outbox.append(message)

    async def _write_outbox(self) -> None:
        if not self._outbox:
            return
        await self._conn.execute(
            "INSERT INTO outbox (id, tenant_id, subject, payload, headers)"
            " SELECT i, $1, s, p, $5::jsonb FROM unnest($2::uuid[], $3::text[], $4::bytea[])"
            " AS u(i, s, p)",
            self.tenant_id,
            [m.message_id for m in self._outbox],
            [m.subject for m in self._outbox],
            [m.to_bytes() for m in self._outbox],
            trace_headers(),
        )
        await self._conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)

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
