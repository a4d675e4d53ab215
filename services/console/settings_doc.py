"""The settings document of `GET/PUT/PATCH /api/settings`, and building a tenant from one.

Shape: the sync settings of ARCHITECTURE section 5 at the top level under their own names,
plus `name`, `enabled` and the two connections:

    {"name": "Acme MSP", "enabled": true, "create_mode": true, ..., "alert_ticket_type": "...",
     "rmm": {"region": "NA", "base_url": null, "client_id": "...", "client_secret": "..."},
     "revio": {"base_url": "...", "username": "...", "client_code": "...", "password": "...",
               "subscription_key": "..."}}

`enabled` is changed by the tenant lifecycle (api_tenants.py), not by a settings save.
Secrets are write-only: a document never contains them (only `client_secret_set`, ...); in an
update, an absent, null or empty secret keeps the stored one, and so does the stored value
given again (it is not a new secret: the save names only secrets that really change).
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import SECRET_FIELDS, public_config

SETTING_NAMES: tuple[str, ...] = tuple(SyncSettings.model_fields)
SECTIONS: dict[str, type[BaseModel]] = {"rmm": RmmConnection, "revio": RevioConnection}
TOP_LEVEL = {"name", "enabled", "rmm", "revio", *SETTING_NAMES}
ECHOED = {"tenant", "changed"}  # in a document or a save's answer: ignored in an update
SECRETS_BY_SECTION: dict[str, set[str]] = {
    section: {name for key, (s, name) in SECRET_FIELDS.items() if s == section}
    for section in SECTIONS
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Candidate:
    """A tenant as it would be after an update: `checked` holds every secret (for the live
    checks), `to_save` only the secrets this update sets (so the event names just those)."""

    checked: Tenant | None = None
    to_save: Tenant | None = None
    new_secrets: list[str] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def document(tenant: Tenant, stored_secrets: set[str]) -> dict[str, Any]:
    config = public_config(tenant)
    rmm, revio = config["rmm"], config["revio"]
    rmm["client_secret_set"] = "rmm.client_secret" in stored_secrets
    revio["password_set"] = "revio.password" in stored_secrets
    revio["subscription_key_set"] = "revio.subscription_key" in stored_secrets
    return {
        "tenant": tenant.id,
        "name": tenant.name,
        "enabled": tenant.enabled,
        **config["settings"],
        "rmm": rmm,
        "revio": revio,
    }


def _message(error: Any) -> str:
    text = str(error.get("msg", "invalid"))
    return text.removeprefix("Value error, ")


def _errors_of(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    found: list[FieldError] = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        name = ".".join(loc) if loc else prefix.rstrip(".") or "settings"
        found.append(FieldError(f"{prefix}{name}" if loc else name, _message(error)))
    return found


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[str, FieldError] = {}
    for error in errors:
        seen.setdefault(error.field, error)
    return list(seen.values())


def _stored_secret(stored: BaseModel | None, key: str) -> str | None:
    value: SecretStr | None = getattr(stored, key, None)
    return value.get_secret_value() if value is not None else None


def _section(
    name: str,
    given: Any,
    base: BaseModel,
    stored: BaseModel | None,
    replace: bool,
    candidate: Candidate,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(values with every secret, values with only new secrets), or None on errors."""
    if given is not None and not isinstance(given, dict):
        candidate.errors.append(FieldError(name, "must be an object"))
        return None
    given = dict(given or {})
    secrets = SECRETS_BY_SECTION[name]
    values = {k: v for k, v in base.model_dump().items() if k not in secrets}
    if replace:
        values = {k: v for k, v in SECTIONS[name]().model_dump().items() if k not in secrets}
    new: dict[str, Any] = {}
    for key in secrets:
        offered = given.pop(key, None)
        if offered is not None and not isinstance(offered, str):
            candidate.errors.append(FieldError(f"{name}.{key}", "must be a string"))
        elif offered and offered != _stored_secret(stored, key):
            new[key] = SecretStr(offered)
            candidate.new_secrets.append(f"{name}.{key}")
    for key in list(given):
        if key.endswith("_set") and key.removesuffix("_set") in secrets:
            given.pop(key)  # echoed from a GET: ignore
    values.update(given)
    kept = {k: getattr(stored, k) for k in secrets if stored is not None and k not in new}
    return {**values, **kept, **new}, {**values, **new}


def build_candidate(tenant_id: str, current: Tenant | None, body: Any, replace: bool) -> Candidate:
    """The tenant this update would give (PUT: `replace`; PATCH: merge), or field errors."""
    candidate = Candidate()
    if not isinstance(body, dict):
        candidate.errors.append(FieldError("settings", "the body must be a JSON object"))
        return candidate
    for key in sorted(set(body) - TOP_LEVEL - ECHOED):
        candidate.errors.append(FieldError(key, "unknown setting"))
    if body.get("tenant") not in (None, tenant_id):
        candidate.errors.append(FieldError("tenant", f"this document is for tenant {tenant_id}"))
    base = current or Tenant(id=tenant_id, name=tenant_id)
    name = body.get("name", None if replace or current is None else current.name)
    if name is None and current is not None:
        name = current.name
    if not isinstance(name, str) or not name.strip():
        candidate.errors.append(FieldError("name", "a tenant needs a name"))
    sections = {
        section: _section(
            section,
            body.get(section),
            getattr(base, section),
            getattr(current, section) if current else None,
            replace,
            candidate,
        )
        for section in SECTIONS
    }
    settings = {} if replace else base.settings.model_dump()
    settings.update({k: v for k, v in body.items() if k in SETTING_NAMES})
    if settings.get("revio_to_rmm_tickets"):
        for needed in ("default_service_board", "default_ticket_source"):
            if not settings.get(needed):
                candidate.errors.append(
                    FieldError(needed, "required when revio_to_rmm_tickets is on")
                )
    parsed: dict[str, Any] = {}
    for section, values in sections.items():
        if values is None:
            continue
        try:
            parsed[section] = [SECTIONS[section].model_validate(v) for v in values]
        except ValidationError as error:
            candidate.errors.extend(_errors_of(error, f"{section}."))
    try:
        parsed["settings"] = SyncSettings.model_validate(settings)
    except ValidationError as error:
        # the board/source rule is a model-level error, already reported per field above
        candidate.errors.extend(e for e in _errors_of(error) if e.field != "settings")
    # disabling and enabling are the lifecycle's (POST /api/tenants/{id}/disable, /enable)
    enabled = body.get("enabled", True if current is None else current.enabled)
    if not isinstance(enabled, bool):
        candidate.errors.append(FieldError("enabled", "must be true or false"))
    elif current is not None and enabled != current.enabled:
        candidate.errors.append(
            FieldError("enabled", "an operator disables or enables a tenant (revsync tenants)")
        )
    candidate.errors = _first_per_field(candidate.errors)
    if candidate.errors:
        return candidate
    common = {"id": tenant_id, "name": str(name).strip(), "enabled": bool(enabled)}
    candidate.checked = Tenant(
        **common, rmm=parsed["rmm"][0], revio=parsed["revio"][0], settings=parsed["settings"]
    )
    candidate.to_save = Tenant(
        **common, rmm=parsed["rmm"][1], revio=parsed["revio"][1], settings=parsed["settings"]
    )
    return candidate
