"""Clock indirection for the sandboxes: token expiry, rate windows and fault durations.

Everything time-dependent in the sandboxes calls `now()`; tests swap the source with
`set_source(FakeClock(...))` and put it back with `reset()`.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch, from the current source."""
    return _source()


def now_utc() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.fromtimestamp(_source(), tz=UTC)


def set_source(source: Callable[[], float]) -> None:
    global _source
    _source = source


def reset() -> None:
    global _source
    _source = time.time


class FakeClock:
    """A settable clock for tests: `clock.set_source(fake)`, then `fake.advance(60)`."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.current = start

    def __call__(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds
