"""RMM sandbox tickets v2: create/get/PUT/PATCH, list paging, filters, sorting, notes, lookups."""

from typing import Any

import httpx

TICKETS = "/api/platform/v2/service/ticketing/tickets"
LOOKUPS = "/api/platform/v1/service/ticketing"


async def lookups(rmm: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    found = {}
    for kind in ("service-boards", "sources", "statuses", "priorities", "types"):
        found[kind] = {e["name"]: e for e in (await rmm.get(f"{LOOKUPS}/{kind}")).json()}
    return found


async def new_ticket(rmm: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    known = await lookups(rmm)
    body = {
        "summary": "Printer jammed",
        "description": "Tray 2 jams on every job",
        "serviceBoard": {"id": known["service-boards"]["Help Desk"]["id"]},
        "source": {"id": known["sources"]["Manual"]["id"]},
        **fields,
    }
    response = await rmm.post(TICKETS, json=body)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def test_lookups_include_status_categories_and_severity_priorities(
    rmm: httpx.AsyncClient,
) -> None:
    known = await lookups(rmm)
    categories = {s["category"] for s in known["statuses"].values()}
    assert categories == {"New", "InProgress", "Closed"}
    assert known["statuses"]["Auto Closed"]["category"] == "Closed"
    assert set(known["priorities"]) == {"Critical", "High", "Medium", "Low", "Info"}
    assert "Alert" in known["sources"] and "Incident" in known["types"]


async def test_create_fills_defaults_and_get_returns_it(rmm: httpx.AsyncClient) -> None:
    ticket = await new_ticket(rmm)
    assert (ticket["version"], ticket["status"]["name"]) == (1, "New")
    assert ticket["priority"]["name"] == "Medium"  # the Help Desk board's default
    assert ticket["createdAt"] == ticket["updatedAt"]
    assert (await rmm.get(f"{TICKETS}/{ticket['id']}")).json() == ticket


async def test_create_validates_required_fields_and_references(rmm: httpx.AsyncClient) -> None:
    known = await lookups(rmm)
    board = {"id": known["service-boards"]["Help Desk"]["id"]}
    source = {"id": known["sources"]["Manual"]["id"]}
    base = {"summary": "s", "description": "d", "serviceBoard": board, "source": source}
    inactive = {"id": known["service-boards"]["Projects"]["id"]}
    cases = [
        {k: v for k, v in base.items() if k != "summary"},
        {k: v for k, v in base.items() if k != "source"},
        {**base, "serviceBoard": inactive},
        {**base, "summary": "x" * 256},
        {**base, "status": {"id": "00000000-0000-4000-8000-000000000000"}},
        {**base, "assets": [{"id": "00000000-0000-4000-8000-000000000000"}]},
    ]
    for body in cases:
        response = await rmm.post(TICKETS, json=body)
        assert response.status_code == 400, body
        assert set(response.json()[0]) == {"code", "message"}


async def test_put_and_patch_bump_the_version_and_keep_read_only_fields(
    rmm: httpx.AsyncClient,
) -> None:
    ticket = await new_ticket(rmm)
    url = f"{TICKETS}/{ticket['id']}"
    replaced = (
        await rmm.put(url, json={**ticket, "summary": "Printer fixed", "number": "1"})
    ).json()
    assert (replaced["version"], replaced["summary"], replaced["number"]) == (
        2,
        "Printer fixed",
        ticket["number"],
    )
    closed = (await lookups(rmm))["statuses"]["Closed"]
    patch = [{"op": "replace", "path": "/status", "value": {"id": closed["id"]}}]
    patched = (await rmm.patch(url, json=patch)).json()
    assert (patched["version"], patched["status"]["name"]) == (3, "Closed")
    assert patched["createdAt"] == ticket["createdAt"]


async def test_patch_allows_only_replace_on_writable_fields(rmm: httpx.AsyncClient) -> None:
    ticket = await new_ticket(rmm)
    url = f"{TICKETS}/{ticket['id']}"
    added = await rmm.patch(url, json=[{"op": "add", "path": "/summary", "value": "x"}])
    read_only = await rmm.patch(url, json=[{"op": "replace", "path": "/version", "value": 9}])
    assert (added.status_code, read_only.status_code) == (405, 400)
    assert (await rmm.get(url)).json()["version"] == 1


async def test_paging_needs_both_parameters_and_reports_the_total(rmm: httpx.AsyncClient) -> None:
    for number in range(3):
        await new_ticket(rmm, summary=f"Ticket {number}")
    everything = (await rmm.get(TICKETS)).json()
    total = everything["totalCount"]
    assert total == len(everything["tickets"]) >= 3
    first = (await rmm.get(TICKETS, params={"pageSize": 2, "pageNum": 1})).json()
    assert (len(first["tickets"]), first["totalCount"]) == (2, total)
    past_end = (await rmm.get(TICKETS, params={"pageSize": 2, "pageNum": 99})).json()
    assert past_end == {"tickets": [], "totalCount": 0}  # as the spec documents
    only_size = await rmm.get(TICKETS, params={"pageSize": 2})
    assert only_size.status_code == 400


async def test_filters_group_by_suffix_and_support_not_in(rmm: httpx.AsyncClient) -> None:
    known = await lookups(rmm)
    companies = (await rmm.get("/api/platform/v1/company/companies")).json()
    first, second = companies[0]["id"], companies[1]["id"]
    mine = await new_ticket(rmm, company={"id": first})
    theirs = await new_ticket(rmm, company={"id": second})
    new_status = known["statuses"]["New"]["id"]

    async def ids(**params: str) -> set[str]:
        return {t["id"] for t in (await rmm.get(TICKETS, params=params)).json()["tickets"]}

    assert mine["id"] in await ids(companyIds=first)
    assert theirs["id"] not in await ids(companyIds=first)
    assert mine["id"] not in await ids(companyIds=f"[notIn],{first}")
    assert {mine["id"], theirs["id"]} <= await ids(companyIds=first, companyIds1=second)
    assert mine["id"] not in await ids(companyIds=first, statusIds=f"[notIn],{new_status}")
    assert mine["id"] in await ids(sourceNames="Manual", sourceIds=known["sources"]["Manual"]["id"])
    assert mine["id"] not in await ids(sourceNames="Alert")


async def test_updated_at_window_and_sorting(rmm: httpx.AsyncClient) -> None:
    ticket = await new_ticket(rmm)
    stamp = ticket["updatedAt"]
    assert ticket["id"] in {
        t["id"] for t in (await rmm.get(TICKETS, params={"updatedAtFrom": stamp})).json()["tickets"]
    }
    before = (await rmm.get(TICKETS, params={"updatedAtTo": "2025-06-01"})).json()["tickets"]
    assert ticket["id"] not in {t["id"] for t in before}
    numbers = [
        int(t["number"])
        for t in (await rmm.get(TICKETS, params={"sortBy": "number", "sortDir": "asc"})).json()[
            "tickets"
        ]
    ]
    assert numbers == sorted(numbers)


async def test_notes_are_added_listed_and_count_as_an_update(rmm: httpx.AsyncClient) -> None:
    ticket = await new_ticket(rmm)
    notes = f"/api/platform/v1/service/ticketing/tickets/{ticket['id']}/notes"
    created = await rmm.post(notes, json={"detail": "Called the customer", "visibility": 1})
    assert created.status_code == 201 and created.json()["ticketId"] == ticket["id"]
    assert (await rmm.post(notes, json={"detail": "x", "visibility": 3})).status_code == 400
    listed = (await rmm.get(notes)).json()
    assert [n["detail"] for n in listed] == ["Called the customer"]
    assert (await rmm.get(notes, params={"visibility": "2"})).json() == []
    assert (await rmm.get(f"{TICKETS}/{ticket['id']}")).json()["version"] == 2
