"""The server-rendered pages without a browser: each renders for a signed-in user, the
wizard's dropdowns hold what the systems hold, and a refused step shows its errors next to
the fields and saves nothing (the browser tests walk the same pages in Chromium)."""

import re
from html import escape
from urllib.parse import urlencode

import httpx
import pytest

from services.console.deps import SESSION_COOKIE, Console
from tests.integration.console.support import HELP_DESK, Accounts
from tests.integration.console.test_mappings_api import synced  # noqa: F401  (a fixture)
from tests.integration.console.test_wizard_setup import sign_in

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


@pytest.mark.usefixtures("synced")
async def test_an_unlinked_rmm_company_is_found_and_linked_from_the_mappings_page(
    api: httpx.AsyncClient, signed_in: str, console: Console, tenant: str
):
    listed = await api.get("/mappings?side=rmm")
    assert listed.status_code == 200
    assert '<option value="rmm" selected>RMM companies</option>' in listed.text
    assert '<li class="unmatched" data-side="rmm" data-id="c5">Vandelay Imports' in listed.text
    assert "/mappings/link?rmm=c5&amp;q=Vandelay+Imports" in listed.text

    chooser = await api.get("/mappings/link?rmm=c5&q=soylent")
    assert chooser.status_code == 200
    assert '<b id="fixed-name">Vandelay Imports</b>' in chooser.text.replace("'", '"')
    assert "Search unlinked Rev.io customers" in chooser.text
    assert "/mappings/link/confirm?rmm=c5&amp;revio=105" in chooser.text
    confirm = await api.get("/mappings/link/confirm?rmm=c5&revio=105")
    assert confirm.status_code == 200 and "Soylent Foods" in confirm.text
    body = f"csrf_token={signed_in}&revio_customer_id=105&rmm_company_id=c5"
    linked = await api.post("/mappings/link", content=body, headers=FORM)

    assert linked.status_code == 303
    mapping = await console.mappings.get(tenant, "105")
    assert mapping is not None and (mapping.state, mapping.rmm_company_id) == ("linked", "c5")
    customers = (await api.get("/mappings/link?revio=104")).text
    assert "Search unlinked RMM companies" in customers and "companys" not in customers


@pytest.mark.usefixtures("synced")
async def test_mapping_by_hand_says_up_front_that_a_record_is_not_known(
    api: httpx.AsyncClient, signed_in: str
):
    await html_errors(
        api,
        {404},
        ("/mappings/link?revio=999999", "Rev.io customer 999999 is not known"),
        ("/mappings/link?rmm=abc", "RMM company abc is not known"),
        ("/mappings/link/confirm?revio=999999&rmm=c5", "Rev.io customer 999999 is not known"),
        ("/mappings/link/confirm?revio=105&rmm=abc", "RMM company abc is not known"),
    )


async def html_errors(api: httpx.AsyncClient, statuses: set[int], *cases: tuple[str, str]):
    """Each (path, words): an HTML page of one of `statuses` that says the words."""
    for path, said in cases:
        answer = await api.get(path)
        assert answer.status_code in statuses, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert said in answer.text, path


@pytest.mark.usefixtures("configured")
async def test_a_page_answers_input_it_cannot_take_with_a_page_and_the_api_with_json(
    api: httpx.AsyncClient, signed_in: str
):
    await html_errors(
        api,
        {400, 422},
        ("/sync/nope", "run_id: Input should be a valid UUID"),
        ("/mappings?run=nope", "run: Input should be a valid UUID"),
        ("/audit?before=soon", "before: Input should be a valid integer"),
        ("/mappings/link", "name the Rev.io customer (revio=) or the RMM company (rmm=)"),
    )
    for form in ("/sync/nope/cancel", "/health/dead-letters/abc/retry", "/tenants/select"):
        refused = await api.post(form, content="", headers=FORM)
        assert refused.status_code == 403 and "CSRF" in refused.text, form
        assert refused.headers["content-type"].startswith("text/html"), form

    api_answer = await api.get("/api/sync-runs/nope")
    assert api_answer.status_code == 422
    assert api_answer.json()["errors"][0]["field"] == "run_id"


