"""RMM sandbox rate limits: per-bucket quota in 5-minute windows, `GET /v1/rate_limits`, 429s."""

import httpx
from cwrmm_support import checked_client, fetch_token

from services.sandbox.common import clock
from services.sandbox.cwrmm.app import create_app

COMPANIES = "/api/platform/v1/company/companies"
SITES = "/api/platform/v1/company/sites"


async def small_quota_client() -> httpx.AsyncClient:
    """A signed-in client of a sandbox allowing 3 calls per bucket per window."""
    app = create_app(seed=7, size="tiny", rate_limit=3)
    async with checked_client(app) as anonymous:
        token = await fetch_token(anonymous)
    return checked_client(app, token)


async def test_rate_limits_report_every_bucket_with_limit_remaining_and_reset(
    rmm: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    await rmm.get(COMPANIES)
    report = (await rmm.get("/v1/rate_limits")).json()["resources"]
    clients = report["topology"]["partner-topology-clients"]
    window_end = (int(fake_clock()) // 300 + 1) * 300
    assert clients == {"limit": 500, "remaining": 499, "reset": window_end}
    assert set(report) == {"alerts", "asset", "service", "topology"}
    assert report["topology"]["partner-topology-sites"]["remaining"] == 500


async def test_exceeding_a_bucket_answers_429_until_the_window_resets(
    fake_clock: clock.FakeClock,
) -> None:
    client = await small_quota_client()
    async with client:
        statuses = [(await client.get(COMPANIES)).status_code for _ in range(4)]
        limited = await client.get(COMPANIES)
        other_bucket = await client.get(SITES)
        fake_clock.advance(300)
        after_reset = await client.get(COMPANIES)
    assert statuses == [200, 200, 200, 429]
    assert limited.json()["code"] == "rate_limit_exceeded" and "message" in limited.json()
    assert 1 <= int(limited.headers["retry-after"]) <= 300
    assert (other_bucket.status_code, after_reset.status_code) == (200, 200)


async def test_switching_rate_limits_off_lifts_the_quota(fake_clock: clock.FakeClock) -> None:
    client = await small_quota_client()
    async with client:
        await client.put("/_sandbox/rate-limits", json={"enabled": False})
        statuses = {(await client.get(COMPANIES)).status_code for _ in range(6)}
    assert statuses == {200}


async def test_a_429_storm_fault_overrides_the_quota(rmm: httpx.AsyncClient) -> None:
    storm = {"path_prefix": "/api/platform/v1/company", "storm_429": {"count": 2}}
    await rmm.put("/_sandbox/faults", json={"rules": [storm]})
    statuses = [(await rmm.get(COMPANIES)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
