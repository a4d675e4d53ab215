"""The spec check every RMM test client runs: it really validates documented responses, rejects
a response that breaks the spec, and records what the 2.2.8 spec does not describe."""

import httpx
import pytest
from cwrmm_support import SpecCheckedTransport, checked_client, fetch_token, requires_spec
from fastapi import FastAPI
from openapi_core.validation.response.exceptions import InvalidData

pytestmark = requires_spec
READS = [
    "/api/platform/v1/company/companies",
    "/api/platform/v1/company/sites",
    "/api/platform/v2/service/ticketing/tickets",
    "/api/platform/v1/service/ticketing/statuses",
    "/api/platform/v1/custom-field/definitions",
]


async def test_documented_responses_are_validated(rmm_app: FastAPI) -> None:
    async with checked_client(rmm_app) as anonymous:
        token = await fetch_token(anonymous)
    async with checked_client(rmm_app, token) as client:
        for path in READS:
            assert (await client.get(path)).status_code == 200
        transport = client._transport
        assert isinstance(transport, SpecCheckedTransport)
        assert (transport.validated, transport.undescribed) == (len(READS), [])


async def test_paths_from_newer_api_versions_are_recorded_as_undescribed(
    rmm: httpx.AsyncClient,
) -> None:
    company = (await rmm.get("/api/platform/v1/company/companies")).json()[0]["id"]
    patch = [{"op": "replace", "path": "/description", "value": "x"}]
    await rmm.patch(f"/api/platform/v1/company/companies/{company}", json=patch)
    await rmm.post("/v2/alerts", json=[])
    transport = rmm._transport
    assert isinstance(transport, SpecCheckedTransport)
    assert transport.undescribed == [
        f"PATCH /api/platform/v1/company/companies/{company} 200",
        "POST /v2/alerts 400",
    ]


async def test_a_response_that_breaks_the_spec_is_rejected() -> None:
    def wrong_statuses(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"name": "Open", "category": "Pending"}])

    transport = SpecCheckedTransport(httpx.MockTransport(wrong_statuses))
    async with httpx.AsyncClient(transport=transport, base_url="http://rmm.test") as client:
        with pytest.raises(InvalidData):
            await client.get("/api/platform/v1/service/ticketing/statuses")
