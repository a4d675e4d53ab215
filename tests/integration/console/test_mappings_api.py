"""`/api/mappings` over the real company service: after a sync run, the suggested, linked and
held pairs; confirm, reject, unlink, link by hand and confirm all, each decided by the
company service with the person as actor; and the search of either side's unlinked
records."""

import asyncio
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from revsync.contracts.rmm import RmmCompany, RmmCompanyChanged
from revsync.eventlog import EventStore
from revsync.messaging import publish

from services.console.consumers import ConsoleConsumers
from services.console.deps import SESSION_COOKIE, Console
from tests.integration.console.support import Accounts, fake_connectors, small_world, wait_until
from tests.integration.console.tenant_rows import add_tenant


@pytest.fixture
async def synced(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    js: JetStreamContext,
    running: ConsoleConsumers,
    company: None,
) -> str:
    """`tenant` after a sync run of `small_world`, its links decided; the run id."""
    connectors = asyncio.create_task(fake_connectors(js, configured.tenant, small_world()))
    run_id = (await api.post("/api/sync-runs", headers=admin)).json()["id"]

    async def matched() -> bool:
        found = (await api.get("/api/mappings", headers=admin)).json()
        return len(found) == 5 and all(m["state"] != "unlinked" for m in found)

    await wait_until(matched, within_s=30)
    await connectors
    return str(run_id)


def by_id(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in found}


async def test_a_run_gives_linked_suggested_and_held_mappings(
    api: httpx.AsyncClient, admin: dict[str, str], synced: str
):
    found = by_id((await api.get("/api/mappings", headers=admin)).json())

    assert {k: m["state"] for k, m in found.items()} == {
        "101": "linked",
        "102": "suggested",
        "103": "suggested",
        "104": "held",
        "105": "held",
    }
    assert found["101"]["rule"] == "exact_name"
    assert (found["102"]["revio_name"], found["102"]["rmm_name"]) == (
        "Globex Industrial",
        "Globex Industries",
    )
    assert found["102"]["score"] > 80
    assert found["102"]["candidates"][0]["id"] == "c2"
    suggested = (await api.get("/api/mappings?state=suggested", headers=admin)).json()
    assert [m["id"] for m in suggested] == ["103", "102"]  # best score first
    of_run = (await api.get(f"/api/mappings?sync_run_id={synced}", headers=admin)).json()
    assert len(of_run) == 5
    assert (await api.get("/api/mappings/102", headers=admin)).json()["state"] == "suggested"


async def test_a_link_whose_rmm_company_was_deleted_in_rmm_says_so_until_it_is_seen_again(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    synced: str,
    js: JetStreamContext,
    console: Console,
    tenant: str,
):
    acme = RmmCompany(id="c1", name="Acme Corp")
    listed = by_id((await api.get("/api/mappings", headers=admin)).json())
    assert {k for k, m in listed.items() if m["rmm_deleted"]} == set()

    await publish(js, RmmCompanyChanged(tenant_id=tenant, kind="deleted", company=acme))

    async def shown(deleted: bool) -> bool:
        found = (await api.get("/api/mappings/101", headers=admin)).json()
        return found["rmm_deleted"] is deleted

    await wait_until(lambda: shown(True))
    found = (await api.get("/api/mappings/101", headers=admin)).json()
    assert (found["state"], found["rmm_company_id"]) == ("linked", "c1")  # still linked
    only = (await api.get("/api/mappings?state=linked&rmm_deleted=true", headers=admin)).json()
    assert [m["id"] for m in only] == ["101"]
    others = (await api.get("/api/mappings?rmm_deleted=false", headers=admin)).json()
    assert sorted(m["id"] for m in others) == ["102", "103", "104", "105"]

    await console.users.create(f"page-{tenant}", "pw", "admin", tenant)  # the page says it
    form = {"content-type": "application/x-www-form-urlencoded"}
    login = await api.post("/login", content=f"username=page-{tenant}&password=pw", headers=form)
    api.cookies.set(SESSION_COOKIE, login.cookies[SESSION_COOKIE])
    page = (await api.get("/mappings?state=linked")).text
    assert 'data-mapping="101" data-state="linked" data-rmm-deleted="true"' in page
    assert "RMM company deleted in RMM" in page
    assert "1 link's RMM company was deleted in RMM" in page
    assert "/mappings?state=linked&amp;rmm_deleted=true" in page
    only_page = (await api.get("/mappings?state=linked&rmm_deleted=true")).text
    assert only_page.count('class="card mapping"') == 1 and "Show all" in only_page

    await publish(js, RmmCompanyChanged(tenant_id=tenant, kind="changed", company=acme))
    await wait_until(lambda: shown(False))
    page = (await api.get("/mappings?state=linked")).text
    assert "data-rmm-deleted" not in page and "deleted in RMM" not in page


