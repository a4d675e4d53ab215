"""Counting the database round trips of a piece of code (all asyncpg connections).

    with counted_round_trips() as trips:
        await handler(command)
    assert len(trips) <= 7, trips

Counts the statements sent (each one round trip): a statement's first preparation on a
connection is one more, not counted, so warm the path up first. Only the statements of the
task that entered the block, and of the tasks it starts, are counted.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg

_counting: ContextVar[list[str] | None] = ContextVar("round_trips", default=None)


def _note(query: str) -> None:
    trips = _counting.get()
    if trips is not None:
        trips.append(" ".join(query.split())[:120])


_execute = asyncpg.Connection.execute
_execute_with_args = asyncpg.Connection._execute
_executemany = asyncpg.Connection._executemany


async def _counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    if not args:  # with args it goes through `_execute`, counted there
        _note(query)
    return await _execute(self, query, *args, **kwargs)


async def _counted_execute_with_args(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    _note(query)
    return await _execute_with_args(self, query, *args, **kwargs)


async def _counted_executemany(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    _note(query)
    return await _executemany(self, query, *args, **kwargs)


@contextmanager
def counted_round_trips() -> Iterator[list[str]]:
    """The statements sent inside the block, in order (their text, shortened)."""
    trips: list[str] = []
    patches = {
        "execute": _counted_execute,
        "_execute": _counted_execute_with_args,
        "_executemany": _counted_executemany,
    }
    originals = {name: getattr(asyncpg.Connection, name) for name in patches}
    token = _counting.set(trips)
    for name, counted in patches.items():
        setattr(asyncpg.Connection, name, counted)
    try:
        yield trips
    finally:
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)
        _counting.reset(token)
