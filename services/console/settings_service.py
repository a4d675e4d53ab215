"""Reading and saving a tenant's settings, and creating a tenant (shared by the API, the
wizard and the CLI).

A save builds the tenant the update would give, checks it against the live systems, and
only then stores it (`TenantStore.save`: one transaction, the event names the secrets that
changed, never their values). A refused save changes nothing, and so does a save that
changes nothing: no event, and the caller is told (`Saved.changed` is empty).

A new tenant is created by `TenantStore.create` (`TenantCreated` on its `tenant` stream, then
`SettingsChanged`), whoever creates it: `POST /api/tenants`, the first `PUT`/`PATCH
/api/settings` of a tenant, or the wizard's first step. Checked in full (the API: both
connections and every rule) it is served at once; created by a wizard step, which checks
only that step, it is created disabled, and served once the wizard's Finish checks it in full
and turns it on (`finish_setup`).
"""

from dataclasses import dataclass, field
from typing import Any

from revsync.logs import get_logger
from revsync.tenancy import ENDPOINT_CATEGORIES, SEVERITY_ORDER, Tenant
from revsync.tenant_store import TenantExists
from revsync.vendor.errors import VendorError

from services.console.deps import Console
from services.console.live_checks import Lookup
from services.console.settings_doc import Candidate, FieldError, build_candidate, document
from services.console.tenants import setup_unfinished
from services.console.validation import CUSTOMER_CLASSES

log = get_logger(__name__)


@dataclass(frozen=True)
class Saved:
    """What a save did: refused (`errors`: nothing stored), or what it changed, by name
    (settings and secrets; empty: nothing to change, nothing recorded)."""

    errors: list[FieldError] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    created: bool = False


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


async def _refusal(
    console: Console, candidate: Candidate, fields: set[str] | None, actor: str
) -> list[FieldError]:
    """Why the candidate may not be stored (none: it may), checked live."""
    if candidate.errors:
        return candidate.errors
    assert candidate.checked is not None
    errors = await console.validator.validate(candidate.checked, fields)
    if errors:
        log.info(
            "settings refused",
            tenant_id=candidate.checked.id,
            actor=actor,
            fields=[e.field for e in errors],
        )
    return errors


async def create_tenant(
    console: Console, tenant_id: str, body: Any, actor: str, fields: set[str] | None = None
) -> Saved:
    """Create a tenant from a settings document, checked live; TenantExists if the id is
    taken. `fields` None checks everything and serves the tenant at once; a set (a wizard
    step) checks those fields only, so the tenant starts disabled until `finish_setup`."""
    candidate = build_candidate(tenant_id, None, body, replace=True)
    errors = await _refusal(console, candidate, fields, actor)
    if errors:
        return Saved(errors)
    assert candidate.to_save is not None
    tenant = candidate.to_save
    if fields is not None:
        tenant = tenant.model_copy(update={"enabled": False})
    changed = await console.tenants.create(tenant, actor=actor)
    log.info("tenant created", tenant_id=tenant_id, actor=actor, enabled=tenant.enabled)
    log.info("settings saved", tenant_id=tenant_id, actor=actor, changed=changed)
    return Saved(changed=changed, created=True)


async def save_settings(
    console: Console,
    tenant_id: str,
    body: Any,
    actor: str,
    replace: bool,
    fields: set[str] | None = None,
) -> Saved:
    """Save, or say why not (one error per field); a tenant not yet known is created
    (`create_tenant`). `fields` limits the live checks' report to those fields (a wizard
    step); None checks everything."""
    current = await console.tenants.load(tenant_id)
    if current is None:
        try:
            return await create_tenant(console, tenant_id, body, actor, fields)
        except TenantExists:
            return Saved([FieldError("tenant", "was created meanwhile: load it and try again")])
    candidate = build_candidate(tenant_id, current, body, replace)
    errors = await _refusal(console, candidate, fields, actor)
    if errors:
        return Saved(errors)
    assert candidate.to_save is not None
    changed = await console.tenants.save(candidate.to_save, actor=actor)
    if not changed:
        log.info("settings unchanged", tenant_id=tenant_id, actor=actor)
        return Saved()
    log.info("settings saved", tenant_id=tenant_id, actor=actor, changed=changed)
    return Saved(changed=changed)


async def finish_setup(console: Console, tenant_id: str, actor: str) -> list[FieldError]:
    """The wizard's Finish: check every rule against the live systems, then turn on a tenant
    whose setup was unfinished (created disabled by the wizard, never enabled or disabled
    since). A tenant an operator disabled stays disabled: only an operator enables it."""
    errors = await check_stored(console, tenant_id)
    if errors is None:
        return [FieldError("tenant", f"tenant {tenant_id} is not configured yet")]
    if errors:
        return errors
    if await setup_unfinished(console.pool, tenant_id):
        if await console.tenants.set_enabled(tenant_id, True, actor):
            log.info("tenant enabled", tenant_id=tenant_id, actor=actor, why="setup finished")
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
