"""A unit of work that read its stream gives the projections that history
(`UnitOfWork.append(history=...)`): each stream's row is folded from it instead of loaded,
and comes out as the row of loading it, and as replay's."""

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import pytest
from revsync.eventlog.model import NewEvent, RecordedEvent
from revsync.eventlog.store import read_stream_with
from revsync.projection import Rows, StreamRows, Write, replay
from revsync.unit_of_work import UnitOfWork

from tests.integration.round_trips import counted_round_trips

CATEGORY = "history-test"
TALLIES = Rows(
    "history_tallies",
    ("tenant_id", "key", "types", "total", "version"),
    key=("tenant_id", "key"),
    update=True,
)
SENT = Rows("history_sent", ("tenant_id", "command_id", "key"))


class Tallies(StreamRows[tuple[str, int]]):
    """The types of a stream's events in order, and the sum of their `n`; a `sent` id is a
    side row."""

    name = "history-tallies"
    tables = ("history_tallies", "history_sent")
    categories = (CATEGORY,)
    rows, loaded = TALLIES, "types, total"

    def wanted(self, event: RecordedEvent) -> bool:
        return event.type != "Ignored"

    def restore(self, key: str, row: asyncpg.Record | None) -> tuple[str, int]:
        return (row["types"], row["total"]) if row else ("", 0)

    def step(self, state: tuple[str, int], event: RecordedEvent) -> tuple[str, int]:
        types, total = state
        return f"{types}{event.type[0]}", total + int(event.data.get("n", 0))

    def row(self, tenant_id: str, state: tuple[str, int], event: RecordedEvent) -> Sequence[Any]:
        return (tenant_id, self.key(event), *state, event.version)

    def side_writes(self, event: RecordedEvent) -> Iterable[Write]:
        if "sent" in event.data:
            yield SENT, (event.tenant_id, event.data["sent"], self.key(event))


@pytest.fixture
async def tables(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS history_tallies (tenant_id text, key text, types text,"
        " total int, version int, PRIMARY KEY (tenant_id, key));"
        "CREATE TABLE IF NOT EXISTS history_sent (tenant_id text, command_id text, key text,"
        " PRIMARY KEY (tenant_id, key, command_id))"
    )


def decisions() -> list[list[NewEvent]]:
    """Three decisions' events (new ids each time: an append is idempotent by event id)."""
    return [
        [NewEvent("Added", {"n": 2, "sent": "c1"})],
        [NewEvent("Ignored", {"n": 100}), NewEvent("Bumped", {"n": 3})],
        [NewEvent("Added", {"n": 5, "sent": "c2"}), NewEvent("Cleared", {})],
    ]


async def decide_all(pool: asyncpg.Pool, tenant: str, key: str, with_history: bool) -> list[str]:
    """Append each decision as a unit that read the stream first; the statements of the last."""
    stream = f"{CATEGORY}:{key}"
    trips: list[str] = []
    for events in decisions():
        async with UnitOfWork(pool, tenant, "history-test", stream=stream) as uow:
            history = await read_stream_with(uow.conn, tenant, stream)
            with counted_round_trips() as trips:
                await uow.append(
                    stream,
                    events,
                    len(history),
                    [Tallies()],
                    history if with_history else None,
                )
    return trips


async def rows(pool: asyncpg.Pool, tenant: str) -> list[dict[str, Any]]:
    tallies = await pool.fetch(
        "SELECT key, types, total, version FROM history_tallies WHERE tenant_id = $1 ORDER BY 1",
        tenant,
    )
    sent = await pool.fetch(
        "SELECT key, command_id FROM history_sent WHERE tenant_id = $1 ORDER BY 1, 2", tenant
    )
    return [dict(r) for r in tallies] + [dict(r) for r in sent]


async def test_a_row_folded_from_the_history_is_the_row_of_loading_it_and_of_replay(
    pool: asyncpg.Pool, tables: None, tenant: str
) -> None:
    loaded = await decide_all(pool, tenant, "loaded", with_history=False)
    folded = await decide_all(pool, tenant, "folded", with_history=True)

    by_key = await rows(pool, tenant)
    as_loaded = [r for r in by_key if r["key"] == "loaded"]
    as_folded = [r for r in by_key if r["key"] == "folded"]
    assert as_loaded[0] == {"key": "loaded", "types": "ABAC", "total": 10, "version": 5}
    assert [{**r, "key": "loaded"} for r in as_folded] == as_loaded
    assert [r["command_id"] for r in as_folded[1:]] == ["c1", "c2"]

    # the row is not looked up: one statement less (the row's lock is the stream's)
    def looks_up(statement: str) -> bool:
        return statement.startswith("SELECT") and "FROM history_tallies" in statement

    assert any(map(looks_up, loaded)), loaded
    assert not any(map(looks_up, folded)), folded
    assert len(folded) == len(loaded) - 1

    await replay(pool, [Tallies()])
    assert await rows(pool, tenant) == by_key


async def test_a_history_that_is_not_the_whole_stream_is_refused_and_nothing_is_appended(
    pool: asyncpg.Pool, tables: None, tenant: str
) -> None:
    stream = f"{CATEGORY}:partial"
    await decide_all(pool, tenant, "partial", with_history=False)
    async with UnitOfWork(pool, tenant, "history-test", stream=stream) as uow:
        history = await read_stream_with(uow.conn, tenant, stream)
    for given, expected in ((history[1:], len(history)), (history, len(history) - 1)):
        with pytest.raises(ValueError, match="whole stream"):
            async with UnitOfWork(pool, tenant, "history-test", stream=stream) as uow:
                await uow.append(
                    stream, [NewEvent("Added", {"n": 1})], expected, [Tallies()], given
                )
    after = await pool.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND stream = $2", tenant, stream
    )
    assert after == len(history)
