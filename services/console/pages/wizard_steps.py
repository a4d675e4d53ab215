"""The wizard's steps and fields, in order: Initial Configuration, CW RMM Connection, Sync
Settings, Asset Sync, Ticket & Alert Settings, Finish. Each field explains itself in one line;
dropdowns take their options from what the systems hold (`settings_service.lookups`)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from revsync.tenancy import RMM_REGIONS

Options = Callable[[dict[str, Any]], list[tuple[str, str]] | None]


@dataclass(frozen=True)
class FromSystem:
    """Options read from a system's lookups (`key`: `boards`, `bill_profiles`...), each
    value an item's `by` (its id, or its name)."""

    system: str
    key: str
    by: str = "id"

    def __call__(self, found: dict[str, Any]) -> list[tuple[str, str]] | None:
        side = found[self.system]
        if not side.get("ok"):
            return None
        return [
            (
                str(item[self.by]),
                (f"{item['name']} ({item['id']})" if self.by == "id" else item["name"])
                + ("" if item["active"] else " - inactive"),
            )
            for item in side[self.key]
        ]

    def name_of(self, found: dict[str, Any], value: Any) -> str | None:
        """The name of the item the value is (None: not known, or the system unreachable)."""
        side = found[self.system]
        for item in side.get(self.key, []) if side.get("ok") else []:
            if str(item[self.by]) == str(value):
                return str(item["name"])
        return None


def _fixed(key: str) -> Options:
    return lambda found: [(value, value) for value in found[key]]


@dataclass(frozen=True)
class Spec:
    name: str  # the API name: a setting, or `rmm.client_id`
    label: str
    help: str
    kind: str = "text"  # text, secret, checkbox, select, multi
    options: Options | None = None
    system: str | None = None  # whose lookups fill the dropdown

    def words(self, value: Any, found: dict[str, Any]) -> str:
        """The stored value as a person reads it: on/off, a board's name rather than its id
        (the id when the system cannot be read or holds no such board), lists joined. Not
        for secrets."""
        if self.kind == "checkbox":
            return "on" if value else "off"
        if value is None or value == "" or value == []:
            return "not set"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if isinstance(self.options, FromSystem):
            return self.options.name_of(found, value) or str(value)
        labels = dict(self.options(found) or []) if self.options else {}
        return labels.get(str(value), str(value))


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    intro: str
    specs: tuple[Spec, ...]

    @property
    def fields(self) -> set[str]:
        return {spec.name for spec in self.specs}


