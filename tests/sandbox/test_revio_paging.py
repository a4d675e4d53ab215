"""Rev.io sandbox: paging (`page`/`page_size` and `search.` aliases) and the page envelope."""

import httpx
import pytest
from fastapi import FastAPI

from services.sandbox.revio import create_app


@pytest.fixture
def revio_app() -> FastAPI:
    """A 40-client world (37 of them Rev.io customers): several pages at small sizes."""
    return create_app(seed=3, size="demo")


async def all_customer_ids(revio: httpx.AsyncClient) -> list[int]:
    response = await revio.get("/v1/Customers", params={"page_size": 500})
    assert response.json()["has_more"] is False
    return [record["customer_id"] for record in response.json()["records"]]


async def test_default_page_is_the_first_ten_with_has_more(revio: httpx.AsyncClient) -> None:
    everything = await all_customer_ids(revio)

    page = (await revio.get("/v1/Customers")).json()

    assert len(everything) > 20
    assert page["ok"] is True
    assert page["record_count"] == 10
    assert page["has_more"] is True
    assert [record["customer_id"] for record in page["records"]] == everything[:10]


async def test_walking_the_pages_yields_every_record_once(revio: httpx.AsyncClient) -> None:
    everything = await all_customer_ids(revio)
    seen: list[int] = []
    page_number, has_more = 1, True
    while has_more:
        page = (
            await revio.get("/v1/Customers", params={"page": page_number, "page_size": 7})
        ).json()
        seen += [record["customer_id"] for record in page["records"]]
        assert page["record_count"] == len(page["records"])
        has_more, page_number = page["has_more"], page_number + 1

    assert seen == everything
    assert page["record_count"] == (len(everything) % 7 or 7)


async def test_search_page_aliases_work_like_the_plain_names(revio: httpx.AsyncClient) -> None:
    plain = await revio.get("/v1/Customers", params={"page": 2, "page_size": 5})
    aliased = await revio.get("/v1/Customers", params={"search.page": 2, "search.page_size": 5})

    assert aliased.json() == plain.json()
    assert aliased.json()["record_count"] == 5


async def test_a_page_past_the_end_is_empty(revio: httpx.AsyncClient) -> None:
    page = (await revio.get("/v1/Customers", params={"page": 99, "page_size": 10})).json()

    assert page == {"ok": True, "has_more": False, "record_count": 0, "records": []}


async def test_page_size_500_is_the_maximum(revio: httpx.AsyncClient) -> None:
    largest = await revio.get("/v1/Customers", params={"page_size": 500})
    too_large = await revio.get("/v1/Customers", params={"page_size": 501})

    assert largest.status_code == 200
    assert too_large.status_code == 400
    assert too_large.json()["ok"] is False
    assert "page_size" in too_large.json()["message"]


@pytest.mark.parametrize(
    "params", [{"page_size": 0}, {"page": 0}, {"page": "two"}, {"page": 1, "search.page": "x"}]
)
async def test_invalid_paging_is_400(
    revio: httpx.AsyncClient, params: dict[str, str | int]
) -> None:
    response = await revio.get("/v1/Customers", params=params)

    assert response.status_code == 400


async def test_single_objects_carry_ok_and_a_self_link(revio: httpx.AsyncClient) -> None:
    response = await revio.get("/v1/Addresses/50001")

    body = response.json()
    assert body["ok"] is True
    assert body["address_id"] == 50001
    assert body["links"] == [{"rel": "self", "href": "http://revio.test/v1/Addresses/50001"}]


async def test_a_missing_record_is_404(revio: httpx.AsyncClient) -> None:
    response = await revio.get("/v1/Customers/1")

    assert response.status_code == 404
    assert response.json() == {"ok": False, "message": "Customer 1 was not found."}
