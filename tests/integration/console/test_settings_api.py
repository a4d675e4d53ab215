"""`/api/settings`: saved only when the live systems agree, one error per field, and the
secrets never in a response, a log line or the event log."""

import logging

import httpx
import pytest
from revsync.eventlog import EventStore

from services.console.deps import Console
from services.sandbox.cwrmm.ids import stable_id
from tests.integration.console.support import (
    HELP_DESK,
    MANUAL,
    PROJECTS,
    Accounts,
    RoutingTransport,
    good_settings,
)


def errors_of(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    found = answer.json()["errors"]
    fields = [e["field"] for e in found]
    assert len(fields) == len(set(fields)), "one error per field"
    return {e["field"]: e["message"] for e in found}


async def test_saved_settings_are_returned_without_any_secret(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    answer = await api.get("/api/settings", headers=admin)

    assert answer.status_code == 200
    doc = answer.json()
    assert doc["tenant"] == configured.tenant
    assert doc["default_service_board"] == HELP_DESK
    assert doc["rmm"]["client_secret_set"] is True
    assert doc["revio"]["password_set"] is True
    assert doc["revio"]["subscription_key_set"] is False
    assert "client_secret" not in doc["rmm"] and "password" not in doc["revio"]
    assert configured.client_secret not in answer.text
    assert configured.revio_password not in answer.text


async def test_secrets_never_reach_responses_logs_or_the_event_log(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    accounts: Accounts,
    console: Console,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    body = good_settings(accounts)
    answers = [await api.put("/api/settings", json=body, headers=admin)]
    wrong = {**body, "bill_profile": "4", "rmm": {**body["rmm"], "client_secret": "Wrong-1"}}
    answers.append(await api.put("/api/settings", json=wrong, headers=admin))
    answers.append(await api.patch("/api/settings", json={"revio": {"password": 5}}, headers=admin))
    answers.append(await api.get("/api/settings", headers=admin))
    answers.append(await api.get("/api/settings/lookups", headers=admin))
    answers.append(await api.get("/api/audit", headers=admin))

    events = await EventStore(console.pool).read_stream(accounts.tenant, "settings")
    stored = await console.pool.fetch(
        "SELECT config::text AS c FROM tenants WHERE tenant_id = $1", accounts.tenant
    )
    printed = capsys.readouterr()
    places = {
        "responses": " ".join(a.text for a in answers),
        "event log": " ".join(f"{e.data} {e.metadata}" for e in events),
        "tenants projection": " ".join(r["c"] for r in stored),
        "logs": printed.out + printed.err + caplog.text,
    }
    for secret in (accounts.client_secret, accounts.revio_password, "Wrong-1"):
        for place, text in places.items():
            assert secret not in text, f"a secret reached the {place}"
    assert events[-1].data["secrets_changed"] == ["revio.password", "rmm.client_secret"]
    assert "settings saved" in places["logs"]


async def test_a_secret_is_stored_encrypted_and_kept_when_an_update_omits_it(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    answer = await api.patch("/api/settings", json={"min_alert_severity": "Low"}, headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json()["min_alert_severity"] == "Low"
    rows = await console.pool.fetch(
        "SELECT name, ciphertext FROM tenant_secrets WHERE tenant_id = $1", configured.tenant
    )
    assert {r["name"] for r in rows} == {"rmm.client_secret", "revio.password"}
    assert all(configured.client_secret.encode() not in bytes(r["ciphertext"]) for r in rows)
    last = (await EventStore(console.pool).read_stream(configured.tenant, "settings"))[-1]
    assert last.data["secrets_changed"] == []
    assert last.metadata["actor"] == f"admin-{configured.tenant}"
    tenant = await console.tenants.load(configured.tenant)
    assert tenant is not None and tenant.rmm.client_secret is not None
    assert tenant.rmm.client_secret.get_secret_value() == configured.client_secret


def _with(body: dict, **changes) -> dict:
    return {**body, **changes}


BAD_VALUES = [
    pytest.param(
        lambda b: _with(b, rmm={**b["rmm"], "client_secret": "nope"}),
        "rmm.client_secret",
        "refused these credentials",
        id="rmm-credentials",
    ),
    pytest.param(
        lambda b: _with(b, revio={**b["revio"], "password": "nope"}),
        "revio.password",
        "refused these credentials",
        id="revio-credentials",
    ),
    pytest.param(
        lambda b: _with(b, rmm={**b["rmm"], "base_url": "http://nowhere.test"}),
        "rmm.base_url",
        "could not reach ConnectWise RMM",
        id="rmm-unreachable",
    ),
    pytest.param(
        lambda b: _with(b, rmm={**b["rmm"], "base_url": "http://[::1"}),
        "rmm.base_url",
        "not a valid URL: Invalid port",
        id="rmm-malformed-url",
    ),
    pytest.param(
        lambda b: _with(b, revio={**b["revio"], "base_url": "http://[::1"}),
        "revio.base_url",
        "not a valid URL: Invalid port",
        id="revio-malformed-url",
    ),
    pytest.param(
        lambda b: _with(b, revio={**b["revio"], "base_url": "not a url"}),
        "revio.base_url",
        "not a valid URL: expected http(s)://",
        id="revio-not-a-url",
    ),
    pytest.param(
        lambda b: _with(b, revio={**b["revio"], "username": "me@acme"}),
        "revio.username",
        "must not contain '@'",
        id="revio-username-with-at",
    ),
    pytest.param(
        lambda b: _with(b, endpoint_categories=["platform", "mobile"]),
        "endpoint_categories",
        "unknown categories ['mobile']",
        id="unknown-category",
    ),
    pytest.param(
        lambda b: _with(b, bill_profile="4"), "bill_profile", "inactive", id="inactive-profile"
    ),
    pytest.param(
        lambda b: _with(b, bill_profile="999"),
        "bill_profile",
        "no bill profile '999'",
        id="unknown-profile",
    ),
    pytest.param(
        lambda b: _with(b, alert_ticket_type="Pager"),
        "alert_ticket_type",
        "no ticket type 'Pager'",
        id="unknown-ticket-type",
    ),
    pytest.param(
        lambda b: _with(b, alert_ticket_type=None),
        "alert_ticket_type",
        "required when alert sync is on",
        id="missing-ticket-type",
    ),
    pytest.param(
        lambda b: _with(b, default_service_board="no-such-board"),
        "default_service_board",
        "no service board 'no-such-board'",
        id="unknown-board",
    ),
    pytest.param(
        lambda b: _with(b, default_service_board=PROJECTS),
        "default_service_board",
        "inactive",
        id="inactive-board",
    ),
    pytest.param(
        lambda b: _with(b, default_ticket_source="no-such-source"),
        "default_ticket_source",
        "no ticket source 'no-such-source'",
        id="unknown-source",
    ),
    pytest.param(
        lambda b: _with(b, default_ticket_source=stable_id("source", "Alert")),
        "default_ticket_source",
        "is the source of RMM alert tickets",
        id="alert-source",
    ),
    pytest.param(
        lambda b: _with(b, default_ticket_source=None),
        "default_ticket_source",
        "required when revio_to_rmm_tickets is on",
        id="missing-source",
    ),
    pytest.param(
        lambda b: _with(b, min_alert_severity="Urgent"),
        "min_alert_severity",
        "unknown severity 'Urgent'",
        id="unknown-severity",
    ),
    pytest.param(
        lambda b: _with(b, endpoint_categories=[]),
        "endpoint_categories",
        "required when asset sync is on",
        id="asset-sync-without-categories",
    ),
    pytest.param(
        lambda b: _with(b, asset_type="Spaceship"),
        "asset_type",
        "no inventory type 'Spaceship'",
        id="unknown-asset-type",
    ),
    pytest.param(
        lambda b: _with(b, customer_identity="ALIEN"),
        "customer_identity",
        "unknown Rev.io customer class",
        id="unknown-identity",
    ),
    pytest.param(
        lambda b: _with(b, colour="blue"), "colour", "unknown setting", id="unknown-setting"
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_VALUES)
async def test_a_bad_value_is_refused_with_its_field_and_nothing_changes(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    console: Console,
    change,
    field: str,
    message: str,
):
    before = (await api.get("/api/settings", headers=admin)).json()
    version = await EventStore(console.pool).stream_version(configured.tenant, "settings")

    answer = await api.put("/api/settings", json=change(good_settings(configured)), headers=admin)

    errors = errors_of(answer)
    assert field in errors, errors
    assert message in errors[field]
    assert (await api.get("/api/settings", headers=admin)).json() == before
    assert await EventStore(console.pool).stream_version(configured.tenant, "settings") == version


async def test_auto_close_needs_the_auto_closed_status_in_revio(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    accounts: Accounts,
    sandboxes: RoutingTransport,
):
    async with httpx.AsyncClient(transport=sandboxes) as client:
        statuses = await client.get(
            "http://revio.test/v1/TicketStatuses?search.name=auto-closed",
            auth=(f"integration@{accounts.client_code}", accounts.revio_password),
        )
        status_id = statuses.json()["records"][0]["ticket_status_id"]
        removed = await client.delete(
            f"http://revio.test/_sandbox/revio/accounts/{accounts.client_code}"
            f"/TicketStatuses/{status_id}"
        )
        assert removed.status_code in (200, 204), removed.text

    answer = await api.put("/api/settings", json=good_settings(accounts), headers=admin)
    errors = errors_of(answer)
    assert errors == {
        "auto_close_on_alert_clear": errors["auto_close_on_alert_clear"],
    }
    assert "auto-closed" in errors["auto_close_on_alert_clear"]

    allowed = {**good_settings(accounts), "auto_close_on_alert_clear": False}
    assert (await api.put("/api/settings", json=allowed, headers=admin)).status_code == 200


async def test_a_revio_user_without_permission_is_told_which_list_it_cannot_read(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    accounts: Accounts,
    sandboxes: RoutingTransport,
):
    async with httpx.AsyncClient(transport=sandboxes) as client:
        answer = await client.put(
            f"http://revio.test/_sandbox/revio/accounts/{accounts.client_code}/permissions",
            json={"permissions": ["TicketTypes:read", "TicketStatuses:read"]},
        )
        assert answer.status_code == 200, answer.text

    errors = errors_of(await api.put("/api/settings", json=good_settings(accounts), headers=admin))
    assert "revio.password" in errors
    assert "BillProfiles" in errors["revio.password"]


async def test_several_bad_values_give_one_error_each(
    api: httpx.AsyncClient, admin: dict[str, str], accounts: Accounts
):
    body = {
        **good_settings(accounts),
        "bill_profile": "4",
        "alert_ticket_type": "Pager",
        "default_service_board": "x",
    }
    errors = errors_of(await api.put("/api/settings", json=body, headers=admin))
    assert set(errors) == {"bill_profile", "alert_ticket_type", "default_service_board"}


async def test_patch_changes_only_what_it_names(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    answer = await api.patch(
        "/api/settings", json={"endpoint_categories": ["cloud"]}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["endpoint_categories"] == ["cloud"]
    assert doc["default_ticket_source"] == MANUAL
    assert doc["rmm"]["client_id"] == configured.client_id


async def test_put_without_a_setting_gives_it_its_default(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    body = good_settings(configured)
    del body["rmm"]["client_secret"], body["revio"]["password"], body["create_mode"]
    answer = await api.put("/api/settings", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["create_mode"] is False
    assert answer.json()["rmm"]["client_secret_set"] is True


async def test_a_malformed_body_is_refused_without_echoing_it(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    answer = await api.put(
        "/api/settings",
        content=b'{"rmm": {"client_secret": "Leak-42"',
        headers={**admin, "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert "Leak-42" not in answer.text
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "message": "the body is not valid JSON: Expecting ',' delimiter at line 1, column 36",
        }
    ]


async def test_a_body_that_is_not_json_says_so_and_where(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    answer = await api.patch(
        "/api/settings",
        content=b'{\n  "min_alert_severity": "Low",\n}',
        headers={**admin, "content-type": "application/json"},
    )

    assert errors_of(answer) == {
        "body": "the body is not valid JSON: Expecting property name enclosed in double quotes"
        " at line 3, column 1"
    }


async def test_asset_sync_cannot_stay_on_without_endpoint_categories(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    version = await EventStore(console.pool).stream_version(configured.tenant, "settings")

    refused = await api.patch("/api/settings", json={"endpoint_categories": []}, headers=admin)

    assert errors_of(refused) == {
        "endpoint_categories": "required when asset sync is on: choose at least one of"
        " ['platform', 'network', 'cloud'] (or turn asset sync off)"
    }
    assert await EventStore(console.pool).stream_version(configured.tenant, "settings") == version
    off = {"asset_sync_enabled": False, "endpoint_categories": []}
    allowed = await api.patch("/api/settings", json=off, headers=admin)
    assert allowed.status_code == 200, allowed.text
    assert (allowed.json()["asset_sync_enabled"], allowed.json()["endpoint_categories"]) == (
        False,
        [],
    )


async def test_a_severity_or_category_in_another_case_is_stored_as_spelled(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    body = {"min_alert_severity": "low", "endpoint_categories": ["Cloud", "PLATFORM"]}

    answer = await api.patch("/api/settings", json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert (saved["min_alert_severity"], saved["endpoint_categories"]) == (
        "Low",
        ["cloud", "platform"],
    )
    again = await api.patch("/api/settings", json={"min_alert_severity": "LOW"}, headers=admin)
    assert again.status_code == 200 and again.json()["changed"] == []


async def test_lookups_list_what_the_systems_hold(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts
):
    answer = await api.get("/api/settings/lookups", headers=admin)

    assert answer.status_code == 200
    found = answer.json()
    assert {"id": "4", "name": "Legacy 2019", "active": False} in found["revio"]["bill_profiles"]
    assert "RMM Alert" in {t["name"] for t in found["revio"]["ticket_types"]}
    assert HELP_DESK in {b["id"] for b in found["rmm"]["boards"]}
    assert MANUAL in {s["id"] for s in found["rmm"]["sources"]}
    assert found["severities"][0] == "Critical"


async def test_check_reports_what_is_wrong_with_the_stored_settings(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    sandboxes: RoutingTransport,
):
    assert (await api.get("/api/settings/check", headers=admin)).json() == {
        "ok": True,
        "errors": [],
    }
    async with httpx.AsyncClient(transport=sandboxes) as client:
        await client.post(
            "http://rmm.test/_sandbox/accounts",
            json={"client_id": configured.client_id, "client_secret": "rotated"},
        )
    found = (await api.get("/api/settings/check", headers=admin)).json()
    assert found["ok"] is False
    assert [e["field"] for e in found["errors"]] == ["rmm.client_secret"]


async def test_a_new_tenant_needs_a_name(
    api: httpx.AsyncClient, admin: dict[str, str], accounts: Accounts
):
    body = good_settings(accounts)
    del body["name"]
    assert "name" in errors_of(await api.put("/api/settings", json=body, headers=admin))
    assert (await api.get("/api/settings", headers=admin)).status_code == 404
