"""Our event log against the `eventsourcing` library's PostgreSQL recorder, on the same
server and database, with the same events: batch append (100 events per transaction),
single-event append (one per transaction), and replay of everything by global position.

Both sides run one call at a time on one connection, start from their own empty table, get
the same warm-up (not measured) and are timed the same way (`perf_counter` around the loop).
"""

import asyncio
import itertools
import statistics
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from time import perf_counter
from uuid import uuid4

from revsync.db import create_pool
from revsync.eventlog import NO_STREAM, START, EventStore, NewEvent

from bench.es_recorder import EventsourcingRecorder, chunks
from bench.results import Figure
from bench.workload import EVENT_TYPE, TENANT, EventLogSizes, event_data

APPEND_ROUNDS = 4
REPLAY_ROUNDS = 3
Append = tuple[str, list[NewEvent]]


def our_appends(first: int, total: int, size: int) -> list[Append]:
    """Appends of `size` events each, each to a new stream, with the data of events
    `first` .. `first + total - 1` (the same data `es_recorder.chunks` gives)."""
    return [
        (
            f"asset:{uuid4()}",
            [
                NewEvent(EVENT_TYPE, event_data(n))
                for n in range(start, min(start + size, first + total))
            ],
        )
        for start in range(first, first + total, size)
    ]


async def append_all(store: EventStore, appends: Sequence[Append]) -> float:
    started = perf_counter()
    for stream, events in appends:
        await store.append(TENANT, stream, events, expected_version=NO_STREAM)
    return perf_counter() - started


async def replay(store: EventStore, page: int) -> tuple[int, float]:
    count, position = 0, START
    started = perf_counter()
    while True:
        events = await store.read_all(position, page)
        count += len(events)
        if len(events) < page:
            break
        position = events[-1].position
    return count, perf_counter() - started


class Bench:
    """Runs each measurement on both logs in rounds, alternating which log goes first, so
    that load from elsewhere on the machine falls on both alike."""

    def __init__(self, store: EventStore, es: EventsourcingRecorder, sizes: EventLogSizes):
        self.store, self.es, self.sizes = store, es, sizes
        self.written = 0  # events written to each log so far (the same on both sides)

    async def append(self, total: int, size: int, rounds: int = 1) -> tuple[float, float]:
        """Append `total` events in appends of `size` to both logs; return the wall time
        each log took, summed over the rounds."""
        ours_total = theirs_total = 0.0
        appends = -(-total // size)  # the last append may be shorter
        bounds = [min(total, appends * r // rounds * size) for r in range(rounds + 1)]
        for round_, (start, end) in enumerate(itertools.pairwise(bounds)):
            ours = our_appends(self.written, end - start, size)
            theirs = list(chunks(self.written, end - start, size))
            self.written += end - start
            ours_s, theirs_s = await self.pair(
                partial(append_all, self.store, ours),
                partial(asyncio.to_thread, self.es.insert_all, theirs),
                ours_first=round_ % 2 == 0,
            )
            ours_total, theirs_total = ours_total + ours_s, theirs_total + theirs_s
        return ours_total, theirs_total

    @staticmethod
    async def pair(
        ours: Callable[[], Awaitable[float]],
        theirs: Callable[[], Awaitable[float]],
        ours_first: bool,
    ) -> tuple[float, float]:
        if ours_first:
            ours_s = await ours()
            return ours_s, await theirs()
        theirs_s = await theirs()
        return await ours(), theirs_s

    async def seed(self, total: int) -> None:
        size = self.sizes.seed_batch_size
        for first in range(0, total, size * 10):
            await self.append(min(size * 10, total - first), size)

    async def replay(self, rounds: int) -> tuple[float, float]:
        """Median wall time of a full replay: ours, theirs."""
        page = self.sizes.replay_page
        await self.store.read_all(START, page)  # warm-up: connection, prepared statements
        await asyncio.to_thread(self.es.recorder.select_notifications, 1, page)

        async def ours() -> float:
            return self.check(*await replay(self.store, page))

        async def theirs() -> float:
            return self.check(*await asyncio.to_thread(self.es.replay, page))

        times = [await self.pair(ours, theirs, ours_first=r % 2 == 0) for r in range(rounds)]
        return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)

    def check(self, count: int, seconds: float) -> float:
        if count != self.written:
            raise RuntimeError(f"replay read {count} events, {self.written} were written")
        return seconds


def compare(
    key: str, label: str, events: int, ours: float, theirs: float, target: float | None
) -> list[Figure]:
    our_rate, their_rate = events / ours, events / theirs
    return [
        Figure(f"eventlog.{key}.revsync_events_per_s", f"{label}: revsync", our_rate, "events/s"),
        Figure(
            f"eventlog.{key}.eventsourcing_events_per_s",
            f"{label}: eventsourcing",
            their_rate,
            "events/s",
        ),
        Figure(
            f"eventlog.{key}.ratio",
            f"{label}: revsync / eventsourcing",
            our_rate / their_rate,
            "x",
            target,
        ),
    ]


async def run(database_url: str, sizes: EventLogSizes, log: Callable[[str], None]) -> list[Figure]:
    pool = await create_pool(database_url, max_size=2)
    es = await asyncio.to_thread(EventsourcingRecorder, database_url)
    bench = Bench(EventStore(pool), es, sizes)
    try:
        log("event log: warm-up")
        await bench.append(sizes.warmup_batches * sizes.batch_size, sizes.batch_size)
        await bench.append(sizes.warmup_singles, 1)
        log(
            f"event log: batch append, {sizes.batch_events} events in appends of"
            f" {sizes.batch_size}, {APPEND_ROUNDS} alternating rounds"
        )
        batch = await bench.append(sizes.batch_events, sizes.batch_size, APPEND_ROUNDS)
        log(f"event log: single append, {sizes.single_events} events, {APPEND_ROUNDS} rounds")
        single = await bench.append(sizes.single_events, 1, APPEND_ROUNDS)
        log(f"event log: seeding to {sizes.replay_events} events")
        await bench.seed(max(0, sizes.replay_events - bench.written))
        log(
            f"event log: replay of {bench.written} events in pages of {sizes.replay_page}"
            f" (median of {REPLAY_ROUNDS} alternating rounds)"
        )
        ours, theirs = await bench.replay(REPLAY_ROUNDS)
    finally:
        await asyncio.to_thread(es.close)
        await pool.close()
    replayed = bench.written
    return [
        *compare(
            "append_batch",
            f"append, {sizes.batch_size} events/tx",
            sizes.batch_events,
            *batch,
            target=2.0,
        ),
        *compare("append_single", "append, 1 event/tx", sizes.single_events, *single, target=None),
        *compare("replay", "replay by global position", replayed, ours, theirs, target=5.0),
    ]
