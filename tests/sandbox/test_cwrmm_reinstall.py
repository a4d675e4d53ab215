"""RMM sandbox control: an agent reinstall replaces an endpoint by a new one (new id) that
describes the same machine, in one step; never part of the vendor surface."""

import httpx

CONTROL = "/_sandbox/rmm/accounts/sandbox-client/endpoints"
LISTING = "/api/platform/v2/device/categories/platform/endpoints"
EVERY = {"resourceType": "company", "resources": []}
FIELDS = "/api/platform/v2/device/endpoints/{}/custom-fields"
DEFINITIONS = "/api/platform/v1/custom-field/definitions"


async def platform_endpoints(rmm: httpx.AsyncClient) -> dict[str, dict]:
    page = (await rmm.post(LISTING, params={"field": "system"}, json=EVERY)).json()
    return {
        e["endpointID"]: {**e, "companyID": g["companyID"], "siteID": g["siteID"]}
        for g in page["platform"]
        for e in g["endpoints"]
    }


async def test_a_reinstall_gives_the_same_machine_a_new_endpoint_id_without_field_values(
    rmm: httpx.AsyncClient,
) -> None:
    before = await platform_endpoints(rmm)
    old = next(e for e in before.values() if e.get("system", {}).get("serialNumber"))
    definition = {"name": "Asset", "entityType": "endpoint", "attributeType": "string"}
    attribute = (await rmm.post(DEFINITIONS, json=definition)).json()["id"]
    value = [{"attributeId": attribute, "value": "A-1"}]
    assert (await rmm.put(FIELDS.format(old["endpointID"]), json=value)).status_code == 200

    answer = await rmm.post(f"{CONTROL}/{old['endpointID']}/reinstall")

    assert answer.status_code == 201
    fresh = answer.json()
    after = await platform_endpoints(rmm)
    assert old["endpointID"] not in after and fresh["endpointID"] in after
    assert len(after) == len(before)
    new = after[fresh["endpointID"]]
    same = ("companyID", "siteID", "deviceName", "system")
    assert [new[key] for key in same] == [old[key] for key in same]
    assert (await rmm.get(FIELDS.format(fresh["endpointID"]))).json() == []


async def test_reinstalling_an_unknown_endpoint_is_a_404(rmm: httpx.AsyncClient) -> None:
    assert (await rmm.post(f"{CONTROL}/no-such-endpoint/reinstall")).status_code == 404
