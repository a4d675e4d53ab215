"""Validation of site create / update bodies (`SiteCreateRequest`, `Site`)."""

from typing import Any

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.store import Document

ADDRESS_FIELDS = (
    "addressLine1", "addressLine2", "addressLine3", "addressLine4", "administrativeArea",
    "billingFlag", "country", "countryCode", "dependentLocality", "locality", "name",
    "phoneNumberId", "postCode", "primaryFlag", "shippingFlag", "timeZone",
)  # fmt: skip
EMAIL_FIELDS = ("emailAddress", "activeFlag", "primaryFlag")
PHONE_FIELDS = ("countryCode", "extension", "nationalNumber", "activeFlag", "primaryFlag")
PLAIN_FIELDS = (
    "description", "friendlyName", "industryCode", "physicalAddressFlag", "primaryFlag",
    "activeFlag", "timeZone",
)  # fmt: skip
# sub-object -> (kept fields, required fields)
SUB_OBJECTS = {
    "primaryAddress": (ADDRESS_FIELDS, ("countryCode",)),
    "primaryEmail": (EMAIL_FIELDS, ("emailAddress",)),
    "primaryPhoneNumber": (PHONE_FIELDS, ("countryCode", "nationalNumber")),
}
READ_ONLY = frozenset(
    {"id", "partnerId", "company", "createdBy", "createdDate", "updatedBy", "updatedDate"}
    | {"deleteTxnId", "deletedBy", "deletedDate", "lastLockCreationDate"}
)


def site_fields(body: Any, creating: bool) -> Document:
    """Writable site fields from a request body. Creating needs `name` and `timeZone`."""
    if not isinstance(body, dict):
        raise bad_request("site body must be a JSON object")
    required = ("name", "timeZone") if creating else ("name",)
    for name in required:
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise bad_request(f"{name} is required")
    fields: Document = {"name": body["name"]}
    fields.update(_typed(body, PLAIN_FIELDS, "site"))
    for key, (kept, needed) in SUB_OBJECTS.items():
        if (value := body.get(key)) is not None:
            fields[key] = _sub_object(key, value, kept, needed)
    return fields


def _sub_object(key: str, value: Any, kept: tuple[str, ...], needed: tuple[str, ...]) -> Document:
    if not isinstance(value, dict) or any(not value.get(name) for name in needed):
        raise bad_request(f"{key} needs {', '.join(needed)}")
    ident = value.get("id") if isinstance(value.get("id"), str) else new_id()
    return {"id": ident, **_typed(value, kept, key)}


def _typed(source: Document, kept: tuple[str, ...], where: str) -> Document:
    """The `kept` fields present in `source`; flags must be booleans, the rest strings."""
    typed: Document = {}
    for key in kept:
        value = source.get(key)
        if value is None:
            continue
        expected = bool if key.endswith("Flag") else str
        if not isinstance(value, expected):
            raise bad_request(f"{where}.{key} must be a {expected.__name__}")
        typed[key] = value
    return typed