async def test_confirm_and_reject_are_decided_by_the_company_service_as_the_person(
    api: httpx.AsyncClient, admin: dict[str, str], synced: str, console: Console, tenant: str
):
    confirmed = await api.post("/api/mappings/102/confirm", headers=admin)
    rejected = await api.post("/api/mappings/103/reject", headers=admin)

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "linked"
    assert confirmed.json()["rmm_company_id"] == "c2"
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] != "suggested"
    events = await EventStore(console.pool).read_stream(tenant, "company-link:102")
    linked = [e for e in events if e.type == "CustomerLinked"][-1]
    assert linked.data["rule"] == "suggestion_confirmed"
    assert linked.metadata["actor"] == f"admin-{tenant}"
    again = await api.post("/api/mappings/103/confirm", headers=admin)
    assert again.status_code == 409  # no suggestion left to confirm


async def test_unlink_and_link_by_hand(api: httpx.AsyncClient, admin: dict[str, str], synced: str):
    unlinked = await api.post("/api/mappings/101/unlink", headers=admin)
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["state"] != "linked"

    companies = (
        await api.get("/api/mappings/unlinked?system=rmm&q=initrode", headers=admin)
    ).json()
    assert companies[0]["id"] == "c4" and companies[0]["name"] == "Initrode Technologies"
    customers = (
        await api.get("/api/mappings/unlinked?system=revio&q=initech", headers=admin)
    ).json()
    assert customers[0]["id"] == "104"

    linked = await api.post(
        "/api/mappings",
        json={"revio_customer_id": "104", "rmm_company_id": "c4"},
        headers=admin,
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["state"] == "linked"
    assert linked.json()["rule"] == "manual_link"
    taken = await api.post(
        "/api/mappings", json={"revio_customer_id": "105", "rmm_company_id": "c4"}, headers=admin
    )
    assert taken.status_code == 409
    unknown = await api.post(
        "/api/mappings", json={"revio_customer_id": "105", "rmm_company_id": "zz"}, headers=admin
    )
    assert unknown.status_code == 404
    everyone = (await api.get("/api/mappings/unlinked?system=rmm", headers=admin)).json()
    assert "c4" not in {c["id"] for c in everyone}


async def test_confirm_all_confirms_every_suggestion_of_the_run(
    api: httpx.AsyncClient, admin: dict[str, str], synced: str
):
    answer = await api.post(f"/api/sync-runs/{synced}/confirm-all", headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json()["confirmed"] == 2
    assert sorted(answer.json()["confirmed_ids"]) == ["102", "103"]
    suggested = (await api.get("/api/mappings?state=suggested", headers=admin)).json()
    assert suggested == []


async def test_mapping_requests_that_cannot_be_served_say_why(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    assert (await api.get("/api/mappings?state=maybe", headers=admin)).status_code == 400
    assert (await api.get("/api/mappings/404", headers=admin)).status_code == 404
    assert (await api.post("/api/mappings/404/confirm", headers=admin)).status_code == 404
    run = "00000000-0000-0000-0000-000000000000"
    assert (await api.post(f"/api/sync-runs/{run}/confirm-all", headers=admin)).status_code == 404
    assert (await api.get("/api/mappings/unlinked?system=other", headers=admin)).status_code == 422


async def test_mappings_of_one_tenant_are_invisible_to_another(
    api: httpx.AsyncClient, synced: str, console: Console, tenant: str
):
    from tests.integration.console.support import bearer

    other = await bearer(
        console, f"map-{tenant}", "admin", await add_tenant(console.pool, f"{tenant}x")
    )
    headers = {"Authorization": f"Bearer {other}"}

    assert (await api.get("/api/mappings", headers=headers)).json() == []
    assert (await api.get("/api/mappings/unlinked?system=rmm", headers=headers)).json() == []
    assert (await api.post("/api/mappings/102/confirm", headers=headers)).status_code == 404
