"""RMM sandbox custom fields: definitions and endpoint values."""

import httpx

DEFINITIONS = "/api/platform/v1/custom-field/definitions"
VALUES = "/api/platform/v2/device/endpoints/{}/custom-fields"
REVIO_ID = {"name": "Rev.io Asset ID", "entityType": "endpoint", "attributeType": "integer"}


async def an_endpoint(rmm: httpx.AsyncClient) -> str:
    listing = await rmm.post(
        "/api/platform/v2/device/categories/platform/endpoints",
        json={"resourceType": "company", "resources": []},
    )
    endpoint: str = listing.json()["platform"][0]["endpoints"][0]["endpointID"]
    return endpoint


async def test_definitions_are_created_listed_and_unique(rmm: httpx.AsyncClient) -> None:
    created = await rmm.post(DEFINITIONS, json=REVIO_ID)
    definition = created.json()
    assert created.status_code == 201 and definition["attributeType"] == "integer"
    duplicate = await rmm.post(DEFINITIONS, json=REVIO_ID)
    assert duplicate.status_code == 409 and set(duplicate.json()) == {"error", "description"}
    assert (await rmm.get(DEFINITIONS, params={"entityType": "device"})).json() == [definition]
    assert (await rmm.get(DEFINITIONS, params={"entityType": "site"})).json() == []
    assert (await rmm.get(f"{DEFINITIONS}/{definition['id']}")).json() == definition
    bad_type = await rmm.post(DEFINITIONS, json={**REVIO_ID, "attributeType": "money"})
    assert bad_type.status_code == 400


async def test_endpoint_values_are_set_typed_and_read_back(rmm: httpx.AsyncClient) -> None:
    definition = (await rmm.post(DEFINITIONS, json=REVIO_ID)).json()
    endpoint = await an_endpoint(rmm)
    url = VALUES.format(endpoint)
    assert (await rmm.get(url)).json() == []
    saved = await rmm.put(url, json=[{"attributeId": definition["id"], "value": "30001"}])
    assert saved.status_code == 200
    values = (await rmm.get(url)).json()
    assert [(v["attributeId"], v["value"], v["name"]) for v in values] == [
        (definition["id"], "30001", "Rev.io Asset ID")
    ]
    not_a_number = await rmm.put(url, json=[{"attributeId": definition["id"], "value": "x1"}])
    unknown = await rmm.put(url, json=[{"attributeId": endpoint, "value": "1"}])
    assert (not_a_number.status_code, unknown.status_code) == (400, 400)
    assert (await rmm.get(url)).json()[0]["value"] == "30001"


async def test_defaults_are_included_only_when_asked(rmm: httpx.AsyncClient) -> None:
    with_default = {"name": "Managed", "entityType": "endpoint", "attributeType": "boolean"}
    definition = (await rmm.post(DEFINITIONS, json={**with_default, "defaultValue": "true"})).json()
    url = VALUES.format(await an_endpoint(rmm))
    assert (await rmm.get(url)).json() == []
    defaults = (await rmm.get(url, params={"withDefaults": "true"})).json()
    assert [(v["attributeId"], v["value"]) for v in defaults] == [(definition["id"], "true")]


async def test_values_of_an_unknown_endpoint_are_not_found(rmm: httpx.AsyncClient) -> None:
    response = await rmm.get(VALUES.format("00000000-0000-4000-8000-000000000000"))
    assert response.status_code == 404
