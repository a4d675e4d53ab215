"""The outbox relay: publishes committed outbox rows to JetStream.

Several relays may run at once: each claims a batch (`FOR UPDATE SKIP LOCKED`, one statement
that marks the rows its own for `CLAIM_S`), publishes every row with `Nats-Msg-Id` = the row's
id, then deletes what it published. A relay killed mid-batch leaves its claimed rows to the
others once the claim runs out; what it had published is published again under the same ids,
and JetStream's duplicate window (minutes, far longer than a claim) drops it. Claiming in its
own statement instead of holding the rows in a transaction while publishing costs two round
trips a batch instead of four, and a relay woken for rows another one took asks once, not
three times. A row that could not be published (NATS down, its subject in no stream, refused
by JetStream) stays, with its error and a time to try again (`retry_at`, a pause that grows
to `MAX_RETRY_PAUSE_S`), and the rest of the batch goes on: one bad row stalls no other row
and no other tenant, and is never dropped. A row keeps the trace context of the decision
that wrote it (its `traceparent` header): the relay publishes each row under a PRODUCER span
that is a child of that context, so the command and what it causes stay in the decision's
trace. It wakes on LISTEN/NOTIFY (`revsync_outbox`), with a long safety timeout.
"""

import asyncio
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from revsync.aio import wait_event
from revsync.db import Conn, holds_session_state
from revsync.logs import get_logger
from revsync.telemetry import producer_span
from revsync.unit_of_work import OUTBOX_CHANNEL

log = get_logger(__name__)
SAFETY_WAKE_S = 5.0
MAX_RETRY_PAUSE_S = 10.0
CLAIM_S = 10.0
"""How long a claimed row is left to the relay that claimed it (publishing a batch takes
milliseconds; a NATS outage fails each publish within its timeout, well inside this)."""
# Claim a batch of due rows: they are not due again for `CLAIM_S` (`retry_at`), so no other
# relay takes them meanwhile; `attempts` counts only failed publishes.
_CLAIM = (
    "UPDATE outbox o SET retry_at = now() + make_interval(secs => $2)"
    " FROM (SELECT seq FROM outbox WHERE retry_at IS NULL OR retry_at <= now()"
    " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) AS due WHERE o.seq = due.seq"
    " RETURNING o.seq, o.id, o.tenant_id, o.subject, o.payload, o.headers, o.attempts"
)


def retry_pause_s(attempts: int) -> float:
    """How long a row waits after its `attempts`-th failed publish: 1, 2, 4, 8, then 10 s
    (short enough that rows held by a NATS outage flow again soon after it ends)."""
    return min(MAX_RETRY_PAUSE_S, 0.5 * 2.0 ** min(attempts, 10))


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, batch_size: int = 200) -> None:
        self.pool, self.js, self.batch_size = pool, js, batch_size
        self.published = 0
        self._wake = asyncio.Event()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish up to one batch of rows that are due; remove those published and set the
        others to wait. Returns how many rows it claimed."""
        rows = sorted(await self.pool.fetch(_CLAIM, self.batch_size, CLAIM_S),
                      key=lambda row: row["seq"])  # fmt: skip
        if not rows:
            return 0
        outcomes = await asyncio.gather(
            *(self._publish(row) for row in rows), return_exceptions=True
        )
        paired = list(zip(rows, outcomes, strict=True))
        failed = [(row, error) for row, error in paired if error is not None]
        published = [row["seq"] for row, outcome in paired if outcome is None]
        async with self.pool.acquire() as conn:
            if published:
                await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", published)
            if failed:
                await self._wait(conn, failed)
        self.published += len(published)
        return len(rows)

    async def _wait(self, conn: Conn, failed: list[tuple[asyncpg.Record, Any]]) -> None:
        """Set the rows that failed to wait (one statement), and say so once per batch."""
        for _, error in failed:
            if not isinstance(error, Exception):
                raise error  # cancellation and the like are not a row's failure
        attempts = [row["attempts"] + 1 for row, _ in failed]
        errors = [f"{type(error).__name__}: {error}"[:500] for _, error in failed]
        await conn.execute(
            "UPDATE outbox o SET attempts = f.attempts, last_error = f.error,"
            " retry_at = now() + make_interval(secs => f.pause)"
            " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::float8[])"
            " AS f(seq, attempts, error, pause) WHERE o.seq = f.seq",
            [row["seq"] for row, _ in failed],
            attempts,
            errors,
            [retry_pause_s(n) for n in attempts],
        )
        first, error = failed[0]
        log.error(
            "outbox rows not published; they wait and are tried again",
            rows=len(failed),
            tenants=sorted({row["tenant_id"] for row, _ in failed}),
            subject=first["subject"],
            message_id=str(first["id"]),
            attempts=attempts[0],
            retry_in_s=retry_pause_s(attempts[0]),
            error=errors[0],
        )

    async def _publish(self, row: asyncpg.Record) -> None:
        """Publish one row; returns None (so a batch's outcomes are None or an error)."""
        stored: dict[str, str] = row["headers"] or {}
        message_id = str(row["id"])
        with producer_span(row["subject"], message_id, parent=stored) as trace_headers:
            headers = {**stored, **trace_headers, "Nats-Msg-Id": message_id}
            await self.js.publish(row["subject"], bytes(row["payload"]), headers=headers)

    async def run(self) -> None:
        async with self.pool.acquire() as listener:
            holds_session_state(listener)
            await listener.add_listener(OUTBOX_CHANNEL, self._notified)
            try:
                while True:
                    self._wake.clear()
                    try:
                        if await self.publish_batch() == self.batch_size:
                            continue
                    except Exception as error:  # the database: the rows stay and are retried
                        log.error("outbox relay failed; will retry", error=repr(error))
                        await asyncio.sleep(1.0)
                        continue
                    await wait_event(self._wake, SAFETY_WAKE_S)
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
