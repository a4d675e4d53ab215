"""The shared vendor rate limiter across replicas (real PostgreSQL)."""

import asyncio

import asyncpg
from revsync.vendor import RateLimit, SharedRateLimiter


async def test_replicas_sharing_a_limit_never_exceed_it_together(pool: asyncpg.Pool, tenant: str):
    limit = RateLimit("default", calls=20, per_seconds=1.0)
    replicas = [SharedRateLimiter(pool, tenant, "revio") for _ in range(3)]
    granted: list[float] = []

    async def call(limiter: SharedRateLimiter) -> None:
        granted.append((await limiter.acquire(limit)).slot_at)

    await asyncio.gather(*(call(replicas[i % 3]) for i in range(45)))
    granted.sort()
    busiest = max(sum(1 for t in granted if start <= t < start + 1.0) for start in granted)
    assert len(granted) == 45
    assert busiest <= 20, f"{busiest} calls granted within one second, limit 20"
    assert busiest >= 18, f"only {busiest} calls in the busiest second: the limiter wastes quota"


async def test_limits_of_different_tenants_do_not_wait_for_each_other(
    pool: asyncpg.Pool, tenant: str
):
    slow = RateLimit("default", calls=1, per_seconds=60.0)
    noisy = SharedRateLimiter(pool, tenant, "revio")
    quiet = SharedRateLimiter(pool, tenant + "q", "revio")
    await noisy.acquire(slow)
    blocked = asyncio.create_task(noisy.acquire(slow))  # would wait about a minute
    grant = await asyncio.wait_for(quiet.acquire(slow), timeout=5)
    assert grant.waited_s == 0.0
    assert not blocked.done()
    blocked.cancel()


async def test_a_used_up_daily_quota_waits_for_the_next_day_and_counts_every_call(
    pool: asyncpg.Pool, tenant: str
):
    limit = RateLimit("daily", calls=1000, per_seconds=1.0, daily=2)
    limiter = SharedRateLimiter(pool, tenant, "revio")
    for _ in range(2):
        assert (await asyncio.wait_for(limiter.acquire(limit), timeout=5)).waited_s < 1.0
    third = asyncio.create_task(limiter.acquire(limit))  # the quota is used up: until midnight
    await asyncio.sleep(1.0)
    assert not third.done()
    third.cancel()
    used = await pool.fetchval(
        "SELECT used FROM rate_daily WHERE tenant_id = $1 AND vendor = 'revio'"
        " AND bucket = 'daily'",
        tenant,
    )
    assert used == 3


async def test_every_call_is_counted_per_day_even_under_a_limit_without_a_daily_quota(
    pool: asyncpg.Pool, tenant: str
):
    limit = RateLimit("per-window", calls=1000, per_seconds=300.0)  # the RMM's kind of limit
    limiter = SharedRateLimiter(pool, tenant, "cwrmm")
    for _ in range(4):
        assert (await asyncio.wait_for(limiter.acquire(limit), timeout=5)).waited_s < 1.0
    used = await pool.fetchval(
        "SELECT used FROM rate_daily WHERE tenant_id = $1 AND vendor = 'cwrmm'"
        " AND bucket = 'per-window' AND day = (now() AT TIME ZONE 'utc')::date",
        tenant,
    )
    assert used == 4
