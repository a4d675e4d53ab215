"""Catch-up subscription: read history from a position, then follow new events.

Wakes on LISTEN/NOTIFY (`revsync_events`), never busy-polls: it re-reads shortly only while
committed events are held back behind an older transaction still in flight, and otherwise
sleeps until a notification (with a long safety timeout in case one is missed). Every append
notifies: a follower that need not react at once gives `live_interval_s`, the least time
between two reads once it has caught up, and reads what committed meanwhile in one go.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from revsync.aio import wait_event
from revsync.db import Conn, holds_session_state
from revsync.eventlog.model import START, Position, RecordedEvent
from revsync.eventlog.store import EVENTS_CHANNEL, EventStore

HELD_BACK_RETRY_S = 0.02
SAFETY_WAKE_S = 5.0


class CatchUpSubscription:
    def __init__(
        self,
        store: EventStore,
        after: Position = START,
        tenant_id: str | None = None,
        batch_size: int = 1000,
        live_interval_s: float = 0.0,
    ) -> None:
        self.store = store
        self.position = after
        self.tenant_id = tenant_id
        self.batch_size = batch_size
        self.live_interval_s = live_interval_s
        self._wake = asyncio.Event()
        self._listener: Any = None

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        self._listener = await self.store.pool.acquire()
        holds_session_state(self._listener)
        await self._listener.add_listener(EVENTS_CHANNEL, self._notified)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.remove_listener(EVENTS_CHANNEL, self._notified)
            await self.store.pool.release(self._listener)
            self._listener = None

    async def __aiter__(self) -> AsyncIterator[RecordedEvent]:
        await self._listen()
        try:
            while True:
                self._wake.clear()
                batch = await self.store.read_all(self.position, self.batch_size, self.tenant_id)
                for event in batch:
                    self.position = event.position
                    yield event
                if len(batch) == self.batch_size:
                    continue
                if await self.store.has_held_back(self.position, self.tenant_id):
                    await asyncio.sleep(max(HELD_BACK_RETRY_S, self.live_interval_s))
                    continue
                if not await wait_event(self._wake, SAFETY_WAKE_S):
                    continue
                if self.live_interval_s:
                    await asyncio.sleep(self.live_interval_s)
        finally:
            await self.close()


async def load_checkpoint(conn: Conn, name: str) -> Position:
    row = await conn.fetchrow(
        "SELECT tx_id::text::bigint AS tx_id, global_position FROM checkpoints WHERE name = $1",
        name,
    )
    return Position(row["tx_id"], row["global_position"]) if row else START


async def save_checkpoint(conn: Conn, name: str, position: Position) -> None:
    await conn.execute(
        "INSERT INTO checkpoints (name, tx_id, global_position) VALUES ($1, $2::text::xid8, $3)"
        " ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id,"
        " global_position = excluded.global_position",
        name,
        str(position.tx_id),
        position.global_position,
    )
