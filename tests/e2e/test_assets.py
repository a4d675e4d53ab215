"""RMM endpoints become Rev.io assets through the whole pipeline: the RMM connector's listing,
the asset service's decision, the Rev.io connector's inventory calls, and the write-back of
the Rev.io asset id into the endpoint's custom field. What each vendor was asked is read
from the sandboxes' request logs."""

from typing import Any

from tests.e2e.stack import E2EStack, E2ETenant, eventually
from tests.e2e.sync_support import (
    CUSTOM_FIELDS,
    assets,
    assets_by_endpoint,
    decisions,
    endpoint_details,
    field,
    field_calls,
    field_writes,
    linked,
    sandbox_rmm,
    sync_run,
)

SELECTED = ("platform", "network")


async def expected_assets(tenant: E2ETenant) -> dict[str, dict[str, Any]]:
    """The endpoints that must be assets: of a selected category, of a linked company."""
    links = await linked(tenant)
    return {
        e["endpointID"]: {**e, "customer_id": links[e["companyID"]]}
        for category in SELECTED
        for e in await endpoint_details(tenant, category)
        if e["companyID"] in links
    }


async def all_synced(tenant: E2ETenant) -> dict[str, dict[str, Any]] | None:
    """Assets by endpoint id once every expected endpoint has one and its id is written back."""
    expected = await expected_assets(tenant)
    found = await assets_by_endpoint(tenant)
    if not expected.keys() <= found.keys():
        return None
    if await field_writes(tenant) < len(expected):
        return None
    return found


async def test_asset_sync_off_makes_no_asset_calls_at_all(stack: E2EStack):
    tenant = await stack.new_tenant(seed=7, asset_sync_enabled=False)
    await tenant.initial_sync()
    await sync_run(tenant, "full")  # a second full listing of every endpoint

    listed = await tenant.vendor_calls("rmm", "/api/platform/v2/device/categories")
    assert sum(listed.values()) >= 2, listed  # endpoints were listed, and ignored
    assert await tenant.vendor_calls("revio", "/v1/Inventory") == {}
    assert await tenant.vendor_calls("rmm", CUSTOM_FIELDS) == {}
    assert await tenant.vendor_calls("rmm", "/api/platform/v1/custom-field") == {}
    recorded = await tenant.console(
        "GET", "/api/audit", params={"entity": "asset", "observations": "true"}
    )
    assert recorded == [], recorded


async def test_only_platform_and_network_endpoints_become_assets_and_ids_are_written_once(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=7, endpoint_categories=list(SELECTED))
    await tenant.initial_sync()

    found = await eventually(lambda: all_synced(tenant), within_s=90)
    expected = await expected_assets(tenant)
    assert found.keys() == expected.keys(), "only endpoints of the selected categories"
    for endpoint_id, item in found.items():
        assert str(item["customer_id"]) == expected[endpoint_id]["customer_id"], item
        assert item["status"] == "ACTIVE", item
    cloud = {e["endpointID"] for e in await endpoint_details(tenant, "cloud")}
    assert cloud, "the seed world has cloud endpoints"
    assert not cloud & found.keys()

    # each endpoint's custom field holds its asset id, written once
    some_id, some_item = next(iter(sorted(found.items())))
    values = await tenant.rmm("GET", f"{CUSTOM_FIELDS}/{some_id}/custom-fields")
    assert [v["value"] for v in values if v["name"] == "Rev.io Asset ID"] == [
        str(some_item["inventory_item_id"])
    ]
    writes_before = await field_writes(tenant)
    assert writes_before == len(found)
    calls_before = await field_calls(tenant, some_id)

    # a later full sync lists every endpoint again: nothing is written (nor even read) again
    await sync_run(tenant, "full")
    assert await field_writes(tenant) == writes_before
    assert await field_calls(tenant, some_id) == calls_before
    requested = await decisions(tenant, "RevioIdWriteBackRequested", "asset")
    per_endpoint = [r["data"]["endpoint_id"] for r in requested]
    assert sorted(per_endpoint) == sorted(found), "one write-back per endpoint"
    assert len(await assets(tenant)) == len(found)


async def test_a_reinstalled_agent_keeps_one_asset_and_a_deleted_endpoint_retires_its_asset(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=7)
    await tenant.initial_sync()
    synced = await eventually(lambda: all_synced(tenant), within_s=90)
    expected = await expected_assets(tenant)
    with_serial = sorted(
        (e for e in expected.values() if e["serial"] and e["endpointID"] in synced),
        key=lambda e: e["endpointID"],
    )
    reinstalled, removed = with_serial[0], with_serial[1]
    count = len(await assets(tenant))

    # the agent is reinstalled: a new endpoint id on the same machine (same serial number)
    fresh = await sandbox_rmm(tenant, "POST", f"/endpoints/{reinstalled['endpointID']}/reinstall")
    assert fresh["endpointID"] != reinstalled["endpointID"]
    # an endpoint is deleted in RMM
    await sandbox_rmm(tenant, "DELETE", f"/endpoints/{removed['endpointID']}")

    async def followed() -> dict[str, Any] | None:
        by_endpoint = await assets_by_endpoint(tenant)
        item = by_endpoint.get(fresh["endpointID"])
        return item if item and await field_writes(tenant, fresh["endpointID"]) else None

    moved = await eventually(followed, within_s=90)
    old = synced[reinstalled["endpointID"]]
    assert moved["inventory_item_id"] == old["inventory_item_id"], "the same asset"
    assert moved["status"] == "ACTIVE", moved
    same_machine = [a for a in await assets(tenant) if a["identifier"] == old["identifier"]]
    assert len(same_machine) == 1, same_machine

    async def retired() -> dict[str, Any] | None:
        item = (await assets_by_endpoint(tenant)).get(removed["endpointID"])
        return item if item and item["status"] == "RETIRED" else None

    item = await eventually(retired, within_s=90)
    assert item["inventory_item_id"] == synced[removed["endpointID"]]["inventory_item_id"]
    assert len(await assets(tenant)) == count, "nothing created, nothing deleted"
    revio_calls = await tenant.vendor_calls("revio", "/v1/InventoryItem")
    assert not [call for call in revio_calls if call.startswith("DELETE")], revio_calls
    assert field(moved, "hostname") == reinstalled["deviceName"]
