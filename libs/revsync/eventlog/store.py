"""Append and read the event log (PostgreSQL, asyncpg).

Guarantees (each covered by tests/integration/test_eventlog_contract.py):
- append with an expected version; exactly one of several concurrent appenders wins;
- append is idempotent by event id: appending the same events again is a no-op;
- `read_all` never skips an event that commits later: it reads in (tx_id, global_position)
  order and only transactions older than the oldest one still in flight
  (`pg_snapshot_xmin`), so nothing can commit behind a reader's position. Appends of
  different tenants (and streams) never wait for each other.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import starmap
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from revsync.db import Conn
from revsync.eventlog.model import (
    ANY_VERSION,
    START,
    ConcurrencyError,
    DuplicateEventError,
    NewEvent,
    Position,
    RecordedEvent,
)

EVENTS_CHANNEL = "revsync_events"
# In the order of RecordedEvent's fields. The JSON comes as text and the time as epoch
# seconds (RecordedEvent converts them when first used: decoding them here was most of the
# cost of a read, and most readers skip most events); the xid8 comes as the int it is.
_COLUMNS = (
    "global_position, tenant_id, stream, version, type, data::text, metadata::text, id,"
    " date_part('epoch', recorded_at), tx_id"
)
_VISIBLE = "tx_id < pg_snapshot_xmin(pg_current_snapshot())"


def _recorded(rows: list[asyncpg.Record]) -> list[RecordedEvent]:
    return list(starmap(RecordedEvent, rows))  # positional: no per-row lookups by name


_APPEND = "SELECT revsync_append($1, $2, $3, $4::text[], $5::text[], $6::text[], $7::uuid[])"
_APPEND_RECORDED = (
    "SELECT * FROM revsync_append_recorded($1, $2, $3, $4::text[], $5::text[], $6::text[],"
    " $7::uuid[])"
)
_NOT_AT_EXPECTED_VERSION, _PARTLY_RECORDED = "RS001", "RS002"


async def _already_recorded(conn: Conn, ids: list[UUID]) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events WHERE id = ANY($1::uuid[])", ids))


def _append_args(
    tenant_id: str, stream: str, events: Sequence[NewEvent], expected_version: int
) -> tuple[Any, ...]:
    if not events:
        raise ValueError("append needs at least one event")
    return (
        tenant_id,
        stream,
        expected_version,
        [event.type for event in events],
        [orjson.dumps(event.data).decode() for event in events],
        [orjson.dumps(event.metadata).decode() for event in events],
        [event.id for event in events],
    )


@contextmanager
def _append_errors(tenant_id: str, stream: str, expected_version: int) -> Iterator[None]:
    """The event log's errors for what the append functions raise (others pass through)."""
    try:
        yield
    except asyncpg.PostgresError as error:
        if error.sqlstate == _NOT_AT_EXPECTED_VERSION:
            raise ConcurrencyError(tenant_id, stream, expected_version) from None
        if error.sqlstate == _PARTLY_RECORDED:
            raise DuplicateEventError(str(error)) from None
        raise


async def append_in_transaction(
    conn: Conn,
    tenant_id: str,
    stream: str,
    events: Sequence[NewEvent],
    expected_version: int = ANY_VERSION,
) -> int:
    """Append (one round trip, atomic on its own or inside the caller's transaction);
    return the stream's new version."""
    args = _append_args(tenant_id, stream, events, expected_version)
    with _append_errors(tenant_id, stream, expected_version):
        return int(await conn.fetchval(_APPEND, *args))


async def append_recorded(
    conn: Conn,
    tenant_id: str,
    stream: str,
    events: Sequence[NewEvent],
    expected_version: int = ANY_VERSION,
) -> list[RecordedEvent]:
    """`append_in_transaction` that answers, in the same round trip, with the events as
    recorded (in log order; the stream's new version is the greatest of theirs)."""
    args = _append_args(tenant_id, stream, events, expected_version)
    with _append_errors(tenant_id, stream, expected_version):
        return _recorded(await conn.fetch(_APPEND_RECORDED, *args))


