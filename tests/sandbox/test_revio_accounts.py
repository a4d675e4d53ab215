"""Rev.io sandbox: seeded accounts, isolation between client codes, control API, snapshots."""

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.sandbox.common import clock
from services.sandbox.revio import create_app
from services.sandbox.seed import generate_world

TENANT_B = ("integration@TENANTB", "other")
NEW_CUSTOMER = {
    "service_address": {"company_name": "Fabrikam"},
    "finance": {"bill_profile_id": 2, "billing_method": "PRINT"},
    "profile": {"class": "RESIDENTIAL"},
}


async def records(
    revio: httpx.AsyncClient,
    path: str,
    search: dict[str, str] | None = None,
    auth: tuple[str, str] = ("integration@SANDBOX", "sandbox"),
) -> list[dict]:
    params: dict[str, str | int] = {"page_size": 500, **(search or {})}
    response = await revio.get(path, params=params, auth=auth)
    assert response.status_code == 200, response.text
    return response.json()["records"]


async def add_tenant_b(revio: httpx.AsyncClient) -> None:
    body = {"client_code": "TENANTB", "password": "other", "seed": 7, "size": "tiny"}
    response = await revio.post("/_sandbox/accounts", json=body)
    assert response.status_code == 201, response.text


async def test_lookups_are_seeded_for_configuration_checks(revio: httpx.AsyncClient) -> None:
    types = await records(revio, "/v1/TicketTypes")
    statuses = await records(revio, "/v1/TicketStatuses")
    inventory = await records(revio, "/v1/InventoryTypes")
    profiles = await records(revio, "/v1/BillProfiles")

    assert "RMM Alert" in {ticket_type["name"] for ticket_type in types}
    assert {"name": "auto-closed", "status": "CLOSED", "active": True}.items() <= next(
        status for status in statuses if status["name"] == "auto-closed"
    ).items()
    assert any(item["name"] == "RMM Endpoint" and item["status"] == "ACTIVE" for item in inventory)
    assert sorted(profile["active"] for profile in profiles) == [False, True, True, True]


async def test_the_world_clients_in_revio_become_customers_and_tickets() -> None:
    world = generate_world(5, "demo")
    transport = httpx.ASGITransport(app=create_app(world))
    auth = ("integration@SANDBOX", "sandbox")
    async with httpx.AsyncClient(transport=transport, base_url="http://r", auth=auth) as revio:
        customers = await records(revio, "/v1/Customers")
        tickets = await records(revio, "/v1/Tickets")

    in_revio = [client for client in world.clients if client.in_revio]
    assert [c["service_address"]["company_name"] for c in customers] == [
        client.revio_name for client in in_revio
    ]
    assert [c["status"] for c in customers] == [
        "OPEN" if client.active else "CLOSED" for client in in_revio
    ]
    revio_tickets = [ticket for ticket in world.tickets() if ticket.system == "revio"]
    assert revio_tickets
    assert sorted(t["description"] for t in tickets) == sorted(t.description for t in revio_tickets)


async def test_two_accounts_with_the_same_seed_hold_the_same_ids(
    revio: httpx.AsyncClient,
) -> None:
    await add_tenant_b(revio)

    mine = await records(revio, "/v1/Customers")
    theirs = await records(revio, "/v1/Customers", auth=TENANT_B)

    assert mine == theirs
    assert len(mine) == 11


async def test_writes_of_one_account_are_invisible_to_the_other(
    revio: httpx.AsyncClient,
) -> None:
    await add_tenant_b(revio)

    mine = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]
    await revio.patch(
        "/v1/Customers/10001",
        json=[{"op": "replace", "path": "/status", "value": "CLOSED"}],
        headers={"Content-Type": "application/json-patch+json"},
    )

    missing = await revio.get(f"/v1/Customers/{mine}", auth=TENANT_B)
    untouched = (await revio.get("/v1/Customers/10001", auth=TENANT_B)).json()
    theirs = (await revio.post("/v1/Customers", json=NEW_CUSTOMER, auth=TENANT_B)).json()["id"]
    assert missing.status_code == 404
    assert untouched["status"] == "OPEN"
    assert theirs == mine


async def test_a_bad_account_body_is_refused(revio: httpx.AsyncClient) -> None:
    response = await revio.post("/_sandbox/accounts", json={"client_code": "A@B"})

    assert response.status_code == 422


