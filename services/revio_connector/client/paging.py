"""Rev.io collections: `page` / `page_size` (1..500) until `has_more` is false.

`{"ok": true, "has_more": ..., "record_count": n, "records": [...]}`; there is no total.
Pages are in id order, so records created while listing land on later pages. Pages after
the first may be fetched a few at a time; they are handed out in order.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector.client.http import VENDOR, RevioHttp

MAX_PAGE_SIZE = 500
Record = dict[str, Any]


def records_of(body: dict[str, Any], endpoint: str) -> tuple[list[Record], bool]:
    records, has_more = body.get("records"), body.get("has_more", False)
    if not isinstance(records, list) or not isinstance(has_more, bool):
        raise VendorError(
            VendorErrorKind.INVALID_RESPONSE,
            VENDOR,
            endpoint,
            "collection without a records list or has_more flag",
            payload=str(body),
        )
    return records, has_more


async def pages(
    http: RevioHttp,
    path: str,
    endpoint: str,
    params: dict[str, str] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    window: int | None = None,
) -> AsyncIterator[list[Record]]:
    """Every page of the collection at `path` filtered by `params`, in order.

    The next page is asked for before the caller gets this one, so its work overlaps the
    request. Up to `window` pages are requested at once (by default as many as Rev.io's
    answer time needs to use every slot of the limit, see `RevioHttp.pages_in_flight`;
    usually one); a listing may so ask for up to `window - 1` pages past its end.
    """

    async def fetch(page: int) -> tuple[list[Record], bool]:
        query = {**(params or {}), "page": str(page), "page_size": str(page_size)}
        return records_of(await http.get(path, endpoint, query), endpoint)

    pending: deque[asyncio.Task[tuple[list[Record], bool]]] = deque()
    pending.append(asyncio.create_task(fetch(1)))
    page = 1
    try:
        while pending:
            records, has_more = await pending.popleft()
            if has_more and not records:
                raise VendorError(
                    VendorErrorKind.INVALID_RESPONSE, VENDOR, endpoint, "empty page with more"
                )
            while has_more and len(pending) < (window or http.pages_in_flight()):
                page += 1  # asked for before the caller works on this page, not after
                pending.append(asyncio.create_task(fetch(page)))
            yield records
            if not has_more:
                return
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def all_records(
    http: RevioHttp, path: str, endpoint: str, params: dict[str, str] | None = None
) -> list[Record]:
    found: list[Record] = []
    async for records in pages(http, path, endpoint, params):
        found += records
    return found
