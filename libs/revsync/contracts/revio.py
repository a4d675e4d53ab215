"""Normalized Rev.io facts and commands. Vendor field names stay in the connector."""

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from revsync.contracts.base import Change, Command
from revsync.contracts.rmm import Model, Observation

CustomerStatus = Literal["OPEN", "PENDING", "PROSPECT", "CLOSED"]


class RevioAddress(Model):
    id: str
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    line_1: str | None = None
    line_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class RevioCustomer(Model):
    id: str
    name: str
    status: CustomerStatus = "OPEN"
    email: str | None = None
    customer_class: str | None = None
    bill_profile_id: str | None = None
    addresses: tuple[RevioAddress, ...] = ()
    updated_at: datetime | None = None
    rmm_company_id: str | None = None


class JournalEntry(Model):
    id: str
    text: str
    created_at: datetime | None = None
    written_by_revsync: bool = False


class RevioTicket(Model):
    id: str
    customer_id: str | None
    description: str
    status: str
    custom_status: str | None = None
    ticket_type: str | None = None
    closed: bool = False
    updated_at: datetime
    journal: tuple[JournalEntry, ...] = ()
    created_by_revsync: bool = False
    rmm_ticket_id: str | None = None
    created_at: datetime | None = Field(None, exclude=True)
    """When Rev.io created it, as read by the connector: only the connector's echo rule
    (`echo.as_created`) uses it, so it is left out of dumps: of content hashes (which it
    would change for every ticket known) and of the change messages."""


class RevioAsset(Model):
    id: str
    customer_id: str | None
    identifier: str
    asset_type_id: str
    status: str
    fields: dict[str, str] = {}


# --- changes: change.<tenant>.revio.<entity>.<kind> ------------------------------------------


class RevioCustomerChanged(Change):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "customer"
    kind: Observation
    customer: RevioCustomer


class RevioTicketChanged(Change):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "ticket"
    kind: Observation
    ticket: RevioTicket


class RevioAssetChanged(Change):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "asset"
    kind: Observation
    asset: RevioAsset


# --- commands: cmd.<tenant>.revio.<entity>.<verb> --------------------------------------------


class RevioCommand(Command):
    system: ClassVar[str] = "revio"


class CreateRevioCustomer(RevioCommand):
    entity: ClassVar[str] = "customer"
    verb: ClassVar[str] = "create"
    rmm_company_id: str
    name: str
    bill_profile_id: str
    customer_class: str
    address: RevioAddress | None = None


class UpdateRevioCustomer(RevioCommand):
    """Set the customer's name, address (its `RevioAddress` fields) and description.

    `expected` (optimistic concurrency): what the sender believes Rev.io holds now for the
    fields it changes (`name`, and the address's `line_1` ... `country`). When Rev.io holds
    something else (a person edited it meanwhile) nothing is written and the result is
    `conflict`; a field already holding the new value is no conflict."""

    entity: ClassVar[str] = "customer"
    verb: ClassVar[str] = "update"
    customer_id: str
    name: str | None = None
    address: RevioAddress | None = None
    description: str | None = None
    expected: dict[str, str | None] = {}


class UpsertRevioAsset(RevioCommand):
    """Create the asset, or update it when one with this identifier exists."""

    entity: ClassVar[str] = "asset"
    verb: ClassVar[str] = "upsert"
    asset_id: str | None = None
    customer_id: str
    identifier: str
    asset_type_id: str
    status: str = "ACTIVE"
    fields: dict[str, str] = {}


class CreateRevioTicket(RevioCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "create"
    source_key: str
    customer_id: str
    title: str
    description: str
    ticket_type: str | None = None
    priority: str | None = None
    rmm_ticket_id: str | None = None


class UpdateRevioTicket(RevioCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "update"
    ticket_id: str
    status: str | None = None
    custom_status: str | None = None
    description: str | None = None
    resolution: str | None = None  # why it was closed (Rev.io's `resolution` field)


class AddRevioJournalEntry(RevioCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "add_journal"
    ticket_id: str
    text: str
    source_note_id: str


class ListRevioEverything(RevioCommand):
    """Start a sync run's full listing: every customer (with addresses), ticket and asset is
    emitted as a `seen` change tagged with `run_id`, each with the total of its kind."""

    entity: ClassVar[str] = "listing"
    verb: ClassVar[str] = "start"
    run_id: UUID
