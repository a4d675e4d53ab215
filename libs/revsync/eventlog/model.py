"""The event log's value types."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple
from uuid import UUID, uuid4

ANY_VERSION: Final = -1
"""Expected version that accepts any current version (append at the end)."""
NO_STREAM: Final = 0
"""Expected version of a stream that must not exist yet."""


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its type name, its data, and (for idempotency) its id."""

    type: str
    data: dict[str, Any]
    id: UUID = field(default_factory=uuid4)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, order=True)
class Position:
    """Where a reader is in the whole log: the order no later commit can appear behind.

    Events are ordered by the id of the transaction that wrote them, then by global position;
    readers see only transactions older than the oldest one still in flight (see store.py).
    """

    tx_id: int = 0
    global_position: int = 0


START: Final = Position()


class RecordedEvent(NamedTuple):
    """An event as recorded (a tuple: replay builds millions of these)."""

    global_position: int
    tenant_id: str
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    id: UUID
    recorded_at: datetime
    tx_id: int

    @property
    def position(self) -> Position:
        return Position(self.tx_id, self.global_position)


class EventLogError(Exception):
    """Base of the event log's errors."""


class ConcurrencyError(EventLogError):
    """The stream is not at the expected version: reload state and decide again."""

    def __init__(self, tenant_id: str, stream: str, expected: int) -> None:
        super().__init__(
            f"stream {stream!r} of tenant {tenant_id!r} is not at expected version {expected}"
        )
        self.tenant_id, self.stream, self.expected = tenant_id, stream, expected


class DuplicateEventError(EventLogError):
    """Some, but not all, of the events of an append were already recorded."""
