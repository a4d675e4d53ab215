"""Rev.io sandbox: creating customers, their addresses, custom fields, notes and dates."""

import re
from typing import Any

import httpx
import pytest

ZONELESS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def new_customer(**changes: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "email": "ops@northwind.example",
        "service_address": {"company_name": "Northwind Traders", "line_1": "1 Main St"},
        "finance": {"bill_profile_id": 1, "billing_method": "EMAIL"},
        "profile": {"class": "BUSINESS"},
    }
    return customer | changes


async def test_post_answers_201_with_location_and_id(revio: httpx.AsyncClient) -> None:
    response = await revio.post("/v1/Customers", json=new_customer())

    assert response.status_code == 201
    body = response.json()
    assert body == {"ok": True, "id": body["id"]}
    assert response.headers["Location"] == f"http://revio.test/v1/Customers/{body['id']}"
    customer = (await revio.get(response.headers["Location"])).json()
    assert customer["service_address"]["company_name"] == "Northwind Traders"
    assert customer["status"] == "OPEN"
    assert customer["account_number"] == str(body["id"])


async def test_a_repeated_post_creates_a_second_customer(revio: httpx.AsyncClient) -> None:
    first = await revio.post("/v1/Customers", json=new_customer())
    second = await revio.post("/v1/Customers", json=new_customer())

    assert first.json()["id"] != second.json()["id"]


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"finance": {"billing_method": "EMAIL"}}, "finance.bill_profile_id"),
        ({"finance": {"bill_profile_id": 1}}, "finance.billing_method"),
        ({"profile": {}}, "profile.class"),
    ],
)
async def test_a_customer_needs_bill_profile_class_and_bill_method(
    revio: httpx.AsyncClient, changes: dict[str, Any], missing: str
) -> None:
    response = await revio.post("/v1/Customers", json=new_customer(**changes))

    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert missing in response.json()["message"]


@pytest.mark.parametrize(("profile_id", "reason"), [(4, "inactive"), (99, "does not exist")])
async def test_an_unusable_bill_profile_is_refused(
    revio: httpx.AsyncClient, profile_id: int, reason: str
) -> None:
    finance = {"bill_profile_id": profile_id, "billing_method": "EMAIL"}

    response = await revio.post("/v1/Customers", json=new_customer(finance=finance))

    assert response.status_code == 400
    assert reason in response.json()["message"]


async def test_unknown_fields_and_bad_json_are_400(revio: httpx.AsyncClient) -> None:
    unknown = await revio.post("/v1/Customers", json=new_customer(name="Northwind"))
    broken = await revio.post(
        "/v1/Customers", content=b"{", headers={"Content-Type": "application/json"}
    )

    assert unknown.status_code == broken.status_code == 400
    assert "name" in unknown.json()["message"]


async def test_the_customer_has_no_top_level_name_and_zone_less_dates(
    revio: httpx.AsyncClient,
) -> None:
    customer = (await revio.get("/v1/Customers/10001")).json()

    assert "name" not in customer
    assert customer["service_address"]["company_name"] == "Kingsley Landscaping LLC"
    assert ZONELESS_DATE.match(customer["created_date"])
    assert ZONELESS_DATE.match(customer["updated_date"])


async def test_addresses_of_a_customer_are_listed_with_its_id(revio: httpx.AsyncClient) -> None:
    customer_id = (
        await revio.post(
            "/v1/Customers",
            json=new_customer(billing_address={"company_name": "Northwind AP", "city": "Reno"}),
        )
    ).json()["id"]

    listed = await revio.get("/v1/Addresses", params={"search.customer_id": customer_id})
    customer = (await revio.get(f"/v1/Customers/{customer_id}")).json()

    addresses = listed.json()["records"]
    assert {address["customer_id"] for address in addresses} == {customer_id}
    assert {address["address_id"] for address in addresses} == {
        customer["billing_address"]["address_id"],
        customer["service_address"]["address_id"],
    }
    assert customer["listing_address"] is None


async def test_seeded_extra_addresses_belong_to_the_customer(revio: httpx.AsyncClient) -> None:
    # client 10 of the tiny world (customer 10009) has two addresses
    listed = await revio.get("/v1/Addresses", params={"search.customer_id": 10009})

    assert listed.json()["record_count"] == 2


async def test_custom_fields_are_set_by_label_and_get_a_stable_id(
    revio: httpx.AsyncClient,
) -> None:
    fields = [{"label": "revsync id", "value": "abc"}, {"field_id": 1, "value": "Gold"}]
    first = (await revio.post("/v1/Customers", json=new_customer(fields=fields))).json()["id"]
    second_fields = [{"label": "REVSYNC ID", "value": "def"}]
    second = (await revio.post("/v1/Customers", json=new_customer(fields=second_fields))).json()

    one = (await revio.get(f"/v1/Customers/{first}")).json()["fields"]
    two = (await revio.get(f"/v1/Customers/{second['id']}")).json()["fields"]

    assert one == [
        {"field_id": 2, "label": "revsync id", "value": "abc"},
        {"field_id": 1, "label": "Contract Tier", "value": "Gold"},
    ]
    assert two == [{"field_id": 2, "label": "revsync id", "value": "def"}]


async def test_an_undefined_custom_field_id_is_400(revio: httpx.AsyncClient) -> None:
    fields = [{"field_id": 77, "value": "x"}]

    response = await revio.post("/v1/Customers", json=new_customer(fields=fields))

    assert response.status_code == 400
    assert (await revio.get("/v1/Customers", params={"page_size": 500})).json()[
        "record_count"
    ] == 11


async def test_a_refused_fields_list_defines_no_field(revio: httpx.AsyncClient) -> None:
    twice = [{"label": "Site Code", "value": "1"}, {"label": "SITE CODE", "value": "2"}]
    refused = await revio.post("/v1/Customers", json=new_customer(fields=twice))
    once = [{"label": "Region", "value": "West"}]
    created = await revio.post("/v1/Customers", json=new_customer(fields=once))

    customer = (await revio.get(created.headers["Location"])).json()
    assert refused.status_code == 400
    assert customer["fields"] == [{"field_id": 2, "label": "Region", "value": "West"}]


async def test_notes_are_added_to_existing_customers_only(revio: httpx.AsyncClient) -> None:
    added = await revio.post("/v1/Notes", json={"customer_id": 10002, "body": "Called back"})
    orphan = await revio.post("/v1/Notes", json={"customer_id": 1, "body": "Nobody"})

    assert added.status_code == 201
    assert orphan.status_code == 400
    notes = (await revio.get("/v1/Notes", params={"search.customer_id": 10002})).json()
    assert [note["body"] for note in notes["records"]] == ["Called back"]
