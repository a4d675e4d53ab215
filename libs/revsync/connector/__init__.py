"""What both connectors share: change detection, watermarks, leases, idempotent commands."""

from revsync.connector.attempts import first_attempt
from revsync.connector.commands import CommandExecutor
from revsync.connector.lease import Lease
from revsync.connector.watch_state import ChangeEmitter, ObjectHashes, Watermarks, content_hash

__all__ = [
    "ChangeEmitter",
    "CommandExecutor",
    "Lease",
    "ObjectHashes",
    "Watermarks",
    "content_hash",
    "first_attempt",
]
