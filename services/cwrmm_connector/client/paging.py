"""The two paging styles of the RMM API.

- endpoints: `limit` (<= 500) and an integer `cursor`; the `Link` header names the next page
  (absent on the last one). We follow its `cursor`/`limit` on our own path (never another host).
- tickets: `pageSize` + `pageNum` from 1, with `totalCount`; a page past the end answers
  empty with `totalCount` 0 (the vendor's documented quirk), which also ends the walk.
"""

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from services.cwrmm_connector.client.transport import RmmTransport, drift

ENDPOINT_PAGE = 500
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


def next_link(headers: httpx.Headers) -> dict[str, str] | None:
    """The query parameters of the `rel="next"` link, or None on the last page."""
    for value in headers.get_list("link"):
        for url, rel in _LINK.findall(value):
            if "next" in rel.split():
                return dict(parse_qsl(urlsplit(url).query))
    return None


async def endpoint_pages(
    transport: RmmTransport,
    category: str,
    template: str,
    bucket: str,
    fields: str,
) -> AsyncIterator[dict[str, Any]]:
    """Each page body of `POST .../categories/{category}/endpoints`, all companies."""
    path = template.replace("{category}", category)
    params: dict[str, Any] = {"limit": ENDPOINT_PAGE, "cursor": 0, "field": fields}
    body = {"resourceType": "company", "resources": []}
    while True:
        page, headers = await transport.read("POST", path, template, bucket, params, body)
        if not isinstance(page, dict):
            raise drift(template, "endpoint page is not an object", page)
        yield page
        following = next_link(headers)
        if following is None:
            return
        if "cursor" not in following:
            raise drift(template, "Link header without a cursor", headers.get("link"))
        params = {**params, **following}


async def ticket_pages(
    transport: RmmTransport,
    path: str,
    bucket: str,
    query: dict[str, str],
    page_size: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Each page of tickets matching `query` (filters and sorting), in order."""
    page_num, seen = 1, 0
    while True:
        params = {**query, "pageSize": page_size, "pageNum": page_num}
        page, _ = await transport.read("GET", path, path, bucket, params)
        tickets = page.get("tickets") if isinstance(page, dict) else None
        total = page.get("totalCount") if isinstance(page, dict) else None
        if not isinstance(tickets, list) or not isinstance(total, int):
            raise drift(path, "ticket page without tickets/totalCount", page)
        if tickets:
            yield tickets
        seen += len(tickets)
        if len(tickets) < page_size or seen >= total:
            return
        page_num += 1
