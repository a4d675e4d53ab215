"""The shared sandbox kernel: request log, fault rules, middleware and the control API, on a
tiny stand-in app."""

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from services.sandbox.common import (
    ConnectionDropped,
    FaultRule,
    FaultRules,
    LoggedRequest,
    RequestLog,
    SandboxControl,
    Storm429,
    clock,
)


class FakeAccounts:
    def __init__(self) -> None:
        self.state: dict[str, Any] = {"accounts": ["a"]}

    def list_accounts(self) -> list[dict[str, Any]]:
        return [{"id": name} for name in self.state["accounts"]]

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        if "id" not in body:
            raise ValueError("id is required")
        self.state["accounts"].append(body["id"])
        return {"id": body["id"]}

    def dump_state(self) -> dict[str, Any]:
        return self.state

    def load_state(self, state: dict[str, Any]) -> None:
        self.state = state


def stand_in_app() -> tuple[FastAPI, SandboxControl]:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, Any]:
        return {"id": thing_id, "name": "a thing with a long enough name"}

    @app.post("/token")
    def token() -> dict[str, str]:
        return {"access_token": "t"}

    control = SandboxControl(
        FakeAccounts(), lambda request: request.headers.get("x-account"), token_path="/token"
    )
    control.install(app)
    return app, control


@pytest.fixture
async def stand_in() -> Any:
    app, control = stand_in_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stand.in") as client:
        yield client, control


def test_request_log_counts_by_template_or_path_and_filters() -> None:
    log = RequestLog()
    log.record(LoggedRequest("a", "GET", "/things/1", "/things/{id}", 200, 1.0))
    log.record(LoggedRequest("b", "GET", "/things/2", "/things/{id}", 200, 2.0))
    log.record(LoggedRequest("a", "POST", "/token", "/token", 200, 3.0))
    assert log.counts() == {"GET /things/{id}": 2, "POST /token": 1}
    assert log.counts(account="a", by="path") == {"GET /things/1": 1, "POST /token": 1}
    assert log.counts(path_prefix="/things/2", by="path") == {"GET /things/2": 1}
    log.clear()
    assert len(log) == 0


async def test_request_counts_by_status_show_the_429s_of_one_account(stand_in: Any) -> None:
    client, _control = stand_in
    storm = {"account": "a", "storm_429": {"count": 2}}
    await client.put("/_sandbox/faults", json={"rules": [storm]})
    for account in ("a", "a", "a", "b"):
        await client.get("/things/1", headers={"x-account": account})
    answer = await client.get("/_sandbox/requests", params={"account": "a", "by": "status"})
    assert answer.json() == {"counts": {"429": 2, "200": 1}, "total": 3}
    other = await client.get("/_sandbox/requests", params={"account": "b", "by": "status"})
    assert other.json()["counts"] == {"200": 1}


def test_error_rate_is_deterministic_for_a_seed() -> None:
    def outcomes(seed: int) -> list[int | None]:
        rules = FaultRules()
        rules.replace([FaultRule(path_prefix="/x", error_rate=0.5, error_status=502)], seed)
        return [rules.decide("GET", "/x", None).status for _ in range(40)]

    assert outcomes(3) == outcomes(3)
    assert set(outcomes(3)) == {None, 502}


def test_rules_match_path_prefix_method_and_account() -> None:
    rules = FaultRules()
    rules.replace([FaultRule(path_prefix="/x", method="POST", account="a", error_rate=1.0)])
    assert rules.decide("POST", "/x/1", "a").status == 503
    assert rules.decide("GET", "/x/1", "a").status is None
    assert rules.decide("POST", "/x/1", "b").status is None
    assert rules.decide("POST", "/y", "a").status is None


def test_storm_by_count_ends_after_that_many_requests() -> None:
    rules = FaultRules()
    rules.replace([FaultRule(storm_429=Storm429(count=2, retry_after_s=7))])
    decisions = [rules.decide("GET", "/", None) for _ in range(3)]
    assert [d.status for d in decisions] == [429, 429, None]
    assert decisions[0].retry_after_s == 7


