"""What the event-log benches write: the same event data (~200 bytes of JSON) and the same
counts for both event logs."""

from dataclasses import dataclass
from typing import Any

TENANT = "bench"
EVENT_TYPE = "AssetObserved"


@dataclass(frozen=True)
class EventLogSizes:
    batch_size: int = 100
    batch_events: int = 20_000
    single_events: int = 2_000
    replay_events: int = 100_000
    replay_page: int = 5_000
    warmup_batches: int = 10
    warmup_singles: int = 100
    seed_batch_size: int = 1_000

    def scaled(self, scale: float) -> "EventLogSizes":
        def size(value: int, minimum: int) -> int:
            return max(minimum, round(value * scale))

        batch_events = size(self.batch_events // self.batch_size, 1) * self.batch_size
        return EventLogSizes(
            batch_size=self.batch_size,
            batch_events=batch_events,
            single_events=size(self.single_events, 10),
            replay_events=size(self.replay_events, 1_000),
            replay_page=self.replay_page,
            warmup_batches=size(self.warmup_batches, 1),
            warmup_singles=size(self.warmup_singles, 5),
            seed_batch_size=self.seed_batch_size,
        )


def event_data(n: int) -> dict[str, Any]:
    """The data of the n-th event: an RMM asset observation, ~200 bytes as JSON."""
    return {
        "endpoint_id": f"ep-{n:010d}",
        "company_id": f"co-{n % 997:06d}",
        "hostname": f"WS-{n % 10_000:05d}.corp.example.com",
        "os": "Windows 11 Pro 23H2",
        "online": n % 3 != 0,
        "last_seen": "2025-01-15T10:42:07Z",
        "tags": ["managed", "billing"],
    }
