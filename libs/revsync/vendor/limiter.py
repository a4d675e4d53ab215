"""A rate limiter shared by every replica of a connector, kept in PostgreSQL.

Each limit is a GCRA (generic cell rate algorithm) schedule: a caller reserves the next slot
with one atomic UPDATE and sleeps until it; callers therefore queue instead of failing, and
replicas never exceed the account's rate together. Every call is also counted per UTC day
(`rate_daily`, in the same statement: the Health page shows it for every vendor); a limit
with a daily quota waits for the next day when it is used up (and says so in the log).
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from revsync.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """`calls` per `per_seconds`, optionally at most `daily` per UTC day."""

    bucket: str
    calls: int
    per_seconds: float
    daily: int | None = None
    headroom: float = 0.95  # stay a little under the vendor's figure: our clock is not theirs

    @property
    def interval_s(self) -> float:
        return self.per_seconds / (self.calls * self.headroom)


@dataclass(frozen=True)
class Grant:
    waited_s: float
    slot_at: float  # epoch seconds on the database's clock, shared by every replica


_SLOT = (
    "INSERT INTO rate_limiter AS r (tenant_id, vendor, bucket, tat)"
    " VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))"
    " ON CONFLICT (tenant_id, vendor, bucket) DO UPDATE"
    " SET tat = greatest(r.tat, clock_timestamp()) + make_interval(secs => $4)"
    " RETURNING extract(epoch FROM r.tat - clock_timestamp()) - $4 AS wait,"
    " extract(epoch FROM r.tat) - $4 AS slot"
)
_SLOT_AND_DAY = (
    f"WITH slot AS ({_SLOT}),"
    " day AS (INSERT INTO rate_daily AS d (tenant_id, vendor, bucket, day, used)"
    " VALUES ($1, $2, $3, (now() AT TIME ZONE 'utc')::date, 1)"
    " ON CONFLICT (tenant_id, vendor, bucket, day) DO UPDATE SET used = d.used + 1"
    " RETURNING used)"
    " SELECT slot.wait, slot.slot, day.used FROM slot, day"
)


class SharedRateLimiter:
    def __init__(self, pool: asyncpg.Pool, tenant_id: str, vendor: str) -> None:
        self.pool, self.tenant_id, self.vendor = pool, tenant_id, vendor

    async def acquire(self, limit: RateLimit) -> Grant:
        """Wait for a slot under `limit`; say when it was (server clock) and how long we waited.
        The slot and the day's count are taken in one statement (one round trip a call)."""
        async with self.pool.acquire() as conn:
            args = (self.tenant_id, self.vendor, limit.bucket, limit.interval_s)
            row = await conn.fetchrow(_SLOT_AND_DAY, *args)
        assert row is not None  # INSERT ... RETURNING always yields the row
        waited = max(0.0, float(row["wait"]))
        if limit.daily is not None and row["used"] > limit.daily:
            waited += self._until_next_day(limit)
        if waited > 0:
            await asyncio.sleep(waited)
        return Grant(waited_s=waited, slot_at=float(row["slot"]))

    def _until_next_day(self, limit: RateLimit) -> float:
        now = datetime.now(UTC)
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp() + 86400
        log.warning(
            "daily vendor quota used up; waiting for the next UTC day",
            tenant_id=self.tenant_id,
            vendor=self.vendor,
            bucket=limit.bucket,
            quota=limit.daily,
        )
        return midnight - now.timestamp()
