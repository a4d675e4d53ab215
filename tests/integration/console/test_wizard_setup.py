"""Setting a tenant up in the wizard: the first step creates the tenant like the API does
(`TenantCreated`), disabled, so nothing polls it or decides for it until the last step checks
everything and turns it on; a step saved unchanged records nothing; the last step shows
words and names, and the run in progress rather than a start that would be refused; the
tenant picker names the tenant in view."""

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from revsync.eventlog import EventStore
from revsync.tenant_store import TenantCache

from services.console.deps import SESSION_COOKIE, Console
from services.console.pages.wizard import FINISH_LABEL
from services.console.pages.wizard_steps import STEPS, Step
from services.console.sync_runs import start_run
from tests.integration.console.support import HELP_DESK, MANUAL, Accounts, good_settings

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def sign_in(
    api: httpx.AsyncClient, console: Console, username: str, role: str, tenant: str | None
) -> str:
    """Sign `api` in (a session cookie); the CSRF token."""
    await console.users.create(username, "pw", role, tenant)  # type: ignore[arg-type]
    login = await api.post("/login", content=f"username={username}&password=pw", headers=FORM)
    assert login.status_code == 303
    api.cookies.set(SESSION_COOKIE, login.cookies[SESSION_COOKIE])
    page = await api.get("/tenants" if role == "operator" else "/wizard/initial")
    found = re.search(r"name=.csrf_token. value=.([^\"']+)", page.text)
    assert found is not None
    return found.group(1)


def value_of(settings: dict[str, Any], name: str) -> Any:
    if "." in name:
        section, key = name.split(".", 1)
        return settings.get(section, {}).get(key)
    return settings.get(name)


def form_of(step: Step, settings: dict[str, Any], csrf: str) -> str:
    """The step's form filled in with `settings` (a settings document), as a browser sends it."""
    pairs: list[tuple[str, str]] = [("csrf_token", csrf)]
    for spec in step.specs:
        value = value_of(settings, spec.name)
        if spec.kind == "checkbox":
            pairs += [(spec.name, "on")] if value else []
        elif spec.kind == "multi":
            pairs += [(spec.name, v) for v in value or []]
        else:
            pairs.append((spec.name, "" if value is None else str(value)))
    return urlencode(pairs)


async def save_step(api: httpx.AsyncClient, step: Step, settings: dict[str, Any], csrf: str) -> str:
    """Save a step; where it sends the browser next."""
    answer = await api.post(
        f"/wizard/{step.slug}", content=form_of(step, settings, csrf), headers=FORM
    )
    assert answer.status_code == 303, answer.text[:2000]
    return answer.headers["location"]


@pytest.fixture
async def signed_in(api: httpx.AsyncClient, console: Console, tenant: str) -> str:
    return await sign_in(api, console, f"page-{tenant}", "admin", tenant)


