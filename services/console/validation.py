"""Checking settings against the live systems before they are saved.

Each rule names the field it reports on. `validate(tenant, fields)` runs the credential checks
the rules in scope need, then the rules, and returns one error per field; `fields=None` means
every rule (the API), a set limits the report to those fields (a wizard step).
"""

from collections.abc import Iterable

import httpx
from revsync.contracts.rmm import ALERT_TICKET_SOURCE
from revsync.tenancy import ENDPOINT_CATEGORIES, Tenant
from revsync.vendor.errors import VendorError, VendorErrorKind

from services.console.live_checks import LiveChecks, Lookup, RevioLookups, RmmLookups
from services.console.settings_doc import FieldError

AUTO_CLOSED_STATUS = "auto-closed"
CUSTOMER_CLASSES = ("BUSINESS", "RESIDENTIAL")
RMM_DEPENDENT = {"default_service_board", "default_ticket_source", "revio_to_rmm_tickets"}
REVIO_DEPENDENT = {
    "bill_profile",
    "asset_type",
    "alert_ticket_type",
    "auto_close_on_alert_clear",
    "asset_sync_enabled",
    "sync_alerts",
}
RMM_FIELDS = {"rmm.region", "rmm.base_url", "rmm.client_id", "rmm.client_secret"}
REVIO_FIELDS = {
    "revio.base_url",
    "revio.username",
    "revio.client_code",
    "revio.password",
    "revio.subscription_key",
}


def _needs(fields: set[str] | None, group: set[str]) -> bool:
    return fields is None or bool(fields & group)


def credential_error(system: str, error: VendorError, where: str) -> FieldError:
    vendor = "ConnectWise RMM" if system == "rmm" else "Rev.io"
    secret_field = "rmm.client_secret" if system == "rmm" else "revio.password"
    if error.kind is VendorErrorKind.UNAUTHORIZED:
        if error.endpoint in ("token", "SystemStatus"):
            return FieldError(secret_field, f"{vendor} refused these credentials: {error.message}")
        return FieldError(
            secret_field,
            f"{vendor} accepted the credentials but refused to list {error.endpoint}:"
            f" {error.message} (grant that permission to this user)",
        )
    if error.kind is VendorErrorKind.RATE_LIMITED:
        return FieldError(secret_field, f"{vendor} is rate limiting this account; try again")
    if error.kind is VendorErrorKind.UNAVAILABLE:
        return FieldError(where, f"could not reach {vendor}: {error.message}")
    return FieldError(where, f"unexpected answer from {vendor} ({error.endpoint}): {error.message}")


def _find(items: Iterable[Lookup], value: str, by_name: bool) -> Lookup | None:
    wanted = value.strip().lower() if by_name else value.strip()
    for item in items:
        if (item.name.strip().lower() if by_name else item.id) == wanted:
            return item
    return None


def _known(items: Iterable[Lookup], by_name: bool) -> str:
    names = [item.name if by_name else f"{item.id} ({item.name})" for item in items if item.active]
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    return f"; active ones: {shown}" if names else ""


def _exists_and_active(
    field: str, what: str, items: list[Lookup], value: str, by_name: bool, system: str
) -> FieldError | None:
    found = _find(items, value, by_name)
    if found is None:
        return FieldError(field, f"{system} has no {what} {value!r}{_known(items, by_name)}")
    if not found.active:
        return FieldError(field, f"{what} {value!r} is inactive in {system}")
    return None


def revio_rules(tenant: Tenant, found: RevioLookups) -> list[FieldError]:
    s, errors = tenant.settings, []
    if s.bill_profile:
        errors.append(
            _exists_and_active(
                "bill_profile", "bill profile", found.bill_profiles, s.bill_profile, False, "Rev.io"
            )
        )
    if s.asset_type:
        errors.append(
            _exists_and_active(
                "asset_type", "inventory type", found.inventory_types, s.asset_type, True, "Rev.io"
            )
        )
    if s.alert_ticket_type:
        errors.append(
            _exists_and_active(
                "alert_ticket_type",
                "ticket type",
                found.ticket_types,
                s.alert_ticket_type,
                True,
                "Rev.io",
            )
        )
    if s.auto_close_on_alert_clear:
        status = _find(found.ticket_statuses, AUTO_CLOSED_STATUS, by_name=True)
        if status is None or not status.active:
            errors.append(
                FieldError(
                    "auto_close_on_alert_clear",
                    f"Rev.io has no active ticket status {AUTO_CLOSED_STATUS!r}: create it in"
                    " Rev.io, or turn auto-close off",
                )
            )
    return [e for e in errors if e is not None]


