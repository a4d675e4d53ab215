"""RMM sandbox accounts: several vendor accounts side by side, each with its own data; the
request log per account; snapshots; endpoint add/delete controls."""

from pathlib import Path

import httpx
from cwrmm_support import checked_client, fetch_token
from fastapi import FastAPI

COMPANIES = "/api/platform/v1/company/companies"
TICKETS = "/api/platform/v2/service/ticketing/tickets"
TWIN = {"client_id": "twin", "client_secret": "twin-secret", "seed": 7, "size": "tiny"}


async def twin_client(rmm_app: FastAPI) -> httpx.AsyncClient:
    """A client of account `twin`, seeded exactly like the default account."""
    async with checked_client(rmm_app) as anonymous:
        assert (await anonymous.post("/_sandbox/accounts", json=TWIN)).status_code == 201
        token = await fetch_token(anonymous, "twin", "twin-secret")
    return checked_client(rmm_app, token)


async def test_two_accounts_with_the_same_seed_hold_the_same_ids_but_separate_data(
    rmm: httpx.AsyncClient, rmm_app: FastAPI
) -> None:
    async with await twin_client(rmm_app) as twin:
        mine = (await rmm.get(COMPANIES)).json()
        theirs = (await twin.get(COMPANIES)).json()
        assert [c["id"] for c in mine] == [c["id"] for c in theirs]
        renamed = [{"op": "replace", "path": "/name", "value": "Only Mine LLC"}]
        await rmm.patch(f"{COMPANIES}/{mine[0]['id']}", json=renamed)
        assert (await twin.get(f"{COMPANIES}/{mine[0]['id']}")).json()["name"] != "Only Mine LLC"
        board = (await twin.get("/api/platform/v1/service/ticketing/service-boards")).json()[0]
        source = (await twin.get("/api/platform/v1/service/ticketing/sources")).json()[0]
        body = {"summary": "s", "description": "d", "serviceBoard": board, "source": source}
        created = (await twin.post(TICKETS, json=body)).json()
        assert (await rmm.get(f"{TICKETS}/{created['id']}")).status_code == 404


async def test_request_log_counts_calls_per_account(
    rmm: httpx.AsyncClient, rmm_app: FastAPI
) -> None:
    async with await twin_client(rmm_app) as twin:
        await rmm.delete("/_sandbox/requests")
        await rmm.get(COMPANIES)
        await twin.get(COMPANIES)
        await twin.get(COMPANIES)
        counts = (await rmm.get("/_sandbox/requests", params={"account": "twin"})).json()
    assert counts == {"counts": {f"GET {COMPANIES}": 2}, "total": 2}
    accounts = (await rmm.get("/_sandbox/accounts")).json()
    assert [a["client_id"] for a in accounts] == ["sandbox-client", "twin"]


async def test_snapshot_restores_the_data_and_accounts(
    rmm: httpx.AsyncClient, rmm_app: FastAPI, tmp_path: Path
) -> None:
    snapshot = {"path": str(tmp_path / "rmm.json")}
    company = (await rmm.post(COMPANIES, json={"name": "Saved Co"})).json()
    await rmm.post("/_sandbox/snapshot", json=snapshot)
    rename = [{"op": "replace", "path": "/name", "value": "Later"}]
    await rmm.patch(f"{COMPANIES}/{company['id']}", json=rename)
    assert (await rmm.post("/_sandbox/restore", json=snapshot)).status_code == 200
    assert (await rmm.get(COMPANIES)).status_code == 401  # tokens do not survive a restore
    async with checked_client(rmm_app) as anonymous:
        token = await fetch_token(anonymous)
    async with checked_client(rmm_app, token) as client:
        assert (await client.get(f"{COMPANIES}/{company['id']}")).json()["name"] == "Saved Co"


async def test_endpoints_can_be_added_and_deleted_through_the_control_api(
    rmm: httpx.AsyncClient,
) -> None:
    site = (await rmm.get("/api/platform/v1/company/sites")).json()[0]
    new = {"company_id": site["company"]["id"], "site_id": site["id"], "hostname": "NEW-WS-001"}
    added = await rmm.post("/_sandbox/rmm/accounts/sandbox-client/endpoints", json=new)
    endpoint = added.json()["endpointID"]
    detail = f"/api/platform/v2/device/companies/{site['company']['id']}/sites/{site['id']}"
    assert (await rmm.get(f"{detail}/endpoints/{endpoint}")).status_code == 200
    deleted = await rmm.delete(f"/_sandbox/rmm/accounts/sandbox-client/endpoints/{endpoint}")
    assert deleted.status_code == 204
    assert (await rmm.get(f"{detail}/endpoints/{endpoint}")).status_code == 404
