"""Bounded in-flight work per tenant, and the memory of fairness deferrals.

`TenantSlots` counts, per tenant, the messages this process is handling; `try_acquire` never
waits, so a subscriber can turn away a message of a busy tenant without holding a worker.
A turned-away message may wait in the tenant's line (`wait_for_slot`, at most `line_most`
per tenant): `release` hands the freed slot straight to the first in line, whichever
subscriber it belongs to. One instance can be shared by several subscribers (the connectors
share one across their command consumers, because the tenant's vendor limit is shared too).

`Deferrals` remembers, in a NATS key-value bucket shared by every replica, how many times a
message was deferred for fairness: JetStream counts those redeliveries in `num_delivered`,
and only the other deliveries (real attempts: failures, crashes, timeouts) may count toward
the dead-letter queue. See `revsync.messaging.subscriber` for how both are used.
"""

import heapq
import random
import time
from collections import Counter, deque
from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue
from prometheus_client import Counter as MetricCounter
from prometheus_client import Gauge

DEFERRALS_BUCKET = "revsync_deferrals"
DEFERRALS_TTL_S = 24 * 3600.0  # after a day without deferral, a message has been attempted

IN_FLIGHT = Gauge(
    "revsync_tenant_in_flight",
    "Messages of a tenant being handled by this process, per bound (subscriber or group)",
    ["bound", "tenant"],
)
WAITING = Gauge(
    "revsync_tenant_waiting",
    "Messages of a tenant at its bound waiting in this process for one of its slots",
    ["bound", "tenant"],
)
DEFERRED = MetricCounter(
    "revsync_tenant_deferrals",
    "Messages redelivered later because their tenant was at its in-flight bound",
    ["consumer", "tenant"],
)


