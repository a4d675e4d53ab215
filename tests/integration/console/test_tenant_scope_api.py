"""Which tenant a request is about: a tenant that does not exist is `404 tenant 'x' is not
known` on every tenant-scoped route, so a mistyped `?tenant=` is not taken for a tenant with
nothing in it; a user of another tenant learns nothing of which tenants exist (403 either
way); a disabled tenant is known (its audit stays readable), a deleted one is not."""

import httpx
import pytest

from services.console.deps import Console
from tests.integration.console.support import bearer
from tests.integration.console.tenant_rows import add_tenant

NO_RUN = "00000000-0000-0000-0000-000000000000"
NOT_TENANT_SCOPED = {
    ("POST", "/api/auth/token"),
    ("DELETE", "/api/auth/token"),
    ("GET", "/api/me"),
}
"""About the caller alone. (`/api/tenants...` names its tenant in the path: not scoped by
`?tenant=` either.)"""
SAVING_MAY_CREATE = {("PUT", "/api/settings"), ("PATCH", "/api/settings")}
"""Saving settings for a tenant that does not exist yet creates it."""


async def tenant_scoped_routes(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    paths = (await api.get("/openapi.json")).json()["paths"]
    every = {(method.upper(), path) for path, item in paths.items() for method in item}
    skipped = NOT_TENANT_SCOPED | SAVING_MAY_CREATE
    return sorted(
        (method, path) for method, path in every - skipped if not path.startswith("/api/tenants")
    )


def concrete(path: str) -> str:
    return path.replace("{run_id}", NO_RUN).replace("{mapping_id}", "1").replace("{letter_id}", "1")


async def test_every_tenant_scoped_route_says_an_unknown_tenant_is_not_known(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await add_tenant(console.pool, tenant)  # so the operator would otherwise see one tenant
    operator = {
        "Authorization": f"Bearer {await bearer(console, f'op-{tenant}', 'operator', None)}"
    }
    routes = await tenant_scoped_routes(api)
    assert len(routes) >= 15
    for method, path in routes:
        body = {"revio_customer_id": "1", "rmm_company_id": "c1"} if method == "POST" else None
        answer = await api.request(
            method, concrete(path), params={"tenant": "nope"}, json=body, headers=operator
        )
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        assert answer.json() == {"detail": "tenant 'nope' is not known"}, (method, path)


@pytest.mark.parametrize("path", ["/api/audit", "/api/health", "/api/dead-letters"])
async def test_a_user_of_another_tenant_cannot_tell_whether_a_tenant_exists(
    api: httpx.AsyncClient, console: Console, tenant: str, path: str
):
    await add_tenant(console.pool, tenant)
    existing = await add_tenant(console.pool, f"{tenant}b")
    user = {"Authorization": f"Bearer {await bearer(console, f'u-{tenant}', 'viewer', tenant)}"}

    of_existing = await api.get(path, params={"tenant": existing}, headers=user)
    of_unknown = await api.get(path, params={"tenant": f"{tenant}nope"}, headers=user)

    assert of_existing.status_code == of_unknown.status_code == 403
    assert of_existing.json() == of_unknown.json()


async def test_a_user_whose_tenant_is_not_known_is_told_so(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    user = {"Authorization": f"Bearer {await bearer(console, f'u-{tenant}', 'admin', tenant)}"}

    answer = await api.get("/api/audit", headers=user)

    assert answer.status_code == 404
    assert answer.json() == {"detail": f"tenant {tenant!r} is not known"}


async def test_a_disabled_tenant_is_known_and_a_deleted_one_is_not(
    api: httpx.AsyncClient, console: Console, tenant: str
):
    await add_tenant(console.pool, tenant, enabled=False)
    operator = {
        "Authorization": f"Bearer {await bearer(console, f'op-{tenant}', 'operator', None)}"
    }
    audit = {"tenant": tenant, "entity": "tenant"}

    while_disabled = await api.get("/api/audit", params=audit, headers=operator)
    exported = await api.get(f"/api/tenants/{tenant}/events", headers=operator)
    deleted = await api.delete(f"/api/tenants/{tenant}", headers=operator)
    after = await api.get("/api/audit", params=audit, headers=operator)

    assert while_disabled.status_code == 200
    assert exported.status_code == 200 and deleted.status_code == 200, deleted.text
    assert after.status_code == 404
    assert after.json() == {"detail": f"tenant {tenant!r} is not known"}