def rmm_rules(tenant: Tenant, found: RmmLookups) -> list[FieldError]:
    s, errors = tenant.settings, []
    if s.revio_to_rmm_tickets and s.default_service_board:
        errors.append(
            _exists_and_active(
                "default_service_board",
                "service board",
                found.boards,
                s.default_service_board,
                False,
                "ConnectWise RMM",
            )
        )
    if s.revio_to_rmm_tickets and s.default_ticket_source:
        errors.append(
            _exists_and_active(
                "default_ticket_source",
                "ticket source",
                found.sources,
                s.default_ticket_source,
                False,
                "ConnectWise RMM",
            )
        )
        source = _find(found.sources, s.default_ticket_source, by_name=False)
        if source is not None and source.name.casefold() == ALERT_TICKET_SOURCE.casefold():
            errors.append(
                FieldError(
                    "default_ticket_source",
                    f"{source.name!r} is the source of RMM alert tickets: tickets revsync"
                    " pushes to RMM with it would be taken for alerts; choose another source",
                )
            )
    return [e for e in errors if e is not None]


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL to send to (None when it can): it must parse, be
    http(s) and name a host. Checked before any call: no use waiting for a vendor's answer."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        return f"not a valid URL: {error}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "not a valid URL: expected http(s)://host[:port][/path]"
    return None


def offline_rules(tenant: Tenant) -> list[FieldError]:
    """Rules that need no vendor call."""
    s, errors = tenant.settings, []
    if s.customer_identity and s.customer_identity not in CUSTOMER_CLASSES:
        errors.append(
            FieldError(
                "customer_identity",
                f"unknown Rev.io customer class {s.customer_identity!r};"
                f" choose from {list(CUSTOMER_CLASSES)}",
            )
        )
    if s.asset_sync_enabled and not s.asset_type:
        errors.append(FieldError("asset_type", "required when asset sync is on"))
    if s.asset_sync_enabled and not s.endpoint_categories:
        errors.append(
            FieldError(
                "endpoint_categories",
                "required when asset sync is on: choose at least one of"
                f" {list(ENDPOINT_CATEGORIES)} (or turn asset sync off)",
            )
        )
    if s.sync_alerts and not s.alert_ticket_type:
        errors.append(FieldError("alert_ticket_type", "required when alert sync is on"))
    rmm, revio = tenant.rmm, tenant.revio
    for field, url in (("rmm.base_url", rmm.url), ("revio.base_url", revio.base_url)):
        problem = url_problem(url)
        if problem:
            errors.append(FieldError(field, problem))
    if not rmm.client_id:
        errors.append(FieldError("rmm.client_id", "required"))
    if rmm.client_secret is None or not rmm.client_secret.get_secret_value():
        errors.append(FieldError("rmm.client_secret", "required"))
    for name in ("username", "client_code"):
        if not getattr(revio, name):
            errors.append(FieldError(f"revio.{name}", "required"))
    if revio.password is None or not revio.password.get_secret_value():
        errors.append(FieldError("revio.password", "required"))
    return errors


class SettingsValidator:
    def __init__(self, checks: LiveChecks) -> None:
        self.checks = checks

    async def validate(self, tenant: Tenant, fields: set[str] | None = None) -> list[FieldError]:
        errors = offline_rules(tenant)
        broken = {e.field for e in errors}
        if _needs(fields, RMM_FIELDS | RMM_DEPENDENT):
            errors.extend(await self._rmm(tenant, fields, broken))
        if _needs(fields, REVIO_FIELDS | REVIO_DEPENDENT):
            errors.extend(await self._revio(tenant, fields, broken))
        unique: dict[str, FieldError] = {}
        for error in errors:
            if fields is None or error.field in fields:
                unique.setdefault(error.field, error)
        return list(unique.values())

    async def _rmm(
        self, tenant: Tenant, fields: set[str] | None, broken: set[str]
    ) -> list[FieldError]:
        if broken & RMM_FIELDS:
            return _unchecked(tenant, fields, "rmm", "the RMM connection is incomplete")
        where = "rmm.base_url" if tenant.rmm.base_url else "rmm.region"
        try:
            found = await self.checks.rmm(tenant.id, tenant.rmm, fresh=True)
        except VendorError as error:
            failed = credential_error("rmm", error, where)
            return [failed, *_unchecked(tenant, fields, "rmm", failed.message)]
        return rmm_rules(tenant, found)

    async def _revio(
        self, tenant: Tenant, fields: set[str] | None, broken: set[str]
    ) -> list[FieldError]:
        if broken & REVIO_FIELDS:
            return _unchecked(tenant, fields, "revio", "the Rev.io connection is incomplete")
        try:
            found = await self.checks.revio(tenant.id, tenant.revio, fresh=True)
        except VendorError as error:
            failed = credential_error("revio", error, "revio.base_url")
            return [failed, *_unchecked(tenant, fields, "revio", failed.message)]
        return revio_rules(tenant, found)


def _unchecked(tenant: Tenant, fields: set[str] | None, system: str, why: str) -> list[FieldError]:
    """When the connection is broken outside the fields in scope (a wizard step), the values
    that need it cannot be checked: say so on those fields rather than save them unchecked."""
    if fields is None:
        return []
    s = tenant.settings
    values: dict[str, object] = (
        {
            "default_service_board": s.revio_to_rmm_tickets and s.default_service_board,
            "default_ticket_source": s.revio_to_rmm_tickets and s.default_ticket_source,
        }
        if system == "rmm"
        else {
            "bill_profile": s.bill_profile,
            "asset_type": s.asset_type,
            "alert_ticket_type": s.alert_ticket_type,
            "auto_close_on_alert_clear": s.auto_close_on_alert_clear,
        }
    )
    return [
        FieldError(name, f"cannot be checked: {why} (fix the connection first)")
        for name, value in values.items()
        if value and name in fields
    ]
