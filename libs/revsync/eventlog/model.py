"""The event log's value types."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from uuid import UUID, uuid4

import orjson

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


class RecordedEvent:
    """An event as recorded. Replay builds millions of these, so `data` and `metadata` may
    be given as the JSON text the log holds, and `recorded_at` as seconds since the Unix
    epoch (a float is exact to the microsecond until 2106): each is converted on first
    access, then kept."""

    __slots__ = (
        "_data",
        "_metadata",
        "_recorded_at",
        "global_position",
        "id",
        "stream",
        "tenant_id",
        "tx_id",
        "type",
        "version",
    )
    _FIELDS: ClassVar = (
        "global_position",
        "tenant_id",
        "stream",
        "version",
        "type",
        "data",
        "metadata",
        "id",
        "recorded_at",
        "tx_id",
    )

    def __init__(
        self,
        global_position: int,
        tenant_id: str,
        stream: str,
        version: int,
        type: str,
        data: dict[str, Any] | str | bytes,
        metadata: dict[str, Any] | str | bytes,
        id: UUID,
        recorded_at: datetime | float,
        tx_id: int,
    ) -> None:
        self.global_position = global_position
        self.tenant_id = tenant_id
        self.stream = stream
        self.version = version
        self.type = type
        self._data = data
        self._metadata = metadata
        self.id = id
        self._recorded_at = recorded_at
        self.tx_id = tx_id

    @property
    def data(self) -> dict[str, Any]:
        data = self._data
        if isinstance(data, str | bytes):
            data = self._data = orjson.loads(data)
        return data

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self._metadata
        if isinstance(metadata, str | bytes):
            metadata = self._metadata = orjson.loads(metadata)
        return metadata

    @property
    def recorded_at(self) -> datetime:
        recorded_at = self._recorded_at
        if not isinstance(recorded_at, datetime):
            recorded_at = self._recorded_at = datetime.fromtimestamp(recorded_at, UTC)
        return recorded_at

    @property
    def position(self) -> Position:
        return Position(self.tx_id, self.global_position)

    def _astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._FIELDS}

    def _replace(self, **changes: Any) -> "RecordedEvent":
        return RecordedEvent(**{**self._asdict(), **changes})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedEvent):
            return NotImplemented
        return self._astuple() == other._astuple()

    __hash__ = None  # type: ignore[assignment]  # like the tuple it was: its data is a dict

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self._asdict().items())
        return f"RecordedEvent({fields})"


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