def test_storm_by_duration_and_token_lockout_end_with_time(fake_clock: clock.FakeClock) -> None:
    rules = FaultRules(token_path="/token")
    rules.replace([FaultRule(storm_429=Storm429(duration_s=10)), FaultRule(token_lockout_s=60)])
    assert rules.decide("GET", "/", None).status == 429
    fake_clock.advance(11)
    assert rules.decide("GET", "/", None).status is None
    locked = rules.decide("POST", "/token", None)
    assert (locked.status, locked.retry_after_s) == (423, 49)
    fake_clock.advance(50)
    assert rules.decide("POST", "/token", None).status is None


async def test_middleware_logs_vendor_calls_by_route_but_not_control_calls(stand_in: Any) -> None:
    client, control = stand_in
    await client.get("/things/1", headers={"x-account": "a"})
    await client.get("/things/2")
    await client.get("/_sandbox/requests")
    counts = (await client.get("/_sandbox/requests", params={"account": "a"})).json()
    assert counts == {"counts": {"GET /things/{thing_id}": 1}, "total": 1}
    assert [e.status for e in control.request_log.entries()] == [200, 200]
    assert (await client.delete("/_sandbox/requests")).status_code == 204
    assert len(control.request_log) == 0


async def test_injected_errors_storms_and_lockouts_are_answered_and_logged(
    stand_in: Any,
) -> None:
    client, control = stand_in
    rules = {
        "rules": [
            {"path_prefix": "/things/1", "error_rate": 1.0, "error_status": 500},
            {"path_prefix": "/things/2", "storm_429": {"retry_after_s": 3}},
            {"path_prefix": "/token", "token_lockout_s": 30},
        ]
    }
    assert (await client.put("/_sandbox/faults", json=rules)).status_code == 200
    failed = await client.get("/things/1")
    stormed = await client.get("/things/2")
    locked = await client.post("/token")
    assert (failed.status_code, failed.json()["code"]) == (500, "500")
    assert (stormed.status_code, stormed.headers["retry-after"]) == (429, "3")
    assert locked.status_code == 423
    assert control.request_log.counts()["GET /things/{thing_id}"] == 2
    await client.delete("/_sandbox/faults")
    assert (await client.get("/things/1")).status_code == 200


async def test_malformed_json_keeps_status_200_but_breaks_the_body(stand_in: Any) -> None:
    client, _ = stand_in
    await client.put("/_sandbox/faults", json=[{"malformed_json_rate": 1.0}])  # a bare list
    response = await client.get("/things/1")
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


async def test_timeout_hangs_then_drops_the_connection(stand_in: Any) -> None:
    client, control = stand_in
    await client.put("/_sandbox/faults", json={"rules": [{"timeout_s": 0.01, "latency_ms": 5}]})
    with pytest.raises(ConnectionDropped):
        await client.get("/things/1")
    assert [e.status for e in control.request_log.entries()] == [0]


async def test_rate_limit_switch_and_accounts_go_through_the_control_api(stand_in: Any) -> None:
    client, control = stand_in
    switched = await client.put("/_sandbox/rate-limits", json={"enabled": False})
    assert switched.json() == {"enabled": False} and not control.rate_limits.enabled
    assert (await client.post("/_sandbox/accounts", json={"id": "b"})).status_code == 201
    assert (await client.post("/_sandbox/accounts", json={})).status_code == 422
    assert (await client.get("/_sandbox/accounts")).json() == [{"id": "a"}, {"id": "b"}]


async def test_snapshot_and_restore_round_trip_the_app_state(stand_in: Any, tmp_path: Path) -> None:
    client, control = stand_in
    snapshot = str(tmp_path / "state.json")
    await client.post("/_sandbox/snapshot", json={"path": snapshot})
    await client.post("/_sandbox/accounts", json={"id": "b"})
    assert (await client.post("/_sandbox/restore", json={"path": snapshot})).status_code == 200
    assert control.accounts.dump_state() == {"accounts": ["a"]}
    missing = await client.post("/_sandbox/restore", json={"path": str(tmp_path / "none")})
    assert missing.status_code == 404
