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
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence

import asyncpg

from revsync.db import Conn
from revsync.eventlog.model import START, Position, RecordedEvent
from revsync.eventlog.store import read_all_with


class Projection(ABC):
    name: str
    tables: tuple[str, ...]
    categories: tuple[str, ...]

    def handles(self, event: RecordedEvent) -> bool:
        return event.stream.split(":", 1)[0] in self.categories

    @abstractmethod
    async def apply(self, conn: Conn, event: RecordedEvent) -> None:
        """Fold one event into the tables (idempotent for the same event)."""


async def apply_all(
    conn: Conn, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    for event in events:
        for projection in projections:
            if projection.handles(event):
                await projection.apply(conn, event)


async def replay(
    pool: asyncpg.Pool, projections: Sequence[Projection], batch_size: int = 5000
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
            await apply_all(conn, projections, batch)
            position = batch[-1].position
            read += len(batch)
    return read
