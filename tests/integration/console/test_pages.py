"""The server-rendered pages without a browser: each renders for a signed-in user, the
wizard's dropdowns hold what the systems hold, and a refused step shows its errors next to
the fields and saves nothing (the browser tests walk the same pages in Chromium)."""

import re

import httpx
import pytest

from services.console.deps import SESSION_COOKIE, Console
from tests.integration.console.support import HELP_DESK, Accounts

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def signed_in(api: httpx.AsyncClient, console: Console, tenant: str) -> str:
    """Sign `api` in as an admin of `tenant` (a session cookie); the CSRF token."""
    await console.users.create(f"page-{tenant}", "pw", "admin", tenant)
    login = await api.post("/login", content=f"username=page-{tenant}&password=pw", headers=FORM)
    assert login.status_code == 303
    api.cookies.set(SESSION_COOKIE, login.cookies[SESSION_COOKIE])
    page = await api.get("/wizard/initial")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_every_page_renders_for_a_configured_tenant(
    api: httpx.AsyncClient, configured: Accounts, signed_in: str
):
    for path in (
        "/wizard/initial",
        "/wizard/rmm",
        "/wizard/sync",
        "/wizard/assets",
        "/wizard/tickets",
        "/wizard/finish",
        "/sync",
        "/mappings",
        "/mappings?state=held",
        "/mappings/link?revio=104&q=init",
        "/audit",
        "/health",
    ):
        answer = await api.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert configured.client_secret not in answer.text
        assert configured.revio_password not in answer.text
    home = await api.get("/")
    assert home.headers["location"] == "/sync"


async def test_the_wizard_offers_what_the_systems_hold(
    api: httpx.AsyncClient, configured: Accounts, signed_in: str
):
    tickets = (await api.get("/wizard/tickets")).text
    sync = (await api.get("/wizard/sync")).text

    assert f'<option value="{HELP_DESK}" selected>Help Desk' in tickets
    assert '<option value="RMM Alert" selected>RMM Alert</option>' in tickets
    assert "Legacy 2019 (4) - inactive" in sync
    assert "Everything checks out" in (await api.get("/wizard/finish")).text


async def test_a_refused_wizard_step_shows_the_error_by_its_field_and_saves_nothing(
    api: httpx.AsyncClient, configured: Accounts, signed_in: str, console: Console
):
    before = await console.tenants.load(configured.tenant)
    body = (
        f"csrf_token={signed_in}&rmm.region=NA&rmm.base_url=http%3A%2F%2Frmm.test"
        f"&rmm.client_id={configured.client_id}&rmm.client_secret=wrong-secret"
    )

    refused = await api.post("/wizard/rmm", content=body, headers=FORM)

    assert refused.status_code == 422
    assert 'id="error-rmm.client_secret"' in refused.text
    assert "refused these credentials" in refused.text
    assert "wrong-secret" not in refused.text
    assert await console.tenants.load(configured.tenant) == before


async def test_a_wizard_step_without_the_csrf_token_is_forbidden(
    api: httpx.AsyncClient, configured: Accounts, signed_in: str
):
    answer = await api.post("/wizard/sync", content="create_mode=on", headers=FORM)
    assert answer.status_code == 403


async def test_a_new_tenant_starts_at_the_first_step(api: httpx.AsyncClient, signed_in: str):
    home = await api.get("/")
    assert home.headers["location"] == "/wizard/initial"
    finish = await api.get("/wizard/finish")
    assert finish.status_code == 303 and finish.headers["location"] == "/wizard/initial"
