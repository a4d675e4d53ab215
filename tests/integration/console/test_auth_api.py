"""Who may call what: no anonymous access but health, bearer tokens for the API, session
cookies with CSRF for the UI, one tenant per user, operators see all, viewers only read."""

import httpx
import pytest

from services.console.auth import Users, hash_password, verify_password
from services.console.deps import SESSION_COOKIE, Console
from tests.integration.console.support import Accounts, bearer, good_settings

OPEN = {("/api/health", "GET"), ("/api/auth/token", "POST")}


async def api_routes(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    """Every endpoint, as the OpenAPI document lists them."""
    paths = (await api.get("/openapi.json")).json()["paths"]
    return sorted((path, method.upper()) for path, item in paths.items() for method in item)


async def test_every_endpoint_but_health_refuses_anonymous_callers(api: httpx.AsyncClient):
    routes = await api_routes(api)
    assert len(routes) >= 20
    for path, method in routes:
        if (path, method) in OPEN:
            continue
        concrete = path.replace("{run_id}", "00000000-0000-0000-0000-000000000000")
        concrete = concrete.replace("{mapping_id}", "1").replace("{letter_id}", "1")
        answer = await api.request(method, concrete)
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert answer.headers["www-authenticate"] == "Bearer"
    assert (await api.get("/api/health")).status_code == 200


async def test_a_token_is_issued_for_a_password_and_revoked(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await console.users.create(f"u-{tenant}", "correct horse", "admin", tenant)

    refused = await api.post(
        "/api/auth/token", json={"username": f"u-{tenant}", "password": "wrong"}
    )
    issued = await api.post(
        "/api/auth/token", json={"username": f"u-{tenant}", "password": "correct horse"}
    )

    assert refused.status_code == 401
    assert issued.status_code == 200
    headers = {"Authorization": f"Bearer {issued.json()['token']}"}
    me = await api.get("/api/me", headers=headers)
    assert me.json() == {"username": f"u-{tenant}", "role": "admin", "tenant": tenant, "via": "api"}
    assert (await api.delete("/api/auth/token", headers=headers)).status_code == 200
    assert (await api.get("/api/me", headers=headers)).status_code == 401


async def test_a_user_sees_only_their_tenant(
    api: httpx.AsyncClient, admin: dict[str, str], configured: Accounts, console: Console
):
    other = await bearer(console, f"other-{configured.tenant}", "admin", "someone-else")

    mine = await api.get("/api/settings", headers=admin)
    theirs = await api.get(
        f"/api/settings?tenant={configured.tenant}", headers={"Authorization": f"Bearer {other}"}
    )
    own = await api.get("/api/settings", headers={"Authorization": f"Bearer {other}"})

    assert mine.status_code == 200
    assert theirs.status_code == 403
    assert own.status_code == 404  # their own tenant is not configured
    assert configured.tenant not in own.text


async def test_an_operator_names_the_tenant(
    api: httpx.AsyncClient, configured: Accounts, console: Console
):
    token = await bearer(console, f"op-{configured.tenant}", "operator", None)
    headers = {"Authorization": f"Bearer {token}"}

    named = await api.get(f"/api/settings?tenant={configured.tenant}", headers=headers)
    unnamed = await api.get("/api/settings", headers=headers)

    assert named.status_code == 200
    assert named.json()["tenant"] == configured.tenant
    assert unnamed.status_code == 400  # this database holds several tenants
    assert "?tenant=" in unnamed.json()["detail"]


async def test_a_viewer_reads_but_cannot_change(
    api: httpx.AsyncClient, configured: Accounts, console: Console
):
    token = await bearer(console, f"viewer-{configured.tenant}", "viewer", configured.tenant)
    headers = {"Authorization": f"Bearer {token}"}

    assert (await api.get("/api/settings", headers=headers)).status_code == 200
    changed = await api.patch("/api/settings", json={"create_mode": True}, headers=headers)
    started = await api.post("/api/sync-runs", headers=headers)

    assert changed.status_code == 403
    assert started.status_code == 403


async def test_a_session_cookie_needs_the_csrf_token_for_changes(
    api: httpx.AsyncClient, configured: Accounts, console: Console
):
    username = f"s-{configured.tenant}"
    await console.users.create(username, "pw", "admin", configured.tenant)
    login = await api.post(
        "/login",
        content=f"username={username}&password=pw&next=/api/settings",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert login.status_code == 303
    assert login.headers["location"] == "/api/settings"
    cookie = login.cookies[SESSION_COOKIE]
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    api.cookies.set(SESSION_COOKIE, cookie)
    session = await console.users.resolve(cookie, "session")
    assert session is not None and session.csrf_token

    read = await api.get("/api/settings")
    forged = await api.patch("/api/settings", json={"min_alert_severity": "Low"})
    wrong = await api.patch(
        "/api/settings", json={"min_alert_severity": "Low"}, headers={"X-CSRF-Token": "guess"}
    )
    allowed = await api.patch(
        "/api/settings",
        json={"min_alert_severity": "Low"},
        headers={"X-CSRF-Token": session.csrf_token},
    )

    assert read.status_code == 200
    assert forged.status_code == 403
    assert wrong.status_code == 403
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["min_alert_severity"] == "Low"


async def test_pages_send_strangers_to_the_login_page(api: httpx.AsyncClient):
    answer = await api.get("/mappings?state=held")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/mappings?state=held"
    assert (await api.get("/login")).status_code == 200


async def test_a_wrong_password_on_the_login_page_is_refused(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await console.users.create(f"l-{tenant}", "pw", "admin", tenant)
    answer = await api.post(
        "/login",
        content=f"username=l-{tenant}&password=nope",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 401
    assert SESSION_COOKIE not in answer.cookies


async def test_the_bootstrap_admin_comes_from_the_environment_and_is_an_operator(
    console: Console, tenant: str
):
    users = Users(console.pool)
    username = f"boot-{tenant}"

    assert await users.ensure_bootstrap_admin(username, "first")
    assert await users.ensure_bootstrap_admin(username, "second")  # the environment wins
    assert not await users.ensure_bootstrap_admin(None, None)

    assert await users.authenticate(username, "first") is None
    found = await users.authenticate(username, "second")
    assert found is not None and found["role"] == "operator" and found["tenant_id"] is None
    stored = await console.pool.fetchval(
        "SELECT password_hash FROM console_users WHERE username = $1", username
    )
    assert "second" not in stored and stored.startswith("scrypt$")


def test_passwords_are_hashed_with_a_salt():
    first, second = hash_password("secret"), hash_password("secret")

    assert first != second
    assert verify_password("secret", first) and verify_password("secret", second)
    assert not verify_password("Secret", first)
    assert not verify_password("secret", "md5$nonsense")


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_a_user_who_is_not_an_operator_must_belong_to_a_tenant(console: Console, role):
    with pytest.raises(ValueError, match="belongs to a tenant"):
        await console.users.create(f"x-{role}", "pw", role, None)


async def test_settings_of_a_new_tenant_can_be_created_by_an_operator(
    api: httpx.AsyncClient, accounts: Accounts, console: Console
):
    token = await bearer(console, f"op2-{accounts.tenant}", "operator", None)
    headers = {"Authorization": f"Bearer {token}"}
    answer = await api.put(
        f"/api/settings?tenant={accounts.tenant}", json=good_settings(accounts), headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert accounts.tenant in await console.tenants.list_ids()
