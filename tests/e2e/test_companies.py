"""Customers and companies through the whole pipeline: a person's edit in Rev.io or RMM, the
connectors' polls and webhooks, the company service's decision, the connectors' vendor calls,
and what the operator sees in the console (mappings, audit)."""

from tests.e2e.stack import E2EStack, eventually
from tests.e2e.sync_support import (
    COMPANIES,
    address,
    customer,
    decisions,
    linked,
    mapping,
    mappings,
    new_customer,
    rename_customer,
    rename_rmm_company,
    revio_name,
    rmm_company,
    rmm_company_named,
    rmm_sites,
    sync_run,
)

HQ = address("Lakeshore Optics LLC", "1200 Harbor Blvd", "Duluth", "MN", "55802")
WAREHOUSE = address("Lakeshore Optics LLC", "77 Canal Park Dr", "Superior", "WI", "54880")


async def test_create_mode_on_makes_a_new_customer_an_rmm_company_with_a_site_per_address(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=3, create_mode=True)
    await tenant.initial_sync()

    customer_id = await new_customer(tenant, "Lakeshore Optics LLC", HQ, WAREHOUSE)

    company = await eventually(
        lambda: rmm_company_named(tenant, "Lakeshore Optics LLC"), within_s=90
    )
    assert f"Rev.io ID: {customer_id}" in company["description"], company
    assert "Dana Whitfield" in company["description"], company  # the primary contact

    async def both_sites() -> list | None:
        sites = await rmm_sites(tenant, company["id"])
        return sites if len(sites) == 2 else None

    sites = await eventually(both_sites, within_s=90)
    lines = {(s.get("primaryAddress") or {}).get("addressLine1") for s in sites}
    assert lines == {"1200 Harbor Blvd", "77 Canal Park Dr"}, sites

    async def linked_to_company() -> dict | None:
        found = await mapping(tenant, customer_id)
        return found if found["state"] == "linked" else None

    link = await eventually(linked_to_company, within_s=90)
    assert (link["rmm_company_id"], link["rule"]) == (company["id"], "created_in_rmm"), link
    # one company, whatever the number of polls and replays since
    named = [c for c in await tenant.rmm_companies() if c["name"] == "Lakeshore Optics LLC"]
    assert len(named) == 1, named


async def test_create_mode_off_holds_a_new_customer_for_linking_by_hand_and_says_why(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=7, create_mode=False)
    await tenant.initial_sync()

    customer_id = await new_customer(tenant, "Lakeshore Optics LLC", HQ)

    async def held() -> dict | None:
        found = [m for m in await mappings(tenant, "held") if m["id"] == customer_id]
        return found[0] if found else None

    held_mapping = await eventually(held, within_s=90)
    assert held_mapping["rule"] == "create_mode_off", held_mapping
    (why,) = await decisions(tenant, "CustomerHeld", f"company-link:{customer_id}")
    assert why["reason"] == "create_mode_off" and "create mode is off" in why["words"], why
    # the customer seeded in Rev.io only is held the same way by the initial sync
    assert {m["revio_name"] for m in await mappings(tenant, "held")} >= {
        "Johnson Landscaping LLC",
        "Lakeshore Optics LLC",
    }
    assert await rmm_company_named(tenant, "Lakeshore Optics LLC") is None
    created = (await tenant.vendor_calls("rmm", COMPANIES)).get(f"POST {COMPANIES}", 0)
    assert created == 0, "no RMM company may be created with create mode off"


