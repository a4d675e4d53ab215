"""RMM sandbox auth: client-credentials tokens, expiry, scopes and token lock-out."""

import httpx
from cwrmm_support import checked_client, fetch_token
from fastapi import FastAPI

from services.sandbox.common import clock

COMPANIES = "/api/platform/v1/company/companies"
TICKETS = "/api/platform/v2/service/ticketing/tickets"
CREDENTIALS = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


async def test_token_response_follows_the_spec(rmm_anonymous: httpx.AsyncClient) -> None:
    response = await rmm_anonymous.post(
        "/v1/token",
        json={
            **CREDENTIALS,
            "grant_type": "client_credentials",
            "scope": "platform.companies.read",
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        3599,
        "platform.companies.read",
    )


async def test_bad_secret_and_unknown_client_are_unauthorized(
    rmm_anonymous: httpx.AsyncClient,
) -> None:
    wrong = await rmm_anonymous.post("/v1/token", json={**CREDENTIALS, "client_secret": "x"})
    unknown = await rmm_anonymous.post("/v1/token", json={**CREDENTIALS, "client_id": "nobody"})
    unknown_scope = await rmm_anonymous.post("/v1/token", json={**CREDENTIALS, "scope": "root"})
    assert (wrong.status_code, unknown.status_code, unknown_scope.status_code) == (401, 401, 400)
    assert wrong.json()["code"] == "invalid_client"


async def test_calls_without_a_valid_token_are_unauthorized(
    rmm_anonymous: httpx.AsyncClient,
) -> None:
    missing = await rmm_anonymous.get(COMPANIES)
    invalid = await rmm_anonymous.get(COMPANIES, headers={"Authorization": "Bearer nope"})
    assert (missing.status_code, invalid.status_code) == (401, 401)
    assert missing.json() == {
        "code": "unauthorized",
        "message": "Missing, invalid or expired bearer token",
    }


async def test_an_expired_token_is_unauthorized(
    rmm_app: FastAPI, fake_clock: clock.FakeClock
) -> None:
    async with checked_client(rmm_app) as anonymous:
        token = await fetch_token(anonymous)
    async with checked_client(rmm_app, token) as client:
        assert (await client.get(COMPANIES)).status_code == 200
        fake_clock.advance(3599)
        assert (await client.get(COMPANIES)).status_code == 401


async def test_a_token_without_the_route_scope_is_forbidden(rmm_app: FastAPI) -> None:
    async with checked_client(rmm_app) as anonymous:
        token = await fetch_token(anonymous, scope="platform.companies.read")
    async with checked_client(rmm_app, token) as client:
        assert (await client.get(COMPANIES)).status_code == 200
        forbidden = await client.get(TICKETS)
        assert forbidden.status_code == 403
        assert forbidden.json()[0]["code"] == "forbidden"  # the ticketing error shape
        created = await client.post(COMPANIES, json={"name": "Read Only Inc"})
        assert created.status_code == 403


async def test_too_many_token_requests_lock_the_client_out(
    rmm_anonymous: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    statuses = [
        (await rmm_anonymous.post("/v1/token", json=CREDENTIALS)).status_code for _ in range(21)
    ]
    assert statuses == [200] * 20 + [423]
    locked = await rmm_anonymous.post("/v1/token", json=CREDENTIALS)
    assert (locked.status_code, locked.headers["retry-after"]) == (423, "300")
    fake_clock.advance(301)
    assert (await rmm_anonymous.post("/v1/token", json=CREDENTIALS)).status_code == 200


async def test_token_lockout_fault_locks_only_the_named_client(
    rmm_anonymous: httpx.AsyncClient,
) -> None:
    await rmm_anonymous.post(
        "/_sandbox/accounts", json={"client_id": "other", "client_secret": "s", "seed": 1}
    )
    rule = {"token_lockout_s": 60, "account": "sandbox-client"}
    await rmm_anonymous.put("/_sandbox/faults", json={"rules": [rule]})
    locked = await rmm_anonymous.post("/v1/token", json=CREDENTIALS)
    other = await rmm_anonymous.post("/v1/token", json={"client_id": "other", "client_secret": "s"})
    assert (locked.status_code, other.status_code) == (423, 200)
    assert locked.headers["retry-after"] == "60"
