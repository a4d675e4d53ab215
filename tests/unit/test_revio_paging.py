"""Paging through Rev.io collections: order, the end, speculative pages, bad envelopes."""

import httpx
import pytest
from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector.client.http import RevioHttp
from services.revio_connector.client.paging import all_records, pages


def collection(total: int, asked: list[int]) -> RevioHttp:
    def answer(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        asked.append(page)
        ids = list(range((page - 1) * size, min(page * size, total)))
        body = {"ok": True, "has_more": page * size < total, "record_count": len(ids),
                "records": [{"id": i} for i in ids]}  # fmt: skip
        return httpx.Response(200, json=body)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://r/v1/")
    return RevioHttp("unit-paging", client, None, None)


async def test_every_record_once_in_order_with_pages_fetched_ahead():
    asked: list[int] = []
    found = [r["id"] async for page in pages(collection(1203, asked), "X", "X", page_size=100,
                                               window=3) for r in page]  # fmt: skip
    assert found == list(range(1203))
    assert sorted(asked)[:13] == list(range(1, 14))
    assert len(asked) <= 13 + 2  # at most window - 1 pages past the end


async def test_a_single_page_costs_a_single_call():
    asked: list[int] = []
    assert len(await all_records(collection(7, asked), "X", "X")) == 7
    assert asked == [1]


async def test_an_envelope_without_records_is_an_invalid_response():
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json={"ok": True})),
        base_url="http://r/v1/",
    )
    with pytest.raises(VendorError) as caught:
        await all_records(RevioHttp("unit-paging", client, None, None), "X", "X")
    assert caught.value.kind is VendorErrorKind.INVALID_RESPONSE


async def test_malformed_json_is_asked_again_then_classified_with_the_payload():
    answers = iter([b'{"ok": true, "rec', b'{"ok": true, "has_more": false, "records": []}'])
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=next(answers))),
        base_url="http://r/v1/",
    )
    assert await all_records(RevioHttp("unit-paging", client, None, None), "X", "X") == []
    broken = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=b"<html>")),
        base_url="http://r/v1/",
    )
    with pytest.raises(VendorError) as caught:
        await all_records(RevioHttp("unit-paging", broken, None, None), "X", "X")
    assert caught.value.kind is VendorErrorKind.INVALID_RESPONSE
    assert caught.value.payload == "<html>"
