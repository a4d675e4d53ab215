"""Rev.io accounts (client codes) served by the sandbox, each with its own user and data."""

from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from services.sandbox.revio.dates import revio_now
from services.sandbox.revio.ratelimit import CallCounter
from services.sandbox.revio.store import RevioStore

Access = Literal["read", "write"]

PERMISSION_RESOURCES = (
    "Customers",
    "Addresses",
    "BillProfiles",
    "Notes",
    "Tickets",
    "TicketJournals",
    "TicketTypes",
    "TicketStatuses",
    "InventoryTypes",
    "InventoryItem",
    "WebhookReceivers",
    "WebhookSubscriptions",
)
ALL_PERMISSIONS = frozenset(
    f"{resource}:{access}" for resource in PERMISSION_RESOURCES for access in ("read", "write")
)
"""Permission names are `<Resource>:read` and `<Resource>:write` (a role in Rev.io's UI)."""


@dataclass
class RevioAccount:
    """One Rev.io client code: its API user, that user's permissions and the account's data."""

    client_code: str
    username: str
    password: str
    store: RevioStore = field(default_factory=RevioStore)
    permissions: frozenset[str] = ALL_PERMISSIONS
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    calls: CallCounter = field(default_factory=CallCounter)

    def now(self) -> str:
        """The current zone-less date of this account, for `created_date` and the like."""
        return revio_now(self.time_zone)

    def may(self, resource: str, access: Access) -> bool:
        return f"{resource}:{access}" in self.permissions