def default_tenant_bound(workers: int) -> int:
    """Half the workers: a tenant alone may use half of a subscriber, never all of it."""
    return max(1, workers // 2)


PACE_WINDOW = 64  # completions a tenant's pace is measured over
PACE_MAX_AGE_S = 60.0  # ... if they are this recent: an idle tenant's old pace tells nothing


class TenantSlots:
    """At most `limit` messages of one tenant handled at once by this process, and up to
    `line_most` more of it waiting in line for a slot. It also keeps what a deferral needs
    to choose its delay (`come_back_in_s`): the pace the tenant's messages finished at
    lately, and the messages of it this process turned away that are not due back yet."""

    def __init__(
        self,
        limit: int,
        name: str,
        line_most: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"a tenant bound must be at least 1, not {limit}")
        if line_most < 0:
            raise ValueError(f"a tenant's line cannot be negative, not {line_most}")
        self.limit, self.name, self.line_most = limit, name, line_most
        self._held: Counter[str] = Counter()
        self._lines: dict[str, deque[Callable[[], None]]] = {}
        self._finished: dict[str, deque[float]] = {}
        self._due_back: dict[str, list[float]] = {}  # heap of times turned-away ones return
        self._clock = clock

    def pace_s(self, tenant: str) -> float | None:
        """Seconds between two of the tenant's messages finishing, lately; None when too few
        finished in the last `PACE_MAX_AGE_S`."""
        times = self._finished.get(tenant)
        if not times:
            return None
        recent = self._clock() - PACE_MAX_AGE_S
        while times and times[0] < recent:
            times.popleft()
        if len(times) < 2 or times[-1] <= times[0]:
            return None
        return (times[-1] - times[0]) / (len(times) - 1)

    def turned_away(self, tenant: str) -> int:
        """Messages of the tenant deferred by this process that are not due back yet."""
        due = self._due_back.get(tenant)
        if due is None:
            return 0
        now = self._clock()
        while due and due[0] <= now:
            heapq.heappop(due)
        if not due:
            del self._due_back[tenant]
        return len(due)

    def come_back_in_s(self, tenant: str) -> float | None:
        """When a message of `tenant` turned away now should come back: after the messages
        ahead of it (its tenant's line, and those turned away before it) have run at the
        recent pace, less half the line's time, so that it rejoins the line while half of
        the line still waits. None without a recent pace."""
        pace = self.pace_s(tenant)
        if pace is None:
            return None
        return (self.waiting(tenant) / 2 + self.turned_away(tenant)) * pace

    def deferred(self, tenant: str, delay_s: float) -> None:
        """A message of `tenant` was turned away for `delay_s`."""
        heapq.heappush(self._due_back.setdefault(tenant, []), self._clock() + delay_s)

    def in_flight(self, tenant: str) -> int:
        return self._held[tenant]

    def waiting(self, tenant: str) -> int:
        return len(self._lines.get(tenant, ()))

    def wait_for_slot(self, tenant: str, start: Callable[[], None]) -> bool:
        """Queue `start` to be called, holding a slot of `tenant`, when one is released;
        False (nothing queued) when the tenant's line is full."""
        line = self._lines.setdefault(tenant, deque())
        if len(line) >= self.line_most:
            if not line:
                del self._lines[tenant]
            return False
        line.append(start)
        WAITING.labels(self.name, tenant).set(len(line))
        return True

    def try_acquire(self, tenant: str) -> bool:
        if self._held[tenant] >= self.limit:
            return False
        self._held[tenant] += 1
        IN_FLIGHT.labels(self.name, tenant).set(self._held[tenant])
        return True

    def release(self, tenant: str) -> None:
        self._finished.setdefault(tenant, deque(maxlen=PACE_WINDOW)).append(self._clock())
        line = self._lines.get(tenant)
        if line:  # the slot goes to the first in line: the tenant's count does not change
            start = line.popleft()
            WAITING.labels(self.name, tenant).set(len(line))
            if not line:
                del self._lines[tenant]
            start()
            return
        self._held[tenant] -= 1
        IN_FLIGHT.labels(self.name, tenant).set(self._held[tenant])
        if self._held[tenant] <= 0:
            del self._held[tenant]


def deferral_delay(
    delivered: int,
    first_s: float,
    most_s: float,
    come_back_s: float | None = None,
    longest_s: float = 120.0,
) -> float:
    """Doubles with each delivery up to `most_s`, with jitter so that a tenant's deferred
    messages do not all come back at the same instant.

    With the time after which the message's turn is near (`come_back_s`, see
    `TenantSlots.come_back_in_s`), at least that, up to `longest_s`: a message that came
    back sooner would only find the line still full and be deferred again. A big backlog of
    one tenant then costs a deferral per message every `longest_s` at most. Before, deferrals
    waited for half the line only (at most 60 s), so the thousands deferred behind it came
    back again and again: at 10,000 clients ~190 deferrals a second, each a redelivery
    through the broker's middleware, a key-value write and a NAK, took half of the RMM
    connector. `longest_s` stays short because the pace may have been measured while the
    tenant was slow: at 15 minutes, a 10,000-client run's company service sat idle waiting
    for the messages it had sent away while it was busy."""
    base = min(most_s, first_s * 2 ** min(delivered - 1, 16))
    if come_back_s is not None:
        base = max(base, min(longest_s, come_back_s))
    return round(base * random.uniform(0.75, 1.25), 3)


class Deferrals:
    """Fairness deferrals per message (`<consumer>.<stream sequence>`), in a KV bucket."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self._kv: KeyValue | None = None

    async def _bucket(self, js: JetStreamContext) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await js.key_value(DEFERRALS_BUCKET)
            except BucketNotFoundError:
                self._kv = await js.create_key_value(
                    KeyValueConfig(
                        bucket=DEFERRALS_BUCKET,
                        history=1,
                        ttl=DEFERRALS_TTL_S,
                        storage=StorageType.FILE,
                    )
                )
        return self._kv

    def _key(self, sequence: int) -> str:
        return f"{self.consumer}.{sequence}"

    async def count(self, js: JetStreamContext, sequence: int) -> int:
        try:
            entry = await (await self._bucket(js)).get(self._key(sequence))
        except KeyNotFoundError:
            return 0
        return int(entry.value or b"0")

    async def record(self, js: JetStreamContext, sequence: int, delivered: int) -> None:
        """One more deferral of this message; on its first delivery there was none before.
        A message is delivered to one replica at a time, so read-then-write does not race."""
        before = 0 if delivered <= 1 else await self.count(js, sequence)
        await (await self._bucket(js)).put(self._key(sequence), str(before + 1).encode())
