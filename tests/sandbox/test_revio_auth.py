"""Rev.io sandbox: Basic auth `username@clientcode:password`, permissions, paths, errors."""

import base64

import httpx
import pytest

WRONG_CREDENTIALS = [
    ("integration@SANDBOX", "wrong"),
    ("integration@OTHER", "sandbox"),
    ("someone@SANDBOX", "sandbox"),
    ("integration@example.com@SANDBOX", "sandbox"),
    ("integration", "sandbox"),
]


async def test_valid_credentials_pass_the_system_status_check(revio: httpx.AsyncClient) -> None:
    response = await revio.get("/v1/SystemStatus")

    assert response.status_code == 200
    assert response.json()["ok"] is True


async def test_missing_credentials_are_401_with_the_error_envelope(
    revio: httpx.AsyncClient,
) -> None:
    response = await revio.get("/v1/Customers", auth=None)

    assert response.status_code == 401
    assert response.json() == {
        "ok": False,
        "message": "Authorization has been denied for this request.",
    }
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(("user", "password"), WRONG_CREDENTIALS)
async def test_wrong_credentials_are_401(
    revio: httpx.AsyncClient, user: str, password: str
) -> None:
    response = await revio.get("/v1/SystemStatus", auth=(user, password))

    assert response.status_code == 401
    assert response.json()["ok"] is False


async def test_a_header_that_is_not_base64_is_401(revio: httpx.AsyncClient) -> None:
    response = await revio.get(
        "/v1/SystemStatus", auth=None, headers={"Authorization": "Basic not*base64"}
    )

    assert response.status_code == 401


async def test_a_user_without_the_permission_gets_403_and_keeps_the_others(
    revio: httpx.AsyncClient,
) -> None:
    everything_but_tickets = {
        "permissions": ["Customers:read", "Customers:write", "TicketTypes:read"]
    }
    response = await revio.put(
        "/_sandbox/revio/accounts/SANDBOX/permissions", json=everything_but_tickets
    )
    assert response.status_code == 200

    tickets = await revio.get("/v1/Tickets")
    customers = await revio.get("/v1/Customers")

    assert tickets.status_code == 403
    assert tickets.json()["ok"] is False
    assert "Tickets" in tickets.json()["message"]
    assert customers.status_code == 200


async def test_read_permission_does_not_grant_writes(revio: httpx.AsyncClient) -> None:
    await revio.put(
        "/_sandbox/revio/accounts/SANDBOX/permissions", json={"permissions": ["Notes:read"]}
    )

    response = await revio.post("/v1/Notes", json={"customer_id": 10001, "body": "hello"})

    assert response.status_code == 403


async def test_unknown_permission_names_are_refused_by_the_control_api(
    revio: httpx.AsyncClient,
) -> None:
    response = await revio.put(
        "/_sandbox/revio/accounts/SANDBOX/permissions", json={"permissions": ["Customers:all"]}
    )

    assert response.status_code == 422


async def test_paths_are_case_insensitive(revio: httpx.AsyncClient) -> None:
    documented = await revio.get("/v1/Customers/10001")
    lower = await revio.get("/v1/customers/10001")
    shouting = await revio.get("/V1/CUSTOMERS/10001")

    assert lower.status_code == shouting.status_code == 200
    assert lower.json()["customer_id"] == shouting.json()["customer_id"] == 10001
    assert lower.json()["links"] == documented.json()["links"]


async def test_unknown_paths_and_methods_answer_with_the_error_envelope(
    revio: httpx.AsyncClient,
) -> None:
    missing = await revio.get("/v1/Nothing")
    not_allowed = await revio.delete("/v1/Customers")

    assert missing.status_code == 404
    assert missing.json()["ok"] is False
    assert not_allowed.status_code == 405
    assert not_allowed.json()["ok"] is False


async def test_the_client_code_in_credentials_is_what_the_request_log_records(
    revio: httpx.AsyncClient,
) -> None:
    token = base64.b64encode(b"integration@SANDBOX:sandbox").decode()
    await revio.get("/v1/customers", auth=None, headers={"Authorization": f"Basic {token}"})

    counts = (await revio.get("/_sandbox/requests", params={"account": "SANDBOX"})).json()

    assert counts["counts"] == {"GET /v1/Customers": 1}
