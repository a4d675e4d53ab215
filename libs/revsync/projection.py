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
one query, folds in memory and writes each row once.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import asyncpg

from revsync.db import Conn
from revsync.eventlog.model import START, Position, RecordedEvent
from revsync.eventlog.store import read_all_with

State = TypeVar("State")
Write = tuple[str, Sequence[Any]]
"""A statement and its arguments."""


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


class StreamRows(Projection, Generic[State]):
    """One row per stream `<category>:<key>` of a tenant: the fold of the stream's events
    (`step`), with the version of the last one folded; an event at or below that version is
    already folded. Subclasses name the table, its key column, the columns `restore` needs
    and the upsert whose arguments `row` gives."""

    table: str
    key_column: str
    loaded: str
    upsert: str

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
        """The upsert's arguments for the state after `event`."""

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        """Other rows a folded event writes (`ON CONFLICT DO NOTHING` inserts)."""
        return ()

    def sent_commands(self, insert: str, event: RecordedEvent) -> Iterable[Write]:
        """The rows of a `<service>_commands` table for the commands a decision event sent
        (`data["sent"]`: command_id and verb each), so a result finds its stream again.
        `insert` takes (tenant_id, key, command ids, verbs)."""
        commands = event.data.get("sent") or []
        if commands:
            ids, verbs = [c["command_id"] for c in commands], [c["verb"] for c in commands]
            yield insert, (event.tenant_id, self.key(event), ids, verbs)

    async def load_one(self, conn: Conn, tenant_id: str, key: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await conn.fetchrow(
            f"SELECT version, {self.loaded} FROM {self.table}"
            f" WHERE tenant_id = $1 AND {self.key_column} = $2 FOR UPDATE",
            tenant_id,
            key,
        )
        return row

    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        if not self.wanted(event):
            return
        key = self.key(event)
        row = await self.load_one(conn, event.tenant_id, key)
        if row is not None and row["version"] >= event.version:
            return  # already folded
        state = self.step(self.restore(key, row), event)
        await conn.execute(self.upsert, *self.row(event.tenant_id, state, event))
        for sql, args in self.side_writes(event):
            await conn.execute(sql, *args)

    async def apply_batch(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        streams: dict[tuple[str, str], list[RecordedEvent]] = {}
        for event in events:
            if self.wanted(event):
                streams.setdefault((event.tenant_id, self.key(event)), []).append(event)
        if not streams:
            return
        rows = await conn.fetch(
            f"SELECT tenant_id, {self.key_column} AS key, version, {self.loaded}"
            f" FROM {self.table} WHERE (tenant_id, {self.key_column}) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))"
            f" FOR UPDATE OF {self.table}",
            [tenant for tenant, _ in streams],
            [key for _, key in streams],
        )
        loaded = {(row["tenant_id"], row["key"]): row for row in rows}
        upserts: list[Sequence[Any]] = []
        sides: dict[str, list[Sequence[Any]]] = {}
        for (tenant_id, key), stream_events in streams.items():
            row = loaded.get((tenant_id, key))
            version = row["version"] if row is not None else 0
            state: State | None = None
            last: RecordedEvent | None = None
            for event in stream_events:
                if event.version <= version:
                    continue  # already folded
                state = self.step(self.restore(key, row) if state is None else state, event)
                version, last = event.version, event
                for sql, args in self.side_writes(event):
                    sides.setdefault(sql, []).append(args)
            if state is not None and last is not None:
                upserts.append(self.row(tenant_id, state, last))
        if upserts:
            await conn.executemany(self.upsert, upserts)
        for sql, many in sides.items():
            await conn.executemany(sql, many)


async def apply_all(
    conn: Conn, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    for event in events:
        for projection in projections:
            if projection.handles(event):
                await projection.apply(conn, event)


async def apply_in_batch(
    conn: Conn, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    """`apply_all` for a big batch: each projection folds its events at once (projections
    own distinct tables, so the order between projections does not matter)."""
    wanted: dict[Projection, list[RecordedEvent]] = {p: [] for p in projections}
    by_category: dict[str, list[list[RecordedEvent]]] = {}
    for projection in projections:
        for category in projection.categories:
            by_category.setdefault(category, []).append(wanted[projection])
    for event in events:
        for events_of in by_category.get(category_of(event), ()):
            events_of.append(event)
    for projection, events_of in wanted.items():
        if events_of:
            await projection.apply_batch(conn, events_of)


async def replay(
    pool: asyncpg.Pool, projections: Sequence[Projection], batch_size: int = 20_000
) -> int:
    """Drop every row of the projections' tables and fold the whole log again, in one
    transaction (readers see the old read model until the new one is complete).
    Returns the number of events read."""
    read = 0
    async with pool.acquire() as conn, conn.transaction():
        for projection in projections:
            for table in projection.tables:
                await conn.execute(f"DELETE FROM {table}")
        position: Position = START
        while True:
            batch = await read_all_with(conn, position, batch_size)
            if not batch:
                break
            await apply_in_batch(conn, projections, batch)
            position = batch[-1].position
            read += len(batch)
    return read
