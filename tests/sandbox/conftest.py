"""Fixtures for the sandbox tests: in-process apps reached through httpx's ASGI transport."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from cwrmm_support import checked_client, fetch_token
from fastapi import FastAPI

from services.sandbox.common import clock
from services.sandbox.cwrmm.app import create_app as create_rmm_app
from services.sandbox.revio import create_app as create_revio_app

REVIO_AUTH = ("integration@SANDBOX", "sandbox")


@pytest.fixture
def revio_app() -> FastAPI:
    """The Rev.io sandbox with the tiny world of seed 7 in account SANDBOX."""
    return create_revio_app(seed=7, size="tiny")


@pytest.fixture
async def revio(revio_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `revio_app`, signed in as `integration@SANDBOX`."""
    transport = httpx.ASGITransport(app=revio_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://revio.test", auth=REVIO_AUTH
    ) as client:
        yield client


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    """The sandboxes' clock, frozen until the test advances it."""
    fake = clock.FakeClock()
    clock.set_source(fake)
    yield fake
    clock.reset()


@pytest.fixture
def rmm_app() -> FastAPI:
    """The ConnectWise RMM sandbox with the tiny world of seed 7 in account sandbox-client."""
    return create_rmm_app(seed=7, size="tiny")


@pytest.fixture
async def rmm_anonymous(rmm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `rmm_app` without a token; responses are checked against the vendor spec."""
    async with checked_client(rmm_app) as client:
        yield client


@pytest.fixture
async def rmm(rmm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `rmm_app` with a token of sandbox-client carrying every scope."""
    async with checked_client(rmm_app) as anonymous:
        token = await fetch_token(anonymous)
    async with checked_client(rmm_app, token) as client:
        yield client
