"""Rev.io sandbox: RFC 6902 JSON Patch on customers, tickets and inventory items."""

from typing import Any

import httpx
import pytest

from services.sandbox.common import clock

PATCH = {"Content-Type": "application/json-patch+json"}
NEW_TICKET = {"customer_id": 10001, "ticket_type_id": 2, "description": "Disk full on SRV-01"}


async def patch(revio: httpx.AsyncClient, path: str, operations: list[Any]) -> httpx.Response:
    return await revio.patch(path, json=operations, headers=PATCH)


async def test_replace_a_billing_address_line(revio: httpx.AsyncClient) -> None:
    operations = [{"op": "replace", "path": "/billing_address/line_1", "value": "9 New Rd"}]

    response = await patch(revio, "/v1/Customers/10002", operations)

    assert response.status_code == 200
    assert response.json()["billing_address"]["line_1"] == "9 New Rd"
    again = (await revio.get("/v1/Customers/10002")).json()
    assert again["billing_address"]["line_1"] == "9 New Rd"
    assert again["updated_date"] > again["created_date"]


async def test_changing_a_shared_address_gives_the_role_its_own(
    revio: httpx.AsyncClient,
) -> None:
    before = (await revio.get("/v1/Customers/10002")).json()
    assert before["billing_address"] == before["service_address"]

    operations = [{"op": "replace", "path": "/billing_address/city", "value": "Elsewhere"}]
    after = (await patch(revio, "/v1/Customers/10002", operations)).json()

    assert after["service_address"] == before["service_address"]
    assert after["billing_address"]["city"] == "Elsewhere"
    assert after["billing_address"]["address_id"] != before["service_address"]["address_id"]


async def test_add_a_custom_field_by_patch(revio: httpx.AsyncClient) -> None:
    operations = [
        {"op": "add", "path": "/fields/-", "value": {"label": "RMM Company", "value": "7"}}
    ]

    response = await patch(revio, "/v1/Customers/10003", operations)

    assert {"field_id": 2, "label": "RMM Company", "value": "7"} in response.json()["fields"]
    found = await revio.get("/v1/Customers", params={"search.fields.RMM Company": "7"})
    assert [record["customer_id"] for record in found.json()["records"]] == [10003]


async def test_a_patch_that_changes_nothing_keeps_the_updated_date(
    revio: httpx.AsyncClient,
) -> None:
    before = (await revio.get("/v1/Customers/10003")).json()

    operations = [{"op": "replace", "path": "/status", "value": before["status"]}]
    after = (await patch(revio, "/v1/Customers/10003", operations)).json()

    assert after["updated_date"] == before["updated_date"]


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "/customer_id", "value": 1}],
        [{"op": "replace", "path": "/created_date", "value": "2001-01-01T00:00:00"}],
        [{"op": "add", "path": "/nickname", "value": "Kings"}],
        [{"op": "replace", "path": "/nothing/here", "value": 1}],
        [{"op": "test", "path": "/status", "value": "PROSPECT"}],
        [{"op": "remove", "path": "/profile/class"}],
        [{"op": "jump", "path": "/status"}],
        [{"op": "add", "path": "0"}],
        {"op": "replace", "path": "/status", "value": "CLOSED"},
    ],
)
async def test_invalid_patches_are_400_and_change_nothing(
    revio: httpx.AsyncClient, operations: Any
) -> None:
    before = (await revio.get("/v1/Customers/10001")).json()

    response = await revio.patch("/v1/Customers/10001", json=operations, headers=PATCH)

    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert (await revio.get("/v1/Customers/10001")).json() == before


async def test_patch_needs_the_json_patch_content_type(revio: httpx.AsyncClient) -> None:
    operations = [{"op": "replace", "path": "/status", "value": "CLOSED"}]

    response = await revio.patch("/v1/Customers/10001", json=operations)

    assert response.status_code == 400
    assert "application/json-patch+json" in response.json()["message"]


async def test_patching_a_missing_customer_is_404(revio: httpx.AsyncClient) -> None:
    response = await patch(revio, "/v1/Customers/1", [])

    assert response.status_code == 404


