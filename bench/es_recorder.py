"""The `eventsourcing` library's PostgreSQL application recorder, driven like our event log
(synchronous, psycopg 3; run it in a worker thread). A benchmark-only dependency."""

from collections.abc import Iterator, Sequence
from time import perf_counter
from urllib.parse import unquote, urlsplit
from uuid import uuid4

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.workload import EVENT_TYPE, event_data

TOPIC = f"revsync.bench:{EVENT_TYPE}"


def stored_events(first: int, count: int) -> list[StoredEvent]:
    """`count` events of one new aggregate (versions 1..count), with the data of events
    `first`, `first + 1`, ... serialised as JSON."""
    originator_id = uuid4()
    return [
        StoredEvent(originator_id, version, TOPIC, orjson.dumps(event_data(first + version - 1)))
        for version in range(1, count + 1)
    ]


def chunks(first: int, total: int, size: int) -> Iterator[list[StoredEvent]]:
    for start in range(first, first + total, size):
        yield stored_events(start, min(size, first + total - start))


class EventsourcingRecorder:
    def __init__(self, database_url: str) -> None:
        url = urlsplit(database_url)
        self.datastore = PostgresDatastore(
            dbname=url.path.lstrip("/"),
            host=url.hostname or "localhost",
            port=url.port or 5432,
            user=unquote(url.username or "postgres"),
            password=unquote(url.password or ""),
            pool_size=1,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)
        self.recorder.create_table()

    def close(self) -> None:
        self.datastore.close()

    def insert_all(self, appends: Sequence[Sequence[StoredEvent]]) -> float:
        """Insert each group in one call (one transaction); return the wall time."""
        started = perf_counter()
        for events in appends:
            self.recorder.insert_events(events)
        return perf_counter() - started

    def replay(self, page: int) -> tuple[int, float]:
        """Page through every notification by position; return (count, wall time)."""
        count, start = 0, 1
        started = perf_counter()
        while True:
            notifications = self.recorder.select_notifications(start, page)
            count += len(notifications)
            if len(notifications) < page:
                break
            start = notifications[-1].id + 1
        return count, perf_counter() - started
