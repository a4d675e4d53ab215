"""Rev.io addresses: their own records (`/v1/Addresses`), embedded in customers by role."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.store import Record, RevioStore

ADDRESS_ROLES = ("billing_address", "service_address", "listing_address")
UNITED_STATES = 235
"""Rev.io's integer country code for the USA, as in its documentation's examples."""


class AddressFields(BaseModel):
    """An address as a client writes it; `address_id` only identifies an existing one."""

    model_config = ConfigDict(extra="forbid")

    address_id: int | None = None
    company_name: str = ""
    first_name: str = ""
    last_name: str = ""
    line_1: str = ""
    line_2: str = ""
    city: str = ""
    state_or_province: str = ""
    postal_code: str = ""
    postal_code_extension: str = ""
    country_code: int = Field(UNITED_STATES, ge=0, le=999)


def embedded_address(store: RevioStore, address_id: int | None) -> Record | None:
    """The address as shown inside a customer (without `customer_id`)."""
    if address_id is None:
        return None
    address = dict(store.addresses.rows[address_id])
    del address["customer_id"]
    return address


def check_role_address(current_id: int | None, fields: AddressFields | None) -> None:
    """An `address_id` other than the one the role holds is refused (ids are read-only)."""
    if fields is not None and fields.address_id not in (None, current_id):
        raise RevioError(400, f"address_id {fields.address_id} is read-only here.")


def save_role_address(
    store: RevioStore,
    customer_id: int,
    held_id: int | None,
    fields: AddressFields | None,
    shared: bool,
) -> int | None:
    """Write the address a customer holds in one role; the id the role holds afterwards.

    The held address is updated in place, unless another role shares it and this write
    changes it: then the role gets an address of its own.
    """
    if fields is None:
        return None
    values: dict[str, Any] = fields.model_dump(exclude={"address_id"})
    held = store.addresses.rows.get(held_id) if held_id is not None else None
    changes = held is not None and any(held[name] != value for name, value in values.items())
    if held is None or (shared and changes):
        return int(store.addresses.insert({"customer_id": customer_id, **values})["address_id"])
    held.update(values)
    return held_id