async def test_a_manual_link_survives_a_later_full_sync_run(stack: E2EStack):
    tenant = await stack.new_tenant(seed=7, create_mode=False)
    await tenant.initial_sync()
    (held,) = [m for m in await mappings(tenant, "held") if m["revio_name"] ==
               "Johnson Landscaping LLC"]  # fmt: skip
    unlinked = await tenant.console("GET", "/api/mappings/unlinked", params={"system": "rmm"})
    (company,) = [c for c in unlinked if c["name"] == "Seaside Landscaping PC"]

    await tenant.console(
        "POST",
        "/api/mappings",
        json={"revio_customer_id": held["id"], "rmm_company_id": company["id"]},
    )
    # Rev.io is authoritative on link: the RMM company takes the customer's name
    await eventually(lambda: rmm_company_named(tenant, "Johnson Landscaping LLC"), within_s=90)

    await sync_run(tenant, "full")

    link = await mapping(tenant, held["id"])
    assert (link["state"], link["rmm_company_id"]) == ("linked", company["id"]), link
    assert (link["rule"], link["decided_by"]) == ("manual_link", "operator"), link
    assert (await linked(tenant))[company["id"]] == held["id"]
    stream = f"company-link:{held['id']}"
    assert len(await decisions(tenant, "CustomerLinked", stream)) == 1
    assert await decisions(tenant, "CustomerUnlinked", stream) == []
    assert (await rmm_company(tenant, company["id"]))["name"] == "Johnson Landscaping LLC"


async def two_linked_pairs(tenant) -> list[tuple[str, str]]:
    """(RMM company id, Rev.io customer id) of two linked pairs, in a stable order."""
    pairs = sorted((await linked(tenant)).items(), key=lambda pair: int(pair[1]))
    assert len(pairs) >= 2, pairs
    return pairs[:2]


async def test_inbound_sync_on_brings_an_rmm_edit_to_revio_and_revio_wins_a_conflict(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=7, rmm_to_revio_sync=True)
    await tenant.initial_sync()
    (contested, contested_id), (edited, edited_id) = await two_linked_pairs(tenant)

    await rename_customer(tenant, contested_id, "Contested Name (Rev.io)")
    await rename_rmm_company(tenant, contested, "Contested Name (RMM)")
    await rename_rmm_company(tenant, edited, "Renamed In RMM")

    async def flowed_back() -> bool:
        return revio_name(await customer(tenant, edited_id)) == "Renamed In RMM"

    async def revio_won() -> bool:
        company = await rmm_company(tenant, contested)
        return company["name"] == "Contested Name (Rev.io)"

    await eventually(flowed_back, within_s=90)
    await eventually(revio_won, within_s=90)
    assert revio_name(await customer(tenant, contested_id)) == "Contested Name (Rev.io)"
    pushed = await decisions(tenant, "RevioCustomerUpdateRequested", f"company-link:{edited_id}")
    assert [p["reason"] for p in pushed] == ["rmm_to_revio_sync"], pushed


async def test_inbound_sync_off_keeps_rmm_edits_out_of_revio_and_puts_revio_values_back(
    stack: E2EStack,
):
    tenant = await stack.new_tenant(seed=7, rmm_to_revio_sync=False)
    await tenant.initial_sync()
    (contested, contested_id), (edited, edited_id) = await two_linked_pairs(tenant)
    edited_name = revio_name(await customer(tenant, edited_id))

    await rename_customer(tenant, contested_id, "Contested Name (Rev.io)")
    await rename_rmm_company(tenant, contested, "Contested Name (RMM)")
    await rename_rmm_company(tenant, edited, "Renamed In RMM")

    async def put_back() -> bool:
        return (await rmm_company(tenant, edited))["name"] == edited_name

    async def revio_won() -> bool:
        return (await rmm_company(tenant, contested))["name"] == "Contested Name (Rev.io)"

    await eventually(put_back, within_s=90)
    await eventually(revio_won, within_s=90)
    assert revio_name(await customer(tenant, edited_id)) == edited_name
    assert revio_name(await customer(tenant, contested_id)) == "Contested Name (Rev.io)"
    stream = f"company-link:{edited_id}"
    assert await decisions(tenant, "RevioCustomerUpdateRequested", stream) == []
    updates = await decisions(tenant, "RmmCompanyUpdateRequested", stream)
    rules = [u["data"]["changes"].get("name", {}).get("rule") for u in updates]
    assert "rmm_to_revio_sync_off" in rules, updates