async def test_the_auto_closed_status_can_be_removed(revio: httpx.AsyncClient) -> None:
    auto_closed = await records(revio, "/v1/TicketStatuses", {"search.name": "auto-closed"})

    removed = await revio.delete(
        f"/_sandbox/revio/accounts/SANDBOX/TicketStatuses/{auto_closed[0]['ticket_status_id']}"
    )
    ticket = {"customer_id": 10001, "ticket_type_id": 2, "description": "Alert"}
    refused = await revio.post("/v1/Tickets", json=ticket | {"custom_status": "auto-closed"})

    assert removed.status_code == 204
    assert await records(revio, "/v1/TicketStatuses", {"search.name": "auto-closed"}) == []
    assert refused.status_code == 400


async def test_a_snapshot_restores_the_data_and_the_accounts(
    revio: httpx.AsyncClient, tmp_path: Path
) -> None:
    await add_tenant_b(revio)
    kept = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]
    snapshot = str(tmp_path / "revio.json")
    assert (await revio.post("/_sandbox/snapshot", json={"path": snapshot})).status_code == 200

    lost = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]
    restored = await revio.post("/_sandbox/restore", json={"path": snapshot})
    again = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]

    assert restored.status_code == 200
    assert (await revio.get(f"/v1/Customers/{kept}")).status_code == 200
    assert again == lost
    assert (await revio.get("/v1/SystemStatus", auth=TENANT_B)).status_code == 200


async def test_a_new_app_can_start_from_a_snapshot(
    revio_app: FastAPI, revio: httpx.AsyncClient, tmp_path: Path
) -> None:
    customer_id = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]
    snapshot = tmp_path / "demo.json"
    revio_app.state.control.save_snapshot(snapshot)

    restarted = create_app(seed=99, size="tiny")
    restarted.state.control.load_snapshot(snapshot)
    transport = httpx.ASGITransport(app=restarted)
    async with httpx.AsyncClient(transport=transport, base_url="http://r", auth=revio.auth) as c:
        customer = (await c.get(f"/v1/Customers/{customer_id}")).json()

    assert customer["service_address"]["company_name"] == "Fabrikam"
    assert customer["fields"] == []


async def test_an_account_in_another_time_zone_writes_its_local_dates(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    body = {"client_code": "EAST", "time_zone": "America/New_York"}
    assert (await revio.post("/_sandbox/accounts", json=body)).status_code == 201
    east = ("integration@EAST", "sandbox")
    created = await revio.post("/v1/Customers", json=NEW_CUSTOMER, auth=east)  # at 22:13:20Z

    customer = (await revio.get(created.headers["Location"], auth=east)).json()
    assert customer["created_date"] == "2023-11-14T17:13:20.000"


async def test_faults_apply_per_path_and_account_with_the_revio_error_body(
    revio: httpx.AsyncClient,
) -> None:
    await add_tenant_b(revio)
    rule = {"path_prefix": "/v1/Customers", "error_rate": 1.0, "account": "SANDBOX"}
    await revio.put("/_sandbox/faults", json={"rules": [rule]})

    failing = await revio.get("/v1/customers")
    other_path = await revio.get("/v1/Tickets")
    other_account = await revio.get("/v1/Customers", auth=TENANT_B)

    assert failing.status_code == 503
    assert failing.json()["ok"] is False
    assert other_path.status_code == other_account.status_code == 200


async def test_the_request_log_counts_calls_per_endpoint(revio: httpx.AsyncClient) -> None:
    await revio.get("/v1/Customers/10001")
    await revio.get("/v1/customers/10002")
    await revio.get("/v1/Customers")

    counts = (await revio.get("/_sandbox/requests", params={"account": "SANDBOX"})).json()

    assert counts["counts"] == {
        "GET /v1/Customers/{customer_id}": 2,
        "GET /v1/Customers": 1,
    }


@pytest.mark.parametrize("size", ["tiny", 30])
async def test_accounts_from_the_control_api_follow_the_seed(
    revio: httpx.AsyncClient, size: str | int
) -> None:
    body = {"client_code": "SIZED", "seed": 11, "size": size}
    summary = (await revio.post("/_sandbox/accounts", json=body)).json()

    world = generate_world(11, size)
    assert summary["customers"] == sum(client.in_revio for client in world.clients)
