"""Normalized ConnectWise RMM facts and commands. Vendor field names stay in the connector."""

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from revsync.contracts.base import Change, Command

EndpointCategory = Literal["platform", "network", "cloud"]
Severity = Literal["Critical", "High", "Medium", "Low", "Info"]
StatusCategory = Literal["New", "InProgress", "Closed"]
Observation = Literal["changed", "seen", "deleted"]
# The endpoint custom field revsync writes the Rev.io asset id into (`RmmEndpoint.revio_asset_id`)
REVIO_ASSET_ID_FIELD = "Rev.io Asset ID"
# The RMM ticket source of alert tickets (the connector's default `RMM_ALERT_SOURCE`): a ticket
# revsync pushes to RMM must never carry it, or it would be taken for an alert
ALERT_TICKET_SOURCE = "Alert"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RmmSite(Model):
    id: str
    company_id: str
    name: str
    description: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None


class RmmCompany(Model):
    id: str
    name: str
    active: bool = True
    description: str | None = None
    sites: tuple[RmmSite, ...] = ()
    # the ids other products keep for this company in RMM (vendor `externalIds[].externalId`);
    # one equal to a Rev.io customer id is a strong key. Absent in older messages: ()
    external_ids: tuple[str, ...] = ()


class RmmEndpoint(Model):
    id: str
    company_id: str
    site_id: str | None = None
    category: EndpointCategory
    hostname: str
    endpoint_type: str | None = None
    os: str | None = None
    serial_number: str | None = None
    revio_asset_id: str | None = Field(None, description="value of the write-back custom field")


class TicketNote(Model):
    id: str
    text: str
    author: str | None = None
    created_at: datetime | None = None
    written_by_revsync: bool = False


class RmmTicket(Model):
    id: str
    company_id: str | None
    summary: str
    description: str | None = None
    status_id: str | None = None
    status_name: str | None = None
    status_category: StatusCategory = "New"
    priority: str | None = None
    board_id: str | None = None
    source: str | None = None
    updated_at: datetime
    version: int = 0
    endpoint_ids: tuple[str, ...] = ()
    notes: tuple[TicketNote, ...] = ()
    revio_ticket_id: str | None = Field(None, description="marker written by revsync")


class RmmAlert(Model):
    """An RMM alert, as observed through its alert ticket (ARCHITECTURE section 6)."""

    ticket_id: str
    endpoint_id: str | None
    company_id: str | None
    site_id: str | None = None
    condition_id: str
    alert_id: str | None = None
    severity: Severity
    summary: str
    description: str | None = None
    status_category: StatusCategory
    updated_at: datetime
    # the alert ticket's `version` (1 on creation, +1 on every update): tells a repeat raised
    # within the timestamp's resolution from a second delivery of the same observation; 0 when
    # the vendor gave none
    version: int = 0


# --- changes: change.<tenant>.rmm.<entity>.<kind> ---------------------------------------


class RmmCompanyChanged(Change):
    system: ClassVar[str] = "rmm"
    entity: ClassVar[str] = "company"
    kind: Observation
    company: RmmCompany


class RmmEndpointChanged(Change):
    system: ClassVar[str] = "rmm"
    entity: ClassVar[str] = "endpoint"
    kind: Observation
    endpoint: RmmEndpoint


class RmmTicketChanged(Change):
    system: ClassVar[str] = "rmm"
    entity: ClassVar[str] = "ticket"
    kind: Observation
    ticket: RmmTicket


class RmmAlertChanged(Change):
    system: ClassVar[str] = "rmm"
    entity: ClassVar[str] = "alert"
    kind: Literal["raised", "updated", "cleared", "seen"]
    alert: RmmAlert


# --- commands: cmd.<tenant>.rmm.<entity>.<verb> ---------------------------------------------


class RmmCommand(Command):
    system: ClassVar[str] = "rmm"


class CreateRmmCompany(RmmCommand):
    entity: ClassVar[str] = "company"
    verb: ClassVar[str] = "create"
    revio_customer_id: str
    name: str
    active: bool = True
    description: str


class UpdateRmmCompany(RmmCommand):
    entity: ClassVar[str] = "company"
    verb: ClassVar[str] = "update"
    company_id: str
    name: str | None = None
    active: bool | None = None
    description: str | None = None


class CreateRmmSite(RmmCommand):
    entity: ClassVar[str] = "site"
    verb: ClassVar[str] = "create"
    company_id: str
    revio_address_id: str
    site: RmmSite


class UpdateRmmSite(RmmCommand):
    entity: ClassVar[str] = "site"
    verb: ClassVar[str] = "update"
    site: RmmSite


class SetRmmEndpointCustomField(RmmCommand):
    entity: ClassVar[str] = "endpoint"
    verb: ClassVar[str] = "set_custom_field"
    endpoint_id: str
    field_name: str
    value: str


class CreateRmmTicket(RmmCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "create"
    revio_ticket_id: str
    company_id: str
    summary: str
    description: str
    board_id: str
    source_id: str


class UpdateRmmTicket(RmmCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "update"
    ticket_id: str
    summary: str | None = None
    description: str | None = None
    status_category: StatusCategory | None = None


class AddRmmTicketNote(RmmCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "add_note"
    ticket_id: str
    text: str
    source_note_id: str


class CloseRmmTicket(RmmCommand):
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "close"
    ticket_id: str


class ListRmmEverything(RmmCommand):
    """Start a sync run's full listing: every company, site, endpoint and ticket is emitted
    as a `seen` change tagged with `run_id`, each with the total of its kind."""

    entity: ClassVar[str] = "listing"
    verb: ClassVar[str] = "start"
    run_id: UUID
