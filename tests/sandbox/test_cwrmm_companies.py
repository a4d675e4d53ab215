"""RMM sandbox companies and sites."""

import httpx

COMPANIES = "/api/platform/v1/company/companies"
NEW_SITE = {
    "name": "Warehouse",
    "timeZone": "(UTC-05:00) Eastern Time (US & Canada)",
    "primaryAddress": {"addressLine1": "1 Dock Rd", "locality": "Tampa", "countryCode": "US"},
}


async def first_company(rmm: httpx.AsyncClient) -> dict:
    companies = (await rmm.get(COMPANIES)).json()
    return companies[0]


async def test_seeded_companies_carry_their_primary_site_and_contact(
    rmm: httpx.AsyncClient,
) -> None:
    companies = (await rmm.get(COMPANIES)).json()
    assert len(companies) == 11  # the tiny world has 12 clients, one of them only in Rev.io
    company = companies[0]
    assert company["primarySite"]["primaryFlag"] is True
    assert company["primaryContact"]["primaryEmail"]["emailAddress"]
    assert (await rmm.get(f"{COMPANIES}/{company['id']}")).json() == company
    missing = await rmm.get(f"{COMPANIES}/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


async def test_create_company_with_a_primary_site(rmm: httpx.AsyncClient) -> None:
    created = await rmm.post(COMPANIES, json={"name": "Newco LLC", "primarySite": NEW_SITE})
    company = created.json()
    assert created.status_code == 200  # the spec says 200 for this create
    sites = (await rmm.get(f"{COMPANIES}/{company['id']}/sites")).json()
    assert [s["name"] for s in sites] == ["Warehouse"]
    assert company["primarySite"]["id"] == sites[0]["id"]
    assert (await rmm.post(COMPANIES, json={"description": "no name"})).status_code == 400


async def test_company_json_patch_updates_fields_and_guards_read_only_ones(
    rmm: httpx.AsyncClient,
) -> None:
    company = await first_company(rmm)
    url = f"{COMPANIES}/{company['id']}"
    patch = [
        {"op": "replace", "path": "/name", "value": "Renamed Inc"},
        {"op": "add", "path": "/description", "value": "Rev.io customer 10001"},
    ]
    patched = (await rmm.patch(url, json=patch)).json()
    assert (patched["name"], patched["description"]) == ("Renamed Inc", "Rev.io customer 10001")
    sites = (await rmm.get(f"{url}/sites")).json()
    assert {s["company"]["name"] for s in sites} == {"Renamed Inc"}
    read_only = await rmm.patch(url, json=[{"op": "replace", "path": "/id", "value": "x"}])
    emptied = await rmm.patch(url, json=[{"op": "remove", "path": "/name"}])
    assert (read_only.status_code, emptied.status_code) == (400, 400)


async def test_sites_create_get_put_and_patch(rmm: httpx.AsyncClient) -> None:
    company = await first_company(rmm)
    sites_url = f"{COMPANIES}/{company['id']}/sites"
    created = await rmm.post(sites_url, json=NEW_SITE)
    site = created.json()
    assert created.status_code == 201 and site["primaryFlag"] is False
    site_url = f"{sites_url}/{site['id']}"
    assert (await rmm.get(site_url)).json() == site
    replaced = (await rmm.put(site_url, json={**site, "name": "Cold Store"})).json()
    assert replaced["name"] == "Cold Store"
    patch = [{"op": "replace", "path": "/primaryFlag", "value": True}]
    promoted = (await rmm.patch(site_url, json=patch)).json()
    assert promoted["primaryFlag"] is True
    refreshed = (await rmm.get(f"{COMPANIES}/{company['id']}")).json()
    assert refreshed["primarySite"]["id"] == site["id"]
    primaries = [s for s in (await rmm.get(sites_url)).json() if s["primaryFlag"]]
    assert [s["id"] for s in primaries] == [site["id"]]


async def test_site_requests_are_validated(rmm: httpx.AsyncClient) -> None:
    company = await first_company(rmm)
    sites_url = f"{COMPANIES}/{company['id']}/sites"
    no_zone = await rmm.post(sites_url, json={"name": "X"})
    no_country = await rmm.post(sites_url, json={**NEW_SITE, "primaryAddress": {"locality": "Y"}})
    other_company = (await rmm.get(COMPANIES)).json()[1]["id"]
    site_id = company["primarySite"]["id"]
    wrong_owner = await rmm.get(f"{COMPANIES}/{other_company}/sites/{site_id}")
    assert (no_zone.status_code, no_country.status_code, wrong_owner.status_code) == (400, 400, 404)


async def test_all_sites_across_companies(rmm: httpx.AsyncClient) -> None:
    sites = (await rmm.get("/api/platform/v1/company/sites")).json()
    companies = (await rmm.get(COMPANIES)).json()
    assert {s["company"]["id"] for s in sites} == {c["id"] for c in companies}
    one = (await rmm.get(f"/api/platform/v1/company/sites/{sites[0]['id']}")).json()
    assert one == sites[0]


async def test_a_near_duplicate_company_carries_its_revio_customer_id_as_an_external_id(
    rmm: httpx.AsyncClient, revio: httpx.AsyncClient
) -> None:
    """Both sandboxes on one seed world: the external id is the id of the same client's
    Rev.io customer; the company's sites carry its external ids in their company reference."""
    stamped = [c for c in (await rmm.get(COMPANIES)).json() if c["externalIds"]]
    assert len(stamped) == 1  # the tiny world has one near-duplicate client
    (company,) = stamped
    (mapping,) = company["externalIds"]
    assert mapping["companyId"] == company["id"] and mapping["productId"]
    customer = (await revio.get(f"/v1/Customers/{mapping['externalId']}")).json()
    assert customer["service_address"]["company_name"] == company["name"]
    sites = (await rmm.get(f"{COMPANIES}/{company['id']}/sites")).json()
    assert {s["company"]["externalIds"][0]["externalId"] for s in sites} == {mapping["externalId"]}


async def test_a_created_company_keeps_its_id_mappings_through_gets_and_patches(
    rmm: httpx.AsyncClient,
) -> None:
    mapping = {"externalId": "10042", "productId": "billing", "productInstanceId": "b-1"}
    created = await rmm.post(COMPANIES, json={"name": "Stamped LLC", "externalIds": [mapping]})
    company = created.json()
    (stored,) = company["externalIds"]
    assert stored == {**mapping, "id": stored["id"], "companyId": company["id"]}
    url = f"{COMPANIES}/{company['id']}"
    assert (await rmm.get(url)).json()["externalIds"] == [stored]

    renamed = [{"op": "replace", "path": "/name", "value": "Stamped Two LLC"}]
    assert (await rmm.patch(url, json=renamed)).json()["externalIds"] == [stored]
    other = {"externalId": "PSA-7", "productId": "psa", "productInstanceId": "p-1"}
    added = [{"op": "add", "path": "/externalIds/-", "value": other}]
    after = (await rmm.patch(url, json=added)).json()["externalIds"]
    assert after[0] == stored and after[1]["externalId"] == "PSA-7" and after[1]["id"]


async def test_malformed_id_mappings_are_refused(rmm: httpx.AsyncClient) -> None:
    no_product = [{"externalId": "10042", "productInstanceId": "b-1"}]
    refused = await rmm.post(COMPANIES, json={"name": "X", "externalIds": no_product})
    not_a_list = await rmm.post(COMPANIES, json={"name": "X", "externalIds": {"id": "1"}})
    url = f"{COMPANIES}/{(await first_company(rmm))['id']}"
    patch = [{"op": "add", "path": "/externalIds", "value": ["10042"]}]
    patched = await rmm.patch(url, json=patch)
    assert (refused.status_code, not_a_list.status_code, patched.status_code) == (400, 400, 400)
