"""Reading and saving a tenant's settings (shared by the API, the wizard and the CLI).

A save builds the tenant the update would give, checks it against the live systems, and
only then stores it (`TenantStore.save`: one transaction, the event names the secrets that
changed, never their values). A refused save changes nothing.
"""

from typing import Any

from revsync.logs import get_logger
from revsync.tenancy import ENDPOINT_CATEGORIES, SEVERITY_ORDER, Tenant
from revsync.vendor.errors import VendorError

from services.console.deps import Console
from services.console.live_checks import Lookup
from services.console.settings_doc import FieldError, build_candidate, document
from services.console.validation import CUSTOMER_CLASSES

log = get_logger(__name__)


async def stored_secret_names(console: Console, tenant_id: str) -> set[str]:
    rows = await console.pool.fetch(
        "SELECT name FROM tenant_secrets WHERE tenant_id = $1", tenant_id
    )
    return {row["name"] for row in rows}


async def settings_document(console: Console, tenant_id: str) -> dict[str, Any] | None:
    tenant = await console.tenants.load(tenant_id, with_secrets=False)
    if tenant is None:
        return None
    return document(tenant, await stored_secret_names(console, tenant_id))


async def save_settings(
    console: Console,
    tenant_id: str,
    body: Any,
    actor: str,
    replace: bool,
    fields: set[str] | None = None,
) -> list[FieldError]:
    """Save, or return why not (one error per field). `fields` limits the live checks'
    report to those fields (a wizard step); None checks everything."""
    current = await console.tenants.load(tenant_id)
    candidate = build_candidate(tenant_id, current, body, replace)
    if candidate.errors:
        return candidate.errors
    assert candidate.checked is not None and candidate.to_save is not None
    errors = await console.validator.validate(candidate.checked, fields)
    if errors:
        log.info(
            "settings refused",
            tenant_id=tenant_id,
            actor=actor,
            fields=[e.field for e in errors],
        )
        return errors
    await console.tenants.save(candidate.to_save, actor=actor)
    log.info(
        "settings saved",
        tenant_id=tenant_id,
        actor=actor,
        secrets_changed=sorted(candidate.new_secrets),
    )
    return []


async def check_stored(console: Console, tenant_id: str) -> list[FieldError] | None:
    """Every rule against the stored settings (the wizard's last step); None: no tenant."""
    tenant = await console.tenants.load(tenant_id)
    if tenant is None:
        return None
    return await console.validator.validate(tenant)


def _lookups(items: list[Lookup]) -> list[dict[str, Any]]:
    return [
        {"id": item.id, "name": item.name, "active": item.active}
        | ({"status": item.extra} if item.extra else {})
        for item in items
    ]


async def lookups(console: Console, tenant: Tenant | None) -> dict[str, Any]:
    """What the wizard's dropdowns offer, read from the systems with the stored credentials."""
    found: dict[str, Any] = {
        "severities": list(reversed(SEVERITY_ORDER)),
        "categories": list(ENDPOINT_CATEGORIES),
        "customer_classes": list(CUSTOMER_CLASSES),
        "revio": {"ok": False, "error": "not configured"},
        "rmm": {"ok": False, "error": "not configured"},
    }
    if tenant is None:
        return found
    try:
        revio = await console.checks.revio(tenant.id, tenant.revio)
        found["revio"] = {
            "ok": True,
            "error": None,
            "bill_profiles": _lookups(revio.bill_profiles),
            "ticket_types": _lookups(revio.ticket_types),
            "ticket_statuses": _lookups(revio.ticket_statuses),
            "inventory_types": _lookups(revio.inventory_types),
        }
    except VendorError as error:
        found["revio"] = {"ok": False, "error": str(error)}
    try:
        rmm = await console.checks.rmm(tenant.id, tenant.rmm)
        found["rmm"] = {
            "ok": True,
            "error": None,
            "boards": _lookups(rmm.boards),
            "sources": _lookups(rmm.sources),
        }
    except VendorError as error:
        found["rmm"] = {"ok": False, "error": str(error)}
    return found
