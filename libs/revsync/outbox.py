"""The outbox relay: publishes committed outbox rows to JetStream.

Several relays may run at once: each claims a batch with `FOR UPDATE SKIP LOCKED`, publishes
every row with `Nats-Msg-Id` = the row's id (so a republish after a crash is dropped by
JetStream's duplicate window), then deletes the batch in the same transaction. A row keeps
the trace context of the decision that wrote it (its `traceparent` header): the relay
publishes each row under a PRODUCER span that is a child of that context, so the command and
what it causes stay in the decision's trace. It wakes on
LISTEN/NOTIFY (`revsync_outbox`), with a long safety timeout.
"""

import asyncio
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from revsync.logs import get_logger
from revsync.telemetry import producer_span
from revsync.unit_of_work import OUTBOX_CHANNEL

log = get_logger(__name__)
SAFETY_WAKE_S = 5.0


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, batch_size: int = 200) -> None:
        self.pool, self.js, self.batch_size = pool, js, batch_size
        self.published = 0
        self._wake = asyncio.Event()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish and remove up to one batch; return how many rows it published."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, id, subject, payload, headers FROM outbox"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch_size,
            )
            if not rows:
                return 0
            await asyncio.gather(*(self._publish(row) for row in rows))
            await conn.execute(
                "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [row["seq"] for row in rows]
            )
        self.published += len(rows)
        return len(rows)

    async def _publish(self, row: asyncpg.Record) -> None:
        stored: dict[str, str] = row["headers"] or {}
        message_id = str(row["id"])
        with producer_span(row["subject"], message_id, parent=stored) as trace_headers:
            headers = {**stored, **trace_headers, "Nats-Msg-Id": message_id}
            await self.js.publish(row["subject"], bytes(row["payload"]), headers=headers)

    async def run(self) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener(OUTBOX_CHANNEL, self._notified)
            try:
                while True:
                    self._wake.clear()
                    try:
                        if await self.publish_batch() == self.batch_size:
                            continue
                    except Exception as error:  # the rows stay in the outbox and are retried
                        log.error("outbox publish failed; will retry", error=repr(error))
                        await asyncio.sleep(1.0)
                        continue
                    try:
                        await asyncio.wait_for(self._wake.wait(), SAFETY_WAKE_S)
                    except TimeoutError:
                        pass
            finally:
                await listener.remove_listener(OUTBOX_CHANNEL, self._notified)


def main() -> None:
    """Entry point of the relay process: `python -m revsync.outbox` (health on SERVICE_PORT)."""
    from collections.abc import Coroutine

    from revsync.runtime import ServiceContext, run_service

    async def setup(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
        return [OutboxRelay(ctx.pool, ctx.js).run()]

    run_service("outbox-relay", setup)


if __name__ == "__main__":
    main()