async def test_a_tenant_the_wizard_creates_is_served_only_once_its_setup_is_finished(
    api: httpx.AsyncClient, console: Console, accounts: Accounts
):
    t, operator = accounts.tenant, f"op-{accounts.tenant}"
    csrf = await sign_in(api, console, operator, "operator", None)
    chosen = await api.post(
        "/tenants/select", content=f"csrf_token={csrf}&tenant={t}", headers=FORM
    )
    assert chosen.headers["location"] == "/wizard/initial"
    settings = good_settings(accounts)
    cache = TenantCache(console.tenants, ttl_s=0)
    store = EventStore(console.pool)

    assert await save_step(api, STEPS[0], settings, csrf) == "/wizard/rmm?saved=created"

    lifecycle = await store.read_stream(t, "tenant")
    assert [(e.type, e.data, e.metadata["actor"]) for e in lifecycle] == [
        ("TenantCreated", {"name": f"MSP {t}", "enabled": False}, operator)
    ]
    assert t not in await console.tenants.list_ids(enabled_only=True)  # no connector polls it
    assert await cache.settings_for(t) is None  # no service decides for it
    half_done = await api.get("/wizard/finish")
    assert 'id="finish-waiting"' in half_done.text and 'id="finish-problems"' in half_done.text
    assert FINISH_LABEL not in half_done.text
    refused = await api.post("/wizard/finish", content=f"csrf_token={csrf}", headers=FORM)
    assert refused.status_code == 422 and 'id="finish-problems"' in refused.text
    assert await cache.settings_for(t) is None

    for step in STEPS[1:-1]:
        await save_step(api, step, settings, csrf)
    assert await cache.settings_for(t) is None  # every step saved: still not Finish
    ready = await api.get("/wizard/finish")
    assert 'id="finish-ok"' in ready.text and FINISH_LABEL in ready.text

    finished = await api.post("/wizard/finish", content=f"csrf_token={csrf}", headers=FORM)

    assert finished.status_code == 303 and finished.headers["location"].startswith("/sync/")
    assert await cache.settings_for(t) is not None
    lifecycle = await store.read_stream(t, "tenant")
    assert [(e.type, e.metadata["actor"]) for e in lifecycle] == [
        ("TenantCreated", operator),
        ("TenantEnabled", operator),
    ]
    runs = await console.pool.fetchval("SELECT count(*) FROM sync_runs WHERE tenant_id = $1", t)
    assert runs == 1


async def test_a_tenant_an_operator_disabled_is_not_turned_on_by_the_wizard(
    api: httpx.AsyncClient, console: Console, configured: Accounts, signed_in: str
):
    await console.tenants.set_enabled(configured.tenant, False, "an-operator")

    finish = await api.get("/wizard/finish")
    refused = await api.post("/wizard/finish", content=f"csrf_token={signed_in}", headers=FORM)

    assert 'id="finish-disabled"' in finish.text and FINISH_LABEL not in finish.text
    assert refused.status_code == 409
    tenant = await console.tenants.load(configured.tenant, with_secrets=False)
    assert tenant is not None and not tenant.enabled


async def test_clicking_through_the_wizard_unchanged_records_nothing(
    api: httpx.AsyncClient,
    console: Console,
    admin: dict[str, str],
    configured: Accounts,
    signed_in: str,
):
    store = EventStore(console.pool)
    before = await store.read_stream(configured.tenant, "settings")
    stored = (await api.get("/api/settings", headers=admin)).json()

    went = [await save_step(api, step, stored, signed_in) for step in STEPS[:-1]]

    assert all(place.endswith("?saved=unchanged") for place in went), went
    assert len(await store.read_stream(configured.tenant, "settings")) == len(before)
    assert "Nothing to save: nothing changed." in (await api.get(went[0])).text


async def test_the_finish_step_shows_words_and_names_and_the_run_in_progress(
    api: httpx.AsyncClient, console: Console, configured: Accounts, signed_in: str
):
    finish = (await api.get("/wizard/finish")).text

    assert "<td>Help Desk</td>" in finish and "<td>Manual</td>" in finish
    assert HELP_DESK not in finish and MANUAL not in finish
    assert "<td>True</td>" not in finish and "<td>False</td>" not in finish
    assert "<td>on</td>" in finish and "<td>off</td>" in finish
    assert "Start the initial sync" in finish

    run_id = await start_run(console.pool, configured.tenant, "someone")
    running = (await api.get("/wizard/finish")).text

    assert f'href="/sync/{run_id}"' in running and 'id="finish-running"' in running
    assert "Start the initial sync" not in running


async def test_the_tenant_picker_names_the_tenant_in_view(
    api: httpx.AsyncClient, console: Console, configured: Accounts
):
    await sign_in(api, console, f"op-{configured.tenant}", "operator", None)

    picker = await api.get("/tenants", params={"tenant": configured.tenant})

    assert f"<b id='tenant'>{configured.tenant}</b>" in picker.text