REGIONS: Options = lambda _: [(r, f"{r} ({u})") for r, u in RMM_REGIONS.items()]  # noqa: E731
STEPS: tuple[Step, ...] = (
    Step(
        "initial",
        "Initial Configuration",
        "Name this MSP and connect its Rev.io account.",
        (
            Spec("name", "MSP name", "How this tenant is shown in the console."),
            Spec("revio.base_url", "Rev.io API URL", "The Rev.io REST API, ending in /v1."),
            Spec(
                "revio.username",
                "Rev.io user name",
                "A dedicated API user, without '@' (it is joined with @client code).",
            ),
            Spec("revio.client_code", "Rev.io client code", "Your account's client code."),
            Spec(
                "revio.password",
                "Rev.io password",
                "Stored encrypted and never shown again; leave empty to keep the stored one.",
                "secret",
            ),
            Spec(
                "revio.subscription_key",
                "Subscription key (optional)",
                "Only for api.revioapi.com (Azure API Management); leave empty if not needed.",
                "secret",
            ),
        ),
    ),
    Step(
        "rmm",
        "CW RMM Connection",
        "The OAuth client credentials generated in RMM (Integrations > API Access).",
        (
            Spec("rmm.region", "Region", "Where your RMM account lives.", "select", REGIONS),
            Spec(
                "rmm.base_url",
                "Base URL (optional)",
                "Only to reach another host, e.g. the sandbox; it wins over the region.",
            ),
            Spec("rmm.client_id", "Client id", "The API client id from RMM."),
            Spec(
                "rmm.client_secret",
                "Client secret",
                "Stored encrypted and never shown again; leave empty to keep the stored one.",
                "secret",
            ),
        ),
    ),
    Step(
        "sync",
        "Sync Settings",
        "How customers and companies are kept in step.",
        (
            Spec(
                "create_mode",
                "Create RMM companies",
                "On: a new Rev.io customer becomes an RMM company with a site per address."
                " Off: it is held for linking by hand.",
                "checkbox",
            ),
            Spec(
                "rmm_to_revio_sync",
                "RMM -> Rev.io updates",
                "On: name, address and description flow from RMM to linked Rev.io customers"
                " (Rev.io still wins conflicts).",
                "checkbox",
            ),
            Spec(
                "bill_profile",
                "Bill profile",
                "Given to Rev.io customers created from RMM companies; must be active.",
                "select",
                FromSystem("revio", "bill_profiles"),
                "revio",
            ),
            Spec(
                "customer_identity",
                "Customer identity",
                "The Rev.io customer class of customers created from RMM companies.",
                "select",
                _fixed("customer_classes"),
            ),
        ),
    ),
    Step(
        "assets",
        "Asset Sync",
        "RMM endpoints become Rev.io assets.",
        (
            Spec(
                "asset_sync_enabled",
                "Sync assets",
                "Master switch: off means no asset work and no API calls for it at all.",
                "checkbox",
            ),
            Spec(
                "endpoint_categories",
                "Endpoint categories",
                "Only endpoints of these categories are synced.",
                "multi",
                _fixed("categories"),
            ),
            Spec(
                "asset_type",
                "Asset type",
                "The Rev.io inventory type given to assets created from endpoints.",
                "select",
                FromSystem("revio", "inventory_types", by="name"),
                "revio",
            ),
            Spec(
                "write_revio_id_to_rmm",
                "Write the Rev.io id back",
                "Puts the Rev.io asset id into the endpoint's custom field (only when it changed).",
                "checkbox",
            ),
        ),
    ),
    Step(
        "tickets",
        "Ticket & Alert Settings",
        "RMM alerts become Rev.io tickets; manual tickets can flow both ways.",
        (
            Spec(
                "sync_alerts",
                "Sync alerts",
                "Off: no alert becomes a ticket at all.",
                "checkbox",
            ),
            Spec(
                "alert_ticket_type",
                "Alert ticket type",
                "The Rev.io ticket type of alert tickets; it must exist in Rev.io.",
                "select",
                FromSystem("revio", "ticket_types", by="name"),
                "revio",
            ),
            Spec(
                "min_alert_severity",
                "Minimum severity",
                "Alerts below it are skipped (and the skip is logged in the audit trail).",
                "select",
                _fixed("severities"),
            ),
            Spec(
                "sync_manual_tickets",
                "Sync manual tickets",
                "Non-alert RMM tickets sync both ways: fields, status and notes.",
                "checkbox",
            ),
            Spec(
                "auto_close_on_alert_clear",
                "Auto-close on clear",
                "When an alert clears, its Rev.io ticket moves to the 'auto-closed' status"
                " (which must exist in Rev.io).",
                "checkbox",
            ),
            Spec(
                "revio_to_rmm_tickets",
                "Rev.io -> RMM tickets",
                "Tickets created by hand in Rev.io are pushed to RMM (needs a board and source).",
                "checkbox",
            ),
            Spec(
                "default_service_board",
                "Service board",
                "The RMM board tickets from Rev.io land on.",
                "select",
                FromSystem("rmm", "boards"),
                "rmm",
            ),
            Spec(
                "default_ticket_source",
                "Ticket source",
                "The RMM source tickets from Rev.io are given.",
                "select",
                FromSystem("rmm", "sources"),
                "rmm",
            ),
        ),
    ),
    Step("finish", "Finish", "Everything is checked once more, then the initial sync starts.", ()),
)
BY_SLUG = {step.slug: step for step in STEPS}
STEP_OF_FIELD = {spec.name: step for step in STEPS for spec in step.specs}
