"""Rev.io sandbox: `search.<field>` filters, date ranges, custom fields and `search.sort`."""

from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.datastructures import QueryParams

from services.sandbox.common import clock
from services.sandbox.revio import customfields, search
from services.sandbox.revio.store import Table, folded

NEW_TICKET = {"customer_id": 10001, "ticket_type_id": 1, "description": "Printer jammed"}


async def records(revio: httpx.AsyncClient, path: str, **params: str | int) -> list[dict]:
    response = await revio.get(path, params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["records"]


async def test_name_matches_a_case_blind_part_of_the_service_company_name(
    revio: httpx.AsyncClient,
) -> None:
    found = await records(revio, "/v1/Customers", **{"search.name": "landscaping"})

    names = [record["service_address"]["company_name"] for record in found]
    assert names and all("landscaping" in name.lower() for name in names)
    assert "name" not in found[0]
    assert len(names) < len(await records(revio, "/v1/Customers"))


async def test_exact_filters_on_status_and_id(revio: httpx.AsyncClient) -> None:
    closed = await records(revio, "/v1/Customers", **{"search.status": "CLOSED"})
    one = await records(revio, "/v1/Customers", **{"search.customer_id": 10003})

    assert [record["status"] for record in closed] == ["CLOSED"]
    assert [record["customer_id"] for record in one] == [10003]


async def test_updated_date_start_lists_only_customers_changed_since(
    revio: httpx.AsyncClient, fake_clock: clock.FakeClock
) -> None:
    before = await records(revio, "/v1/Customers", **{"search.updated_date_start": "2030-01-01"})
    fake_clock.current = 1_900_000_000.0  # 2030-03-17
    await revio.patch(
        "/v1/Customers/10004",
        json=[{"op": "replace", "path": "/email", "value": "new@example.com"}],
        headers={"Content-Type": "application/json-patch+json"},
    )

    after = await records(revio, "/v1/Customers", **{"search.updated_date_start": "2030-01-01"})
    until = await records(revio, "/v1/Customers", **{"search.updated_date_end": "2030-01-01"})

    assert before == []
    assert [record["customer_id"] for record in after] == [10004]
    assert after[0]["updated_date"] == "2030-03-17T17:46:40.000"
    assert 10004 not in [record["customer_id"] for record in until]


async def test_an_unknown_search_parameter_is_400_not_everything(
    revio: httpx.AsyncClient,
) -> None:
    response = await revio.get("/v1/Customers", params={"search.modified_since": "2020-01-01"})

    assert response.status_code == 400
    assert "search.modified_since" in response.json()["message"]


async def test_a_bad_date_or_id_is_400(revio: httpx.AsyncClient) -> None:
    bad_date = await revio.get("/v1/Customers", params={"search.updated_date_start": "soon"})
    bad_id = await revio.get("/v1/Customers", params={"search.customer_id": "ten"})

    assert bad_date.status_code == bad_id.status_code == 400


async def test_sort_descending_and_by_name(revio: httpx.AsyncClient) -> None:
    descending = await records(revio, "/v1/Customers", **{"search.sort": "-customer_id"})
    by_name = await records(revio, "/v1/Customers", **{"search.sort": "name"})

    ids = [record["customer_id"] for record in descending]
    names = [record["service_address"]["company_name"].casefold() for record in by_name]
    assert ids == sorted(ids, reverse=True)
    assert names == sorted(names)
    bad = await revio.get("/v1/Customers", params={"search.sort": "password"})
    assert bad.status_code == 400


async def test_custom_fields_filter_by_label_and_value(revio: httpx.AsyncClient) -> None:
    gold = await records(revio, "/v1/Customers", **{"search.fields.Contract Tier": "Gold"})
    lower_label = await records(revio, "/v1/Customers", **{"search.fields.contract tier": "Gold"})

    assert gold and all(
        {"field_id": 1, "label": "Contract Tier", "value": "Gold"} in record["fields"]
        for record in gold
    )
    assert lower_label == gold
    assert await records(revio, "/v1/Customers", **{"search.fields.Contract Tier": "gold"}) == []


async def test_tickets_accept_modified_and_updated_date_start(revio: httpx.AsyncClient) -> None:
    created = await revio.post("/v1/Tickets", json=NEW_TICKET)
    ticket = (await revio.get(created.headers["Location"])).json()

    modified = await records(
        revio, "/v1/Tickets", **{"search.modified_date_start": ticket["modified_date"]}
    )
    updated = await records(
        revio, "/v1/Tickets", **{"search.updated_date_start": ticket["modified_date"]}
    )

    assert [record["ticket_id"] for record in modified] == [ticket["ticket_id"]]
    assert updated == modified


async def test_ticket_journals_filter_by_ticket(revio: httpx.AsyncClient) -> None:
    first = (await revio.post("/v1/Tickets", json=NEW_TICKET)).json()["id"]
    second = (await revio.post("/v1/Tickets", json=NEW_TICKET)).json()["id"]
    for ticket_id, message in ((first, "one"), (second, "two"), (first, "three")):
        await revio.post("/v1/TicketJournals", json={"ticket_id": ticket_id, "message": message})

    journals = await records(revio, "/v1/TicketJournals", **{"search.ticket_id": first})

    assert [journal["message"] for journal in journals] == ["one", "three"]


async def test_inventory_items_filter_by_identifier_exactly(revio: httpx.AsyncClient) -> None:
    for identifier in ("EP-1", "EP-10"):
        response = await revio.post(
            "/v1/InventoryItem", json={"inventory_type_id": 1, "identifier": identifier}
        )
        assert response.status_code == 201

    found = await records(revio, "/v1/InventoryItem", **{"search.identifier": "EP-1"})

    assert [item["identifier"] for item in found] == ["EP-1"]


async def test_the_identifier_lookup_follows_patches_and_case(revio: httpx.AsyncClient) -> None:
    created = await revio.post(
        "/v1/InventoryItem", json={"inventory_type_id": 1, "identifier": "SN-Old"}
    )
    item_id = created.json()["id"]
    assert [i["inventory_item_id"] for i in await records(
        revio, "/v1/InventoryItem", **{"search.identifier": "sn-old"})] == [item_id]  # fmt: skip

    operations = [{"op": "replace", "path": "/identifier", "value": "SN-New"}]
    response = await revio.patch(
        f"/v1/InventoryItem/{item_id}", json=operations,
        headers={"Content-Type": "application/json-patch+json"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert await records(revio, "/v1/InventoryItem", **{"search.identifier": "SN-Old"}) == []
    renamed = await records(revio, "/v1/InventoryItem", **{"search.identifier": "SN-NEW"})
    assert [item["inventory_item_id"] for item in renamed] == [item_id]


def test_an_indexed_lookup_finds_what_a_scan_finds():
    table = Table("inventory_item_id", 1)
    for identifier in ("A-1", "a-1", "B-2", "A-1 ", "c-3"):
        table.insert({"identifier": identifier})
    assert [r["inventory_item_id"] for r in table.matching("identifier", "A-1")] == [1, 2]
    table.rows[2]["identifier"] = "B-2"  # changed in place, then reindexed
    table.reindexed(table.rows[2])
    del table.rows[1]  # removed (the sandbox control's delete)
    for wanted in ("A-1", "b-2", "C-3", "none", "A-1 "):
        scan = [r for r in table.rows.values() if folded(r["identifier"]) == folded(wanted)]
        assert table.matching("identifier", wanted) == scan, wanted


async def test_lookups_filter_by_name_and_active(revio: httpx.AsyncClient) -> None:
    alert_type = await records(revio, "/v1/TicketTypes", **{"search.name": "RMM Alert"})
    inactive = await records(revio, "/v1/BillProfiles", **{"search.active": "false"})

    assert [ticket_type["name"] for ticket_type in alert_type] == ["RMM Alert"]
    assert [profile["active"] for profile in inactive] == [False]


async def test_a_custom_field_filter_matches_only_that_field_and_follows_patches(
    revio: httpx.AsyncClient,
) -> None:
    def ticket(fields: list[dict[str, str]]) -> dict:
        return {**NEW_TICKET, "fields": fields}

    key, other = "RevSync Source Key", "RMM Ticket ID"
    made = []
    for fields in (
        [{"label": other, "value": "alert:1"}],  # the value, but in another field
        [{"label": other, "value": "x"}, {"label": key, "value": "alert:1"}],
        [{"label": key, "value": "alert:2"}],
        [{"label": key.upper(), "value": "alert:1"}],
    ):
        made.append((await revio.post("/v1/Tickets", json=ticket(fields))).json()["id"])
    await revio.patch(
        f"/v1/Tickets/{made[2]}",
        json=[{"op": "replace", "path": "/fields/0/value", "value": "alert:1"}],
        headers={"Content-Type": "application/json-patch+json"},
    )

    found = await records(revio, "/v1/Tickets", **{f"search.fields.{key}": "alert:1"})
    paged = await revio.get(
        "/v1/Tickets", params={f"search.fields.{key}": "alert:1", "page_size": 2, "page": 2}
    )

    assert [record["ticket_id"] for record in found] == made[1:]
    assert [r["ticket_id"] for r in paged.json()["records"]] == made[3:]
    assert paged.json()["has_more"] is False


def test_a_custom_field_search_folds_labels_only_of_records_holding_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connector looks for its marker before every create, through every ticket: records
    that hold the value in no field are passed over without reading their labels."""
    rows = [
        {"ticket_id": n, "fields": [{"field_id": 1, "label": "Key", "value": f"k{n}"}]}
        for n in range(1000)
    ]
    folded: list[str] = []

    def field_value(fields: list, label: str) -> str | None:
        folded.append(label)
        return customfields.field_value(fields, label)

    monkeypatch.setattr(search, "field_value", field_value)
    page = search.search_page(
        QueryParams({"search.fields.key": "k7"}), rows,
        [search.Searchable("ticket_id", "id"), search.Searchable("fields", "custom_fields")],
        ZoneInfo("UTC"), dict,
    )  # fmt: skip

    assert [record["ticket_id"] for record in page["records"]] == [7]
    assert len(folded) == 1
