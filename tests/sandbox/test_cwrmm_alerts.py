"""The alert model: integrator alerts on (endpoint, condition) become RMM tickets; a repeat
updates the open ticket; a clear closes it with a `Closed`-category status."""

from typing import Any

import httpx

ALERTS = "/v2/alerts"
TICKETS = "/api/platform/v2/service/ticketing/tickets"


async def alert_item(rmm: httpx.AsyncClient, **details: str) -> dict[str, Any]:
    listing = await rmm.post(
        "/api/platform/v2/device/categories/platform/endpoints",
        json={"resourceType": "company", "resources": []},
    )
    group = listing.json()["platform"][0]
    return {
        "company_id": group["companyID"],
        "site_id": group["siteID"],
        "endpoint_id": group["endpoints"][0]["endpointID"],
        "condition_id": "disk-c-below-5-percent",
        "alertDetails": {"severity": "High", "summary": "Disk C: below 5%", **details},
    }


async def test_raising_an_alert_opens_an_alert_ticket(rmm: httpx.AsyncClient) -> None:
    item = await alert_item(rmm, description="1.2 GB free")
    raised = await rmm.post(ALERTS, json=[item])
    result = raised.json()[0]
    assert (raised.status_code, result["ticketAction"], result["state"]) == (
        200,
        "created",
        "raised",
    )
    ticket = (await rmm.get(f"{TICKETS}/{result['ticketId']}")).json()
    assert (ticket["source"]["name"], ticket["priority"]["name"]) == ("Alert", "High")
    assert (ticket["status"]["name"], ticket["description"]) == ("New", "1.2 GB free")
    assert ticket["assets"] == [{"id": item["endpoint_id"]}]
    assert ticket["company"] == {"id": item["company_id"]}
    attributes = {a["name"]: a["value"] for a in ticket["extendedAttributes"]}
    assert attributes == {"alertId": result["alertId"], "conditionId": item["condition_id"]}


async def test_raising_the_same_alert_again_updates_its_open_ticket(
    rmm: httpx.AsyncClient,
) -> None:
    item = await alert_item(rmm)
    first = (await rmm.post(ALERTS, json=[item])).json()[0]
    worse = {**item, "alertDetails": {"severity": "critical", "summary": "Disk C: full"}}
    again = (await rmm.post(ALERTS, json=[worse])).json()[0]
    assert (again["ticketId"], again["alertId"], again["ticketAction"]) == (
        first["ticketId"],
        first["alertId"],
        "updated",
    )
    ticket = (await rmm.get(f"{TICKETS}/{first['ticketId']}")).json()
    assert (ticket["version"], ticket["priority"]["name"]) == (2, "Critical")
    alert_tickets = await rmm.get(TICKETS, params={"sourceNames": "Alert", "summary": "Disk C"})
    assert alert_tickets.json()["totalCount"] == 1


async def test_clearing_closes_the_ticket_and_a_new_raise_opens_another(
    rmm: httpx.AsyncClient,
) -> None:
    item = await alert_item(rmm)
    first = (await rmm.post(ALERTS, json=[item])).json()[0]
    cleared = (await rmm.request("DELETE", ALERTS, json=[item])).json()[0]
    assert (cleared["state"], cleared["ticketId"]) == ("cleared", first["ticketId"])
    ticket = (await rmm.get(f"{TICKETS}/{first['ticketId']}")).json()
    statuses = (await rmm.get("/api/platform/v1/service/ticketing/statuses")).json()
    category = {s["id"]: s["category"] for s in statuses}[ticket["status"]["id"]]
    assert (ticket["status"]["name"], category) == ("Auto Closed", "Closed")
    again = (await rmm.post(ALERTS, json=[item])).json()[0]
    assert again["ticketAction"] == "created" and again["ticketId"] != first["ticketId"]
    unknown = (await rmm.request("DELETE", ALERTS, json=[{**item, "condition_id": "x"}])).json()
    assert unknown[0]["state"] == "not_found"


async def test_put_raises_or_clears_per_item(rmm: httpx.AsyncClient) -> None:
    item = await alert_item(rmm)
    raised = (await rmm.put(ALERTS, json=[item])).json()[0]
    cleared = (await rmm.put(ALERTS, json=[{**item, "state": "cleared"}])).json()[0]
    assert (raised["state"], cleared["state"]) == ("raised", "cleared")


async def test_a_batch_with_a_bad_item_changes_nothing(rmm: httpx.AsyncClient) -> None:
    item = await alert_item(rmm)
    before = (await rmm.get(TICKETS)).json()["totalCount"]
    wrong_site = {**item, "condition_id": "other", "site_id": "elsewhere"}
    bad_severity = {**item, "alertDetails": {"severity": "Urgent", "summary": "x"}}
    for batch in ([item, wrong_site], [item, bad_severity], [], [{"endpoint_id": 1}]):
        response = await rmm.post(ALERTS, json=batch)
        assert response.status_code == 400, batch
    assert (await rmm.get(TICKETS)).json()["totalCount"] == before


async def test_seeded_open_alert_tickets_are_updated_by_a_repeat(rmm: httpx.AsyncClient) -> None:
    seeded = (await rmm.get(TICKETS, params={"sourceNames": "Alert"})).json()["tickets"]
    statuses = (await rmm.get("/api/platform/v1/service/ticketing/statuses")).json()
    closed = {s["id"] for s in statuses if s["category"] == "Closed"}
    ticket = next(t for t in seeded if t["status"]["id"] not in closed)
    attributes = {a["name"]: a["value"] for a in ticket["extendedAttributes"]}
    endpoint = ticket["assets"][0]["id"]
    item = {
        "company_id": ticket["company"]["id"],
        "site_id": ticket["site"]["id"],
        "endpoint_id": endpoint,
        "condition_id": attributes["conditionId"],
        "alertDetails": {"severity": "Low", "summary": "Still happening"},
    }
    repeat = (await rmm.post(ALERTS, json=[item])).json()[0]
    assert (repeat["ticketId"], repeat["ticketAction"]) == (ticket["id"], "updated")