class EventStore:
    """The event log over a pool. Every read and write names its tenant, except `read_all`
    across tenants, which projections and replay use."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(
        self,
        tenant_id: str,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: int = ANY_VERSION,
    ) -> int:
        async with self.pool.acquire() as conn:
            try:
                return await append_in_transaction(
                    conn, tenant_id, stream, events, expected_version
                )
            except ConcurrencyError:
                # A concurrent append of these very events makes this one a retried no-op.
                ids = [event.id for event in events]
                if await _already_recorded(conn, ids) == len(ids):
                    return int(
                        await conn.fetchval(
                            "SELECT max(version) FROM events WHERE id = ANY($1::uuid[])", ids
                        )
                    )
                raise
            except asyncpg.UniqueViolationError as error:
                raise ConcurrencyError(tenant_id, stream, expected_version) from error

    async def stream_version(self, tenant_id: str, stream: str) -> int:
        async with self.pool.acquire() as conn:
            version = await conn.fetchval(
                "SELECT version FROM streams WHERE tenant_id = $1 AND stream = $2",
                tenant_id,
                stream,
            )
        return int(version or 0)

    async def read_stream(
        self, tenant_id: str, stream: str, from_version: int = 1, conn: Any = None
    ) -> list[RecordedEvent]:
        query = (
            f"SELECT {_COLUMNS} FROM events WHERE tenant_id = $1 AND stream = $2"
            " AND version >= $3 ORDER BY version"
        )
        if conn is not None:
            rows = await conn.fetch(query, tenant_id, stream, from_version)
        else:
            async with self.pool.acquire() as own:
                rows = await own.fetch(query, tenant_id, stream, from_version)
        return _recorded(rows)

    async def read_category(
        self, tenant_id: str, category: str, after_global_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """Events of every stream `<category>:<id>` of one tenant, in global order."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE tenant_id = $1 AND category = $2"
                " AND global_position > $3 ORDER BY global_position LIMIT $4",
                tenant_id,
                category,
                after_global_position,
                limit,
            )
        return _recorded(rows)

    async def read_all(
        self, after: Position = START, limit: int = 1000, tenant_id: str | None = None
    ) -> list[RecordedEvent]:
        """The next events after `after`, gap-safe (see the module docstring)."""
        async with self.pool.acquire() as conn:
            return await read_all_with(conn, after, limit, tenant_id)

    async def has_held_back(self, after: Position, tenant_id: str | None = None) -> bool:
        """Whether committed events exist that `read_all` holds back behind an older
        transaction still in flight (a reader should look again shortly)."""
        async with self.pool.acquire() as conn:
            tenant_filter = "AND tenant_id = $3" if tenant_id else ""
            args: list[Any] = [str(after.tx_id), after.global_position]
            if tenant_id:
                args.append(tenant_id)
            # the first such event in commit order, not EXISTS: with few statistics (a young
            # or fast-growing log) the planner answered EXISTS with a scan of the whole table
            found = await conn.fetchval(
                "SELECT 1 FROM events WHERE (tx_id, global_position) >"
                f" ($1::text::xid8, $2) AND NOT ({_VISIBLE}) {tenant_filter}"
                " ORDER BY events.tx_id, events.global_position LIMIT 1",
                *args,
            )
            return found is not None


async def read_all_with(
    conn: Conn,
    after: Position,
    limit: int,
    tenant_id: str | None = None,
    *,
    gap_safe: bool = True,
) -> list[RecordedEvent]:
    """The next events after `after` in commit order. Gap-safe (the default), only those of
    transactions older than the oldest one in flight anywhere on the server, so none can
    commit behind the reader; `gap_safe=False` only while no writer can be in flight (the
    writers are paused: `revsync.unit_of_work.pause_writers`): then every event is read, even
    those an unrelated transaction (of another database, say) would hold back."""
    tenant_filter = "AND tenant_id = $4" if tenant_id else ""
    visible = _VISIBLE if gap_safe else "true"
    args: list[Any] = [str(after.tx_id), after.global_position, limit]
    if tenant_id:
        args.append(tenant_id)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events"
        f" WHERE (tx_id, global_position) > ($1::text::xid8, $2) AND {visible} {tenant_filter}"
        # qualified: the bare name would sort by the output alias and miss the index
        " ORDER BY events.tx_id, events.global_position LIMIT $3",
        *args,
    )
    return _recorded(rows)


async def read_stream_with(conn: Conn, tenant_id: str, stream: str) -> list[RecordedEvent]:
    """Every event of one stream, in version order."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE tenant_id = $1 AND stream = $2 ORDER BY version",
        tenant_id,
        stream,
    )
    return _recorded(rows)
