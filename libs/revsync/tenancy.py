"""A tenant: one MSP's pair of accounts, its connections and its sync settings.

Settings are event-sourced (`SettingsChanged` on the tenant's `settings` stream, with the
actor). Secrets (the RMM client secret, the Rev.io password and subscription key) never enter
the event log: they are stored encrypted (Fernet, key from `REVSYNC_SECRET_KEY`) in
`tenant_secrets`, and the event records only that a secret changed.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from revsync.contracts.subjects import TenantId

SEVERITY_ORDER: tuple[str, ...] = ("Info", "Low", "Medium", "High", "Critical")
RMM_REGIONS = {
    "NA": "https://openapi.service.itsupport247.net",
    "EU": "https://openapi.service.euplatform.connectwise.com",
    "AU": "https://openapi.service.auplatform.connectwise.com",
}
ENDPOINT_CATEGORIES = ("platform", "network", "cloud")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RmmConnection(Strict):
    region: Literal["NA", "EU", "AU"] | None = "NA"
    base_url: str | None = Field(
        None, description="explicit base URL (the sandbox); wins over region"
    )
    client_id: str = ""
    client_secret: SecretStr | None = Field(None, description="write-only")

    @property
    def url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return RMM_REGIONS[self.region or "NA"]


class RevioConnection(Strict):
    base_url: str = "https://api.revioapi.com/v1"
    username: str = ""
    client_code: str = ""
    password: SecretStr | None = Field(None, description="write-only")
    subscription_key: SecretStr | None = Field(None, description="write-only, optional")

    @field_validator("username")
    @classmethod
    def _not_an_email(cls, value: str) -> str:
        if "@" in value:
            raise ValueError(
                "the Rev.io user name must not contain '@' (it is joined with "
                "'@clientcode' for Basic auth)"
            )
        return value


class SyncSettings(Strict):
    """The rules of ARCHITECTURE section 5, under the names the console API uses."""

    create_mode: bool = False
    rmm_to_revio_sync: bool = False
    bill_profile: str | None = None
    customer_identity: str | None = None
    asset_sync_enabled: bool = False
    endpoint_categories: list[str] = Field(default_factory=lambda: ["platform"])
    asset_type: str | None = None
    write_revio_id_to_rmm: bool = False
    sync_alerts: bool = False
    min_alert_severity: str = "High"
    sync_manual_tickets: bool = False
    auto_close_on_alert_clear: bool = False
    revio_to_rmm_tickets: bool = False
    default_service_board: str | None = None
    default_ticket_source: str | None = None
    alert_ticket_type: str | None = None

    @field_validator("endpoint_categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        """Known categories in any case (`Platform` is `platform`), each once, sorted."""
        given = {category.strip().lower() for category in value}
        unknown = sorted(given - set(ENDPOINT_CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown categories {unknown}; choose from {list(ENDPOINT_CATEGORIES)}"
            )
        return sorted(given)

    @field_validator("min_alert_severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        """A severity in any case (`high` is `High`), stored as `SEVERITY_ORDER` spells it."""
        for severity in SEVERITY_ORDER:
            if severity.casefold() == value.strip().casefold():
                return severity
        raise ValueError(f"unknown severity {value!r}; choose from {list(SEVERITY_ORDER)}")

    @model_validator(mode="after")
    def _rev_io_to_rmm_needs_board_and_source(self) -> "SyncSettings":
        if self.revio_to_rmm_tickets and not (
            self.default_service_board and self.default_ticket_source
        ):
            raise ValueError(
                "revio_to_rmm_tickets needs default_service_board and default_ticket_source"
            )
        return self


class Tenant(Strict):
    id: TenantId
    name: str
    enabled: bool = True
    rmm: RmmConnection = Field(default_factory=lambda: RmmConnection())
    revio: RevioConnection = Field(default_factory=lambda: RevioConnection())
    settings: SyncSettings = Field(default_factory=SyncSettings)
