"""The PostgreSQL event log: append, read, follow, and the unit of work."""

from revsync.eventlog.model import (
    ANY_VERSION,
    NO_STREAM,
    START,
    ConcurrencyError,
    DuplicateEventError,
    EventLogError,
    NewEvent,
    Position,
    RecordedEvent,
)
from revsync.eventlog.store import EventStore
from revsync.eventlog.subscription import CatchUpSubscription

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "START",
    "CatchUpSubscription",
    "ConcurrencyError",
    "DuplicateEventError",
    "EventLogError",
    "EventStore",
    "NewEvent",
    "Position",
    "RecordedEvent",
]
