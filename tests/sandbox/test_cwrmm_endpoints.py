"""RMM sandbox endpoints: the category listing with cursor paging, filters, projection, and
one endpoint's details."""

import re
from typing import Any

import httpx

LISTING = "/api/platform/v2/device/categories/{}/endpoints"
EVERYTHING = {"resourceType": "company", "resources": []}


def endpoints_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for groups in body.values() for group in groups for e in group["endpoints"]]


async def list_all(rmm: httpx.AsyncClient, category: str, limit: int) -> list[httpx.Response]:
    pages, url = [], f"{LISTING.format(category)}?limit={limit}"
    while url:
        response = await rmm.post(url, json=EVERYTHING)
        pages.append(response)
        link = re.fullmatch(r'<(.+)>; rel="next"', response.headers.get("link", ""))
        url = link.group(1) if link else ""
    return pages


async def test_cursor_paging_walks_every_endpoint_once_and_stops(rmm: httpx.AsyncClient) -> None:
    pages = await list_all(rmm, "all", limit=10)
    ids = [e["endpointID"] for page in pages for e in endpoints_in(page.json())]
    assert len(ids) == len(set(ids)) == 48  # every endpoint of the tiny world
    assert [len(endpoints_in(p.json())) for p in pages] == [10, 10, 10, 10, 8]
    assert "link" not in pages[-1].headers
    assert pages[0].headers["link"].endswith('?cursor=10&limit=10>; rel="next"')


async def test_a_category_answers_only_its_own_key_grouped_by_company_and_site(
    rmm: httpx.AsyncClient,
) -> None:
    pages = await list_all(rmm, "network", limit=500)
    body = pages[0].json()
    assert list(body) == ["network"]
    group = body["network"][0]
    assert set(group) == {"companyID", "siteID", "endpoints"}
    every = endpoints_in((await list_all(rmm, "all", 500))[0].json())
    network = [e for e in every if e["resourceType"] == "NetworkDevice"]
    assert len(endpoints_in(body)) == len(network) > 0


async def test_limit_cursor_and_body_are_validated(rmm: httpx.AsyncClient) -> None:
    url = LISTING.format("platform")
    too_many = await rmm.post(f"{url}?limit=501", json=EVERYTHING)
    negative = await rmm.post(f"{url}?cursor=-1", json=EVERYTHING)
    no_body = await rmm.post(url)
    five_companies = {"resourceType": "company", "resources": ["a", "b", "c", "d", "e"]}
    too_wide = await rmm.post(url, json=five_companies)
    unknown = await rmm.post(LISTING.format("printers"), json=EVERYTHING)
    statuses = [r.status_code for r in (too_many, negative, no_body, too_wide, unknown)]
    assert statuses == [400] * 5
    assert set(too_many.json()) == {"code", "message"}


async def test_resources_filter_and_endpoint_type_filter(rmm: httpx.AsyncClient) -> None:
    company = (await rmm.get("/api/platform/v1/company/companies")).json()[0]["id"]
    by_company = {"resourceType": "company", "resources": [company]}
    body = (await rmm.post(LISTING.format("all"), json=by_company)).json()
    assert {g["companyID"] for groups in body.values() for g in groups} == {company}
    servers = await rmm.post(
        LISTING.format("platform"),
        params={"filter": "endpointType in (Server)"},
        json=EVERYTHING,
    )
    types = {e["endpointType"] for e in endpoints_in(servers.json())}
    assert types == {"Server"}


async def test_projection_adds_requested_fields_to_the_metadata(rmm: httpx.AsyncClient) -> None:
    plain = endpoints_in((await rmm.post(LISTING.format("platform"), json=EVERYTHING)).json())
    assert "os" not in plain[0] and plain[0]["deviceName"]
    url = f"{LISTING.format('platform')}?field=os,system"
    projected = endpoints_in((await rmm.post(url, json=EVERYTHING)).json())
    assert projected[0]["os"]["product"] and "systemName" in projected[0]["system"]
    sixteen = ",".join(f"f{i}" for i in range(16))
    assert (await rmm.post(f"{url}{sixteen}", json=EVERYTHING)).status_code == 400


async def test_endpoint_detail_by_company_site_and_id(rmm: httpx.AsyncClient) -> None:
    body = (await rmm.post(LISTING.format("cloud"), json=EVERYTHING)).json()
    group = body["cloud"][0]
    endpoint = group["endpoints"][0]["endpointID"]
    url = "/api/platform/v2/device/companies/{}/sites/{}/endpoints/{}"
    detail = (await rmm.get(url.format(group["companyID"], group["siteID"], endpoint))).json()
    assert (detail["endpointID"], detail["companyID"]) == (endpoint, group["companyID"])
    assert set(detail["cloud"]) >= {"deviceName", "os", "system"}
    wrong_site = await rmm.get(url.format(group["companyID"], "elsewhere", endpoint))
    assert wrong_site.status_code == 404
