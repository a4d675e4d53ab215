"""Rev.io customers: what a client may write, the checks, the stored record and its view.

There is no top-level name: a customer's name is `service_address.company_name`, falling
back to the billing address. [doc] Creating a customer needs a bill profile, a class and a
bill method.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sandbox.revio.address_records import (
    ADDRESS_ROLES,
    AddressFields,
    check_role_address,
    embedded_address,
    save_role_address,
)
from services.sandbox.revio.customfields import CustomFieldValue, resolve_fields
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.store import Record, RevioStore

READ_ONLY = ("customer_id", "created_date", "updated_date")


class Finance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bill_profile_id: int | None = None
    billing_method: str | None = Field(None, min_length=1)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    customer_class: Literal["BUSINESS", "RESIDENTIAL"] | None = Field(None, alias="class")


class CustomerFields(BaseModel):
    """The writable part of a customer (POST body; a PATCHed view minus read-only fields)."""

    model_config = ConfigDict(extra="forbid")

    parent_customer_id: int | None = None
    account_number: str | None = None
    status: Literal["OPEN", "PENDING", "PROSPECT", "CLOSED"] = "OPEN"
    email: str = ""
    billing_address: AddressFields | None = None
    service_address: AddressFields | None = None
    listing_address: AddressFields | None = None
    finance: Finance = Field(default_factory=Finance)
    profile: Profile = Field(default_factory=Profile)
    fields: list[CustomFieldValue] = Field(default_factory=list)


def customer_name(store: RevioStore, record: Record) -> str:
    for role in ("service_address_id", "billing_address_id"):
        address_id = record[role]
        if address_id is not None and store.addresses.rows[address_id]["company_name"]:
            return str(store.addresses.rows[address_id]["company_name"])
    return ""


def customer_view(store: RevioStore, record: Record) -> Record:
    return {
        "customer_id": record["customer_id"],
        "parent_customer_id": record["parent_customer_id"],
        "account_number": record["account_number"],
        "status": record["status"],
        "created_date": record["created_date"],
        "updated_date": record["updated_date"],
        "email": record["email"],
        **{role: embedded_address(store, record[f"{role}_id"]) for role in ADDRESS_ROLES},
        "finance": dict(record["finance"]),
        "profile": dict(record["profile"]),
        "fields": [dict(entry) for entry in record["fields"]],
    }


def _checked_custom_fields(
    store: RevioStore, fields: CustomerFields, existing: Record | None
) -> list[Any]:
    """Refuse what Rev.io would refuse; the custom fields in stored form."""
    required = {
        "finance.bill_profile_id": fields.finance.bill_profile_id,
        "profile.class": fields.profile.customer_class,
        "finance.billing_method": fields.finance.billing_method,
    }
    missing = [name for name, value in required.items() if value is None]
    if missing:
        raise RevioError(
            400,
            "A customer needs a bill profile, a class and a bill method; missing: "
            + ", ".join(missing),
        )
    profile_id = fields.finance.bill_profile_id
    if existing is None or existing["finance"]["bill_profile_id"] != profile_id:
        profile = store.bill_profiles.get(int(profile_id or 0))
        if profile is None or not profile["active"]:
            state = "is inactive" if profile else "does not exist"
            raise RevioError(400, f"Bill profile {profile_id} {state}.")
    parent_id = fields.parent_customer_id
    own_id = existing["customer_id"] if existing else None
    if parent_id is not None and (parent_id == own_id or parent_id not in store.customers.rows):
        raise RevioError(400, f"Parent customer {parent_id} does not exist.")
    for role in ADDRESS_ROLES:
        check_role_address(existing[f"{role}_id"] if existing else None, getattr(fields, role))
    return resolve_fields(store.custom_fields, fields.fields)


def create_customer(store: RevioStore, fields: CustomerFields, at: str) -> int:
    """A new customer created at date `at`; its id."""
    custom_fields = _checked_custom_fields(store, fields, None)
    unset = {"parent_customer_id": None, **{f"{role}_id": None for role in ADDRESS_ROLES}}
    record = store.customers.insert({"created_date": at, "updated_date": at, **unset})
    _write(store, record, fields, custom_fields)
    return int(record["customer_id"])


def update_customer(store: RevioStore, record: Record, fields: CustomerFields, at: str) -> bool:
    """Rewrite a customer with `fields`; True (and `updated_date` = `at`) if anything changed."""
    custom_fields = _checked_custom_fields(store, fields, record)
    before = customer_view(store, record)
    _write(store, record, fields, custom_fields)
    changed = before != customer_view(store, record)
    if changed:
        record["updated_date"] = at
    return changed


def _write(
    store: RevioStore, record: Record, fields: CustomerFields, custom_fields: list[Any]
) -> None:
    customer_id = record["customer_id"]
    record |= {
        "parent_customer_id": fields.parent_customer_id,
        "account_number": fields.account_number or str(customer_id),
        "status": fields.status,
        "email": fields.email,
        "finance": fields.finance.model_dump(),
        "profile": fields.profile.model_dump(by_alias=True),
        "fields": custom_fields,
    }
    for role in ADDRESS_ROLES:
        held = record[f"{role}_id"]
        shared = any(record[f"{other}_id"] == held for other in ADDRESS_ROLES if other != role)
        record[f"{role}_id"] = save_role_address(
            store, customer_id, held, getattr(fields, role), shared and held is not None
        )
