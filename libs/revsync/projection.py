"""Projections: read models that are folds over the event log, and their rebuild.

A projection names the tables it owns and the event categories it folds, and applies one
recorded event at a time. Services apply their projection to the events they append inside
the same unit of work (so the read model is never behind its own decisions), and `replay`
drops the tables' rows and folds the whole log again, giving the same result.

    class CompanyLinks(Projection):
        name = "company-links"
        tables = ("company_links",)
        categories = ("company-link",)
        async def apply(self, conn, event): ...

Replay folds big batches: `apply_batch` must give the result of `apply` on each event in
turn. Its default does just that; `StreamRows` (one row per stream) loads a batch's rows in
one query, folds in memory and writes each row once, every table's rows in one statement
(`Rows.write_many`: COPY into a temporary table, then one INSERT ... ON CONFLICT).
"""

import asyncio
import gc
from abc import ABC, abstractmethod
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import orjson

from revsync.aio import cancel_and_wait
from revsync.db import Conn
from revsync.eventlog.model import START, Position, RecordedEvent
from revsync.eventlog.store import read_all_with, read_stream_with

State = TypeVar("State")
COPY_FROM = 100
"""`Rows.write_many` of fewer rows runs the single-row statement for each."""


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity: one per table
class Rows:
    """Rows of one table: `columns` in the order a row gives them; a row whose `key` is
    there already replaces it (`update`) or leaves it as it is (`ON CONFLICT DO NOTHING`).
    `json` names the jsonb columns (a row gives their value, not its text)."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...] = ()
    update: bool = False
    json: frozenset[str] = frozenset()
    sql: str = field(init=False)
    """The statement that writes one row (its arguments: the row)."""

    def __post_init__(self) -> None:
        values = ", ".join(f"${n}" for n in range(1, len(self.columns) + 1))
        object.__setattr__(self, "sql", self._insert(f"VALUES ({values})"))

    def _insert(self, source: str) -> str:
        if self.update:
            sets = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
            conflict = f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets}"
        else:
            conflict = "ON CONFLICT DO NOTHING"
        return f"INSERT INTO {self.table} ({', '.join(self.columns)}) {source} {conflict}"

    async def write_many(self, conn: Conn, rows: Sequence[Sequence[Any]]) -> None:
        """Write rows (at most one per key when `update`), in their order: a few with the
        single-row statement, many with COPY into a temporary table (the jsonb values as
        their text) and one INSERT from it."""
        if len(rows) < COPY_FROM:
            await conn.executemany(self.sql, rows)
            return
        json = [n for n, c in enumerate(self.columns) if c in self.json]
        if json:
            rows = [_json_as_text(row, json) for row in rows]
        staged = f"_rows_{self.table}"
        as_text = (f"NULL::text AS {c}" if c in self.json else c for c in self.columns)
        read = (f"{c}::jsonb" if c in self.json else c for c in self.columns)
        async with conn.transaction():  # a savepoint inside replay's transaction
            await conn.execute(
                f"CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS"
                f" SELECT {', '.join(as_text)} FROM {self.table} WITH NO DATA"
            )
            await conn.copy_records_to_table(staged, records=rows, columns=self.columns)
            await conn.execute(self._insert(f"SELECT {', '.join(read)} FROM {staged}"))
            await conn.execute(f"DROP TABLE {staged}")


def _json_as_text(row: Sequence[Any], columns: list[int]) -> list[Any]:
    values = list(row)
    for n in columns:
        if values[n] is not None:
            values[n] = orjson.dumps(values[n]).decode()
    return values


Write = tuple[Rows, Sequence[Any]]
"""A row and the table it goes into."""


def category_of(event: RecordedEvent) -> str:
    return event.stream.partition(":")[0]


class Projection(ABC):
    name: str
    tables: tuple[str, ...]
    categories: tuple[str, ...]

    def handles(self, event: RecordedEvent) -> bool:
        return category_of(event) in self.categories

    @abstractmethod
    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        """Fold one event into the tables (idempotent for the same event)."""

    async def apply_batch(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        """Fold events this projection handles, in log order, with the result of `apply` on
        each in turn."""
        for event in events:
            await self.apply(conn, event)

    def fold(self) -> "Fold":
        """A fold of batches of events after one another (see `Fold`)."""
        return Fold(self)


class Fold:
    """Folds batches of a projection's events in turn (`add`), its rows written by then or
    held until `write`: with the result of `apply_batch` on each batch. This one writes each
    batch at once."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection

    @property
    def held(self) -> int:
        """How many rows it holds, not written yet."""
        return 0

    async def add(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        await self.projection.apply_batch(conn, events)

    def known(self, tenant_id: str, stream: str, history: Sequence[RecordedEvent]) -> None:
        """Every event of `stream` so far, read by the caller in this transaction under the
        stream's lock (see `StreamFold.known`); nothing to do for a fold without a row per
        stream."""

    async def write(self, conn: Conn) -> None:
        """Write the rows held."""


class StreamRows(Projection, Generic[State]):
    """One row per stream `<category>:<key>` of a tenant: the fold of the stream's events
    (`step`), with the version of the last one folded; an event at or below that version
    arrived out of version order (the log is read in commit order) and the stream is folded
    again from the log (`StreamFold`), never skipped. Subclasses name the table's `rows`
    (keyed by tenant_id and the stream's key, with a `version` column), the columns
    `restore` needs and the row `row` gives."""

    rows: Rows
    loaded: str

    @property
    def table(self) -> str:
        return self.rows.table

    @property
    def key_column(self) -> str:
        return self.rows.key[-1]

    def key(self, event: RecordedEvent) -> str:
        return event.stream.split(":", 1)[1]

    def wanted(self, event: RecordedEvent) -> bool:
        """Whether the event is folded at all (others leave the row as it is)."""
        return True

    @abstractmethod
    def restore(self, key: str, row: asyncpg.Record | None) -> State:
        """The state of the row as loaded (`None`: no row yet)."""

    @abstractmethod
    def step(self, state: State, event: RecordedEvent) -> State:
        """The state after one more event of the stream."""

    @abstractmethod
    def row(self, tenant_id: str, state: State, event: RecordedEvent) -> Sequence[Any]:
        """The row (`rows.columns`) for the state after `event`."""

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        """Other rows a folded event writes (`Rows` that leave a row already there; a row's
        values hashable: a fold writes each row once)."""
        return ()

    def sent_commands(self, commands: Rows, event: RecordedEvent) -> Iterable[Write]:
        """The rows of a `<service>_commands` table for the commands a decision event sent
        (`data["sent"]`: command_id and verb each), so a result finds its stream again.
        `commands` takes (tenant_id, command id, key, verb)."""
        for command in event.data.get("sent") or ():
            row = (event.tenant_id, command["command_id"], self.key(event), command["verb"])
            yield commands, row

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        """One event, as a fold of one (an event older than the row refolds the stream)."""
        await self.apply_batch(conn, (event,))

    async def apply_batch(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        fold = self.fold()
        await fold.add(conn, events)
        await fold.write(conn)

    def fold(self) -> "StreamFold[State]":
        return StreamFold(self)


@dataclass(slots=True)
class _Folded(Generic[State]):
    row: asyncpg.Record | None  # as loaded
    version: int
    state: State | None = None  # None: no event folded since loaded
    last: RecordedEvent | None = None


def _version(event: RecordedEvent) -> int:
    return event.version


class StreamFold(Fold, Generic[State]):
    """Holds the state of every stream it folded and the other rows these events write,
    and writes each row once (`write`), however many batches folded its events."""

    projection: StreamRows[State]

    def __init__(self, projection: StreamRows[State]) -> None:
        super().__init__(projection)
        self.folded: dict[tuple[str, str], _Folded[State]] = {}
        self.sides: dict[Rows, dict[tuple[Any, ...], None]] = {}  # rows in order, each once
        # Streams that got an event older than one already folded: the log is read in commit
        # order (tx_id, position), which is not always version order within a stream (a
        # transaction that took its id early and waited on the stream's lock commits its
        # later version first). They are folded again from the stream itself before writing.
        self.out_of_order: dict[tuple[str, str], str] = {}

    @property
    def held(self) -> int:
        return len(self.folded) + sum(map(len, self.sides.values()))

    async def add(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        projection = self.projection
        streams: dict[tuple[str, str], list[RecordedEvent]] = {}
        key_of, wanted = projection.key, projection.wanted
        for event in events:
            if wanted(event):
                stream = (event.tenant_id, key_of(event))
                if (stream_events := streams.get(stream)) is None:
                    streams[stream] = [event]
                else:
                    stream_events.append(event)
        await self._load(conn, [stream for stream in streams if stream not in self.folded])
        step, restore, side_writes = projection.step, projection.restore, projection.side_writes
        sides = self.sides
        for stream, stream_events in streams.items():
            folded = self.folded[stream]
            state, version, last = folded.state, folded.version, folded.last
            stream_events.sort(key=_version)
            for event in stream_events:
                if event.version <= version:
                    self.out_of_order[stream] = event.stream
                    continue
                state = step(restore(stream[1], folded.row) if state is None else state, event)
                version, last = event.version, event
                for side, args in side_writes(event):
                    if (rows := sides.get(side)) is None:
                        rows = sides[side] = {}
                    rows[tuple(args)] = None
            folded.state, folded.version, folded.last = state, version, last

    def known(self, tenant_id: str, stream: str, history: Sequence[RecordedEvent]) -> None:
        """The stream's row is folded from `history` (every event of the stream so far, as
        the caller read it in this transaction under the stream's lock), not loaded: a round
        trip less, and no lookup in a table whose cached plan may be a scan. Their other
        rows were written when they were appended and are not written again."""
        projection = self.projection
        key = stream.split(":", 1)[1]
        state: State | None = None
        version, last = 0, None
        for event in history:
            if projection.wanted(event):
                state = projection.step(
                    projection.restore(key, None) if state is None else state, event
                )
                version, last = event.version, event
        self.folded[(tenant_id, key)] = _Folded(None, version, state, last)

    async def _load(self, conn: Conn, streams: list[tuple[str, str]]) -> None:
        if not streams:
            return
        projection = self.projection
        rows = await conn.fetch(
            f"SELECT tenant_id, {projection.key_column} AS key, version, {projection.loaded}"
            f" FROM {projection.table} WHERE (tenant_id, {projection.key_column}) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))"
            f" FOR UPDATE OF {projection.table}",
            [tenant for tenant, _ in streams],
            [key for _, key in streams],
        )
        loaded = {(row["tenant_id"], row["key"]): row for row in rows}
        for stream in streams:
            row = loaded.get(stream)
            self.folded[stream] = _Folded(row, row["version"] if row is not None else 0)

    async def _refold_out_of_order(self, conn: Conn) -> None:
        projection = self.projection
        for (tenant_id, key), stream in self.out_of_order.items():
            state, last = None, None
            for event in await read_stream_with(conn, tenant_id, stream):
                if not projection.wanted(event):
                    continue
                state = projection.step(
                    projection.restore(key, None) if state is None else state, event
                )
                last = event
                for side, args in projection.side_writes(event):
                    self.sides.setdefault(side, {})[tuple(args)] = None
            if last is not None:
                self.folded[(tenant_id, key)] = _Folded(None, last.version, state, last)
        self.out_of_order = {}

    async def write(self, conn: Conn) -> None:
        projection = self.projection
        await self._refold_out_of_order(conn)
        upserts = [
            projection.row(tenant_id, folded.state, folded.last)
            for (tenant_id, _), folded in self.folded.items()
            if folded.state is not None and folded.last is not None
        ]
        if upserts:
            await projection.rows.write_many(conn, upserts)
        for side, rows in self.sides.items():
            await side.write_many(conn, list(rows))
        self.folded, self.sides = {}, {}


async def apply_all(
    conn: Conn,
    projections: Sequence[Projection],
    events: Sequence[RecordedEvent],
    history: tuple[str, str, Sequence[RecordedEvent]] | None = None,
) -> None:
    """Fold events into the projections' tables: each projection folds its events at once,
    a stream's row loaded and written once (projections own distinct tables, so the order
    between projections does not matter). A unit of work's append; events of a stream
    older than its row (the log read in commit order) refold the stream (`StreamFold`).
    `history`: (tenant, stream, its events before these), see `Fold.known`."""
    folds = [projection.fold() for projection in projections]
    if history is not None:
        tenant_id, stream, before = history
        category = stream.partition(":")[0]
        for fold in folds:
            if category in fold.projection.categories:
                fold.known(tenant_id, stream, before)
    await _add(conn, folds, events)
    for fold in folds:
        await fold.write(conn)


async def _add(conn: Conn, folds: Sequence[Fold], events: Sequence[RecordedEvent]) -> None:
    """Each fold folds the events of its projection."""
    wanted: dict[Fold, list[RecordedEvent]] = {fold: [] for fold in folds}
    by_category: dict[str, list[list[RecordedEvent]]] = {}
    for fold in folds:
        for category in fold.projection.categories:
            by_category.setdefault(category, []).append(wanted[fold])
    for event in events:
        for events_of in by_category.get(category_of(event), ()):
            events_of.append(event)
    for fold, events_of in wanted.items():
        if events_of:
            await fold.add(conn, events_of)


async def replay(
    pool: asyncpg.Pool,
    projections: Sequence[Projection],
    batch_size: int = 50_000,
    rows_held: int = 500_000,
    writers_paused: bool = False,
) -> int:
    """Drop every row of the projections' tables and fold the whole log again, in one
    transaction (readers see the old read model until the new one is complete). The log is
    read `batch_size` events at a time (the next batch on a second connection while this one
    is folded, when the pool has one to spare); each row is written once, when the rows held
    not written yet reach `rows_held`, or at the end. Returns the number of events read.

    `writers_paused`: the caller holds `pause_writers`, so no event can commit meanwhile and
    the whole log is read. Without it the read is gap-safe, and any transaction open on the
    server (one of another database included) holds back the events committed after it began:
    the rebuild would silently lack them (`revsync replay` pauses the writers)."""
    read = 0
    folds = [projection.fold() for projection in projections]
    async with pool.acquire() as conn, conn.transaction(), _spare(pool) as reader:
        with _cycles_collected_after():
            for projection in projections:
                for table in projection.tables:
                    await conn.execute(f"DELETE FROM {table}")
            batches = read_batches(
                reader or conn, batch_size, ahead=reader is not None, gap_safe=not writers_paused
            )
            async with aclosing(batches):  # no read left in flight on the way out
                async for batch in batches:
                    await _add(conn, folds, batch)
                    read += len(batch)
                    if sum(fold.held for fold in folds) >= rows_held:
                        for fold in folds:
                            await fold.write(conn)
            for fold in folds:
                await fold.write(conn)
    return read


@asynccontextmanager
async def _spare(pool: asyncpg.Pool) -> AsyncIterator[Conn | None]:
    """A second connection of the pool if it has one to spare at once, else None."""
    if pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size():
        yield None
        return
    async with pool.acquire() as conn:
        yield conn


async def read_batches(
    conn: Conn,
    batch_size: int,
    ahead: bool = False,
    after: Position = START,
    gap_safe: bool = True,
) -> AsyncGenerator[list[RecordedEvent], None]:
    """The whole log after `after` in commit order, `batch_size` events at a time. `ahead`:
    the next batch is read while the caller works on this one (`conn` then serves this
    reader alone: the log is append-only and read gap-safe, or with the writers paused, so
    a connection of its own reads the same events in the same order). `gap_safe`: see
    `read_all_with`."""

    def read(position: Position) -> Coroutine[Any, Any, list[RecordedEvent]]:
        return read_all_with(conn, position, batch_size, gap_safe=gap_safe)

    if not ahead:
        while batch := await read(after):
            after = batch[-1].position
            yield batch
        return
    next_batch = asyncio.ensure_future(read(after))
    try:
        while batch := await next_batch:
            next_batch = asyncio.ensure_future(read(batch[-1].position))
            yield batch
    finally:
        await cancel_and_wait(next_batch)


@contextmanager
def _cycles_collected_after() -> Iterator[None]:
    """Without the cyclic garbage collector meanwhile: a fold makes millions of objects
    that reference counting frees, and the collector would go through every state held
    again and again (a third of replay's time). Cycles made meanwhile are collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
