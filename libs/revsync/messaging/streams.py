"""Declaration of the CHANGES, COMMANDS, RESULTS and DLQ streams (idempotent)."""

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from revsync.contracts.subjects import Subjects


def stream_configs(duplicate_window_s: float, replicas: int = 1) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=name,
            subjects=[pattern],
            storage=StorageType.FILE,
            duplicate_window=duplicate_window_s,
            num_replicas=replicas,
        )
        for name, pattern in Subjects.STREAMS.items()
    ]


async def ensure_streams(
    js: JetStreamContext, duplicate_window_s: float = 600.0, replicas: int = 1
) -> None:
    """Create each stream, or bring an existing one to this configuration."""
    for config in stream_configs(duplicate_window_s, replicas):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