async def test_custom_status_auto_closed_closes_the_ticket(revio: httpx.AsyncClient) -> None:
    ticket_id = (await revio.post("/v1/Tickets", json=NEW_TICKET)).json()["id"]
    opened = (await revio.get(f"/v1/Tickets/{ticket_id}")).json()

    operations = [{"op": "replace", "path": "/custom_status", "value": "auto-closed"}]
    closed = (await patch(revio, f"/v1/Tickets/{ticket_id}", operations)).json()

    assert opened["status"] == "OPEN"
    assert opened["closed_date"] == "0001-01-01T00:00:00"
    assert closed["status"] == "CLOSED"
    assert closed["custom_status"] == "auto-closed"
    assert closed["closed_date"] == closed["modified_date"] >= opened["modified_date"]


async def test_reopening_a_ticket_clears_custom_status_and_closed_date(
    revio: httpx.AsyncClient,
) -> None:
    ticket = NEW_TICKET | {"custom_status": "auto-closed"}
    ticket_id = (await revio.post("/v1/Tickets", json=ticket)).json()["id"]

    operations = [{"op": "replace", "path": "/status", "value": "INWORK"}]
    reopened = (await patch(revio, f"/v1/Tickets/{ticket_id}", operations)).json()

    assert reopened["status"] == "INWORK"
    assert reopened["custom_status"] is None
    assert reopened["closed_date"] == "0001-01-01T00:00:00"


async def test_an_unknown_custom_status_or_ticket_type_is_400(revio: httpx.AsyncClient) -> None:
    ticket_id = (await revio.post("/v1/Tickets", json=NEW_TICKET)).json()["id"]

    status = [{"op": "replace", "path": "/custom_status", "value": "teleported"}]
    ticket_type = [{"op": "replace", "path": "/ticket_type_id", "value": 5}]  # inactive type

    assert (await patch(revio, f"/v1/Tickets/{ticket_id}", status)).status_code == 400
    assert (await patch(revio, f"/v1/Tickets/{ticket_id}", ticket_type)).status_code == 400


async def test_a_journal_entry_moves_the_ticket_modified_date(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    ticket_id = (await revio.post("/v1/Tickets", json=NEW_TICKET)).json()["id"]
    fake_clock.advance(60)
    response = await revio.post(
        "/v1/TicketJournals", json={"ticket_id": ticket_id, "message": "Still full"}
    )

    ticket = (await revio.get(f"/v1/Tickets/{ticket_id}")).json()
    journal = (await revio.get(response.headers["Location"])).json()
    assert response.status_code == 201
    assert journal["ticket_id"] == ticket_id
    assert ticket["modified_date"] == journal["created_date"] == "2023-11-14T22:14:20.000"
    assert ticket["created_date"] == "2023-11-14T22:13:20.000"


async def test_inventory_items_are_retired_and_tagged_by_patch(revio: httpx.AsyncClient) -> None:
    created = await revio.post(
        "/v1/InventoryItem",
        json={"inventory_type_id": 1, "identifier": "GRAN-LT-001", "customer_id": 10001},
    )
    location = created.headers["Location"]

    operations = [
        {"op": "replace", "path": "/status", "value": "RETIRED"},
        {"op": "add", "path": "/fields/-", "value": {"label": "RMM Endpoint", "value": "e-1"}},
    ]
    item = (await revio.patch(location, json=operations, headers=PATCH)).json()

    assert item["status"] == "RETIRED"
    assert item["fields"] == [{"field_id": 2, "label": "RMM Endpoint", "value": "e-1"}]
    readonly = [{"op": "replace", "path": "/inventory_item_id", "value": 1}]
    assert (await revio.patch(location, json=readonly, headers=PATCH)).status_code == 400


async def test_an_item_of_an_inactive_type_is_refused(revio: httpx.AsyncClient) -> None:
    response = await revio.post(
        "/v1/InventoryItem", json={"inventory_type_id": 5, "identifier": "OLD-1"}
    )

    assert response.status_code == 400
