"""Rev.io sandbox: 500 calls a minute and 150,000 a day per account, then 429 + Retry-After."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from services.sandbox.common import clock
from services.sandbox.revio import create_app
from services.sandbox.revio.ratelimit import RevioRateLimits

MINUTE_START = 1_700_000_040.0  # a whole minute of the epoch
AUTH = ("integration@SANDBOX", "sandbox")


@pytest.fixture
def revio_app() -> FastAPI:
    """A sandbox with a small quota (5 a minute, 8 a day), so tests reach it fast."""
    return create_app(seed=7, size="tiny", limits=RevioRateLimits(per_minute=5, per_day=8))


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    fake = clock.FakeClock(start=MINUTE_START + 15)
    clock.set_source(fake)
    yield fake
    clock.reset()


async def spend(revio: httpx.AsyncClient, calls: int) -> None:
    for _ in range(calls):
        response = await revio.get("/v1/SystemStatus")
        assert response.status_code == 200


async def test_the_501st_call_in_a_minute_is_429_until_the_minute_ends(
    fake_clock: clock.FakeClock,
) -> None:
    transport = httpx.ASGITransport(app=create_app(seed=7, size="tiny"))
    async with httpx.AsyncClient(transport=transport, base_url="http://r", auth=AUTH) as revio:
        await spend(revio, 500)
        refused = await revio.get("/v1/Customers")
        fake_clock.advance(44)
        still_refused = await revio.get("/v1/Customers")
        fake_clock.advance(1)
        next_minute = await revio.get("/v1/Customers")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.json()["ok"] is False
    assert still_refused.headers["Retry-After"] == "1"
    assert next_minute.status_code == 200


async def test_the_daily_quota_outlasts_the_minute(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    await spend(revio, 5)
    fake_clock.advance(60)
    await spend(revio, 3)
    fake_clock.advance(60)
    refused = await revio.get("/v1/SystemStatus")
    fake_clock.advance(int(refused.headers["Retry-After"]))
    next_day = await revio.get("/v1/SystemStatus")

    seconds_left_today = 86_400 - (MINUTE_START + 15 + 120) % 86_400
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(seconds_left_today))
    assert next_day.status_code == 200


async def test_the_quota_is_per_account(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    created = await revio.post("/_sandbox/accounts", json={"client_code": "OTHER", "seed": 7})
    assert created.status_code == 201
    await spend(revio, 5)

    mine = await revio.get("/v1/SystemStatus")
    other = await revio.get("/v1/SystemStatus", auth=("integration@OTHER", "sandbox"))

    assert mine.status_code == 429
    assert other.status_code == 200


async def test_refused_and_unauthenticated_calls_do_not_count(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    for _ in range(10):
        await revio.get("/v1/SystemStatus", auth=("integration@SANDBOX", "wrong"))
    await spend(revio, 5)
    for _ in range(5):
        assert (await revio.get("/v1/SystemStatus")).status_code == 429
    fake_clock.advance(60)

    await spend(revio, 3)


async def test_the_control_api_switches_rate_limiting_off(
    revio_app: FastAPI, revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    switched = await revio.put("/_sandbox/rate-limits", json={"enabled": False})

    await spend(revio, 20)

    assert switched.json() == {"enabled": False}
    assert revio_app.state.control.rate_limits.enabled is False