@pytest.mark.usefixtures("configured")
async def test_the_audit_page_shows_a_bad_since_or_an_unknown_filter_and_keeps_the_others(
    api: httpx.AsyncClient, signed_in: str
):
    bad_since = await api.get("/audit?since=garbage&entity=alert&q=WONDER-01")

    assert bad_since.status_code == 422
    assert 'id="error-since">Not a date and time' in bad_since.text
    assert 'name="entity" value="alert"' in bad_since.text
    assert 'name="q" value="WONDER-01"' in bad_since.text
    assert 'id="audit"' not in bad_since.text
    unknown = await api.get("/audit?category=alert&entity=alert")
    assert unknown.status_code == 422
    assert "No filter named category" in unknown.text
    assert 'name="entity" value="alert"' in unknown.text
    assert (await api.get("/audit?since=2026-01-05T10:00&entity=alert")).status_code == 200


TENANT_PAGES = ("/audit", "/health", "/mappings", "/sync")


async def test_a_page_of_a_tenant_that_does_not_exist_is_a_404_page_as_in_the_api(
    api: httpx.AsyncClient, console: Console, configured: Accounts
):
    await sign_in(api, console, f"op-{configured.tenant}", "operator", None)
    missing = f"{configured.tenant}-nope"
    said = f"tenant {missing!r} is not known"

    in_html = escape(said)
    await html_errors(api, {404}, *((f"{path}?tenant={missing}", in_html) for path in TENANT_PAGES))

    answer = await api.get(f"/audit?tenant={missing}")
    assert f"<b id='tenant'>{missing}</b>" not in answer.text
    assert (await api.get(f"/api/audit?tenant={missing}")).json() == {"detail": said}
    for path in TENANT_PAGES:  # the tenant that exists is served
        shown = await api.get(path, params={"tenant": configured.tenant})
        assert shown.status_code == 200, (path, shown.text[:500])
    assert (await api.get("/tenants")).status_code == 200
    new = await api.get("/wizard/initial", params={"tenant": missing})  # configures a new one
    assert new.status_code == 200 and f"<b id='tenant'>{missing}</b>" in new.text


async def test_a_user_whose_tenant_is_not_set_up_yet_gets_its_wizard_and_404_elsewhere(
    api: httpx.AsyncClient, signed_in: str, tenant: str
):
    assert (await api.get("/")).headers["location"] == "/wizard/initial"
    await html_errors(
        api, {404}, *((path, escape(f"tenant {tenant!r} is not known")) for path in TENANT_PAGES)
    )


async def test_an_invalid_new_tenant_id_is_shown_next_to_its_field(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    csrf = await sign_in(api, console, f"op-{tenant}", "operator", None)

    refused = await api.post(
        "/tenants/select",
        content=urlencode({"csrf_token": csrf, "tenant": "Beta Bad!"}),
        headers=FORM,
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert '<div class="error" id="error-tenant">tenant id &#x27;Beta Bad!&#x27; must be' in (
        refused.text
    )
    assert 'name="tenant" value="Beta Bad!"' in refused.text
    assert "<h2>New tenant</h2>" in refused.text
    chosen = await api.post(
        "/tenants/select",
        content=urlencode({"csrf_token": csrf, "tenant": f"{tenant}-new"}),
        headers=FORM,
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/wizard/initial"


async def test_the_asset_step_refuses_asset_sync_without_a_category_by_its_field(
    api: httpx.AsyncClient, configured: Accounts, signed_in: str, console: Console
):
    before = await console.tenants.load(configured.tenant)
    body = urlencode(
        {"csrf_token": signed_in, "asset_sync_enabled": "on", "asset_type": "RMM Endpoint"}
    )

    refused = await api.post("/wizard/assets", content=body, headers=FORM)

    assert refused.status_code == 422
    assert 'id="error-endpoint_categories">required when asset sync is on' in refused.text
    assert await console.tenants.load(configured.tenant) == before
    off = urlencode({"csrf_token": signed_in, "asset_type": "RMM Endpoint"})
    assert (await api.post("/wizard/assets", content=off, headers=FORM)).status_code == 303
