"""A settings save says what it changed; a save that changes nothing (the same value, the same
document again, the same secret again) records nothing; and a tenant first saved through
`/api/settings` is created like any other tenant (`TenantCreated`)."""

import httpx
from revsync.eventlog import EventStore
from revsync.projection import apply_all
from revsync.tenant_store import LIFECYCLE_STREAM, SETTINGS_STREAM, TENANTS

from services.console.deps import Console
from tests.integration.console.support import Accounts, good_settings


async def test_a_save_that_changes_nothing_records_nothing_and_says_so(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    store = EventStore(console.pool)
    before = await store.read_stream(configured.tenant, "settings")
    stored = (await api.get("/api/settings", headers=admin)).json()

    answers = [
        await api.patch("/api/settings", json={"min_alert_severity": "High"}, headers=admin),
        await api.put(  # the same document, secrets included
            "/api/settings", json={**good_settings(configured), "create_mode": False}, headers=admin
        ),
        await api.put("/api/settings", json=stored, headers=admin),  # a GET echoed back
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["changed"] == []
    assert len(await store.read_stream(configured.tenant, "settings")) == len(before)


async def test_a_save_says_which_settings_and_secrets_it_changed(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    answer = await api.patch(
        "/api/settings",
        json={"min_alert_severity": "Critical", "revio": {"password": configured.revio_password}},
        headers=admin,
    )
    new_secret = await api.patch(
        "/api/settings", json={"rmm": {"client_secret": configured.client_secret}}, headers=admin
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == ["min_alert_severity"]  # the same password: no change
    assert answer.json()["min_alert_severity"] == "Critical"
    assert new_secret.json()["changed"] == []
    last = (await EventStore(console.pool).read_stream(configured.tenant, "settings"))[-1]
    assert last.data["config"]["settings"]["min_alert_severity"] == "Critical"
    assert last.data["secrets_changed"] == []


async def test_a_tenant_first_saved_through_the_settings_api_is_created_and_served(
    api: httpx.AsyncClient, admin: dict[str, str], accounts: Accounts, console: Console
):
    answer = await api.put("/api/settings", json=good_settings(accounts), headers=admin)

    assert answer.status_code == 200, answer.text
    assert "min_alert_severity" in answer.json()["changed"]
    lifecycle = await EventStore(console.pool).read_stream(accounts.tenant, "tenant")
    assert [(e.type, e.data, e.metadata["actor"]) for e in lifecycle] == [
        ("TenantCreated", {"name": f"MSP {accounts.tenant}", "enabled": True}, admin_of(accounts))
    ]
    assert accounts.tenant in await console.tenants.list_ids(enabled_only=True)


def admin_of(accounts: Accounts) -> str:
    return f"admin-{accounts.tenant}"


async def test_the_audit_trail_says_which_settings_changed_old_to_new(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    await api.patch(
        "/api/settings",
        json={"min_alert_severity": "Critical", "sync_manual_tickets": False},
        headers=admin,
    )

    last = (await EventStore(console.pool).read_stream(configured.tenant, "settings"))[-1]
    assert last.data["changes"] == [
        {"field": "min_alert_severity", "old": "High", "new": "Critical"},
        {"field": "sync_manual_tickets", "old": True, "new": False},
    ]
    audit = await api.get("/api/audit", params={"entity": "settings"}, headers=admin)
    assert audit.json()[0]["words"] == (
        "Settings saved: minimum alert severity High -> Critical, sync manual tickets on -> off"
    )
    first = (await EventStore(console.pool).read_stream(configured.tenant, "settings"))[0]
    assert "changes" not in first.data  # the first save: `config` says it all


async def test_the_tenants_row_the_store_writes_is_the_row_a_replay_folds_from_its_events(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    tenant = configured.tenant
    await api.patch("/api/settings", json={"min_alert_severity": "Critical"}, headers=admin)
    await console.tenants.set_enabled(tenant, False, "op")
    await console.tenants.set_enabled(tenant, True, "op")
    written = await console.pool.fetchrow("SELECT * FROM tenants WHERE tenant_id = $1", tenant)
    store = EventStore(console.pool)
    events = [
        *await store.read_stream(tenant, SETTINGS_STREAM),
        *await store.read_stream(tenant, LIFECYCLE_STREAM),
    ]
    events.sort(key=lambda event: event.global_position)

    async with console.pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", tenant)
        await apply_all(conn, [TENANTS], events)  # what `revsync replay` folds
        rebuilt = await conn.fetchrow("SELECT * FROM tenants WHERE tenant_id = $1", tenant)

    assert [e.type for e in events][-2:] == ["TenantDisabled", "TenantEnabled"]
    assert written is not None and rebuilt is not None
    assert dict(rebuilt) == dict(written)  # updated_at included: the last event's time
    assert written["updated_at"] == events[-1].recorded_at
