"""The connector's environment, read once (pydantic-settings). Same names in `.env.example`,
docker-compose and the Kubernetes manifests."""

from pydantic import AliasChoices, Field, SecretStr
from revsync.settings import RuntimeSettings


class RevioConnectorSettings(RuntimeSettings):
    """The runtime settings every process reads, and the connector's own (`REVIO_*`)."""

    service_name: str = "revio-connector"
    revsync_secret_key: SecretStr | None = Field(None, description="Fernet key of tenant secrets")
    revio_connector_port: int | None = Field(
        8090,
        validation_alias=AliasChoices("revio_connector_port", "service_port"),
        description="HTTP port: webhooks, /metrics, /healthz, /readyz (unset: no HTTP server)",
    )
    revio_webhook_public_url: str | None = Field(
        None, description="public base URL of this service for Rev.io webhooks; unset: none"
    )
    revio_poll_interval_s: float = Field(30.0, gt=0, description="customers and tickets poll")
    revio_asset_poll_interval_s: float = Field(600.0, gt=0, description="asset full listing")
    revio_reconcile_interval_s: float = Field(1800.0, gt=0, description="full reconciliation")
    revio_poll_overlap_s: float = Field(
        120.0, ge=0, description="incremental polls re-read this far behind the watermark"
    )
    revio_time_zone: str = Field("UTC", description="zone of Rev.io's zone-less dates")
    revio_asset_type: str | None = Field(
        None, description="inventory type (name or id) of assets; tenant asset_type wins"
    )
    revio_billing_method: str = Field("EMAIL", description="bill method of created customers")
    revio_default_ticket_type: str = Field("General", description="type of tickets without one")
    revio_http_timeout_s: float = Field(30.0, gt=0)
    revio_create_settle_s: float = Field(
        10.0, ge=0, description="wait after a failed create before looking for its marker"
    )
    revio_rate_per_minute: int = Field(500, ge=1, description="Rev.io limit per account")
    revio_rate_per_day: int = Field(150_000, ge=1, description="Rev.io daily quota per account")
    revio_lease_ttl_s: float = Field(300.0, gt=0, description="poll lease of a replica")
    revio_tenant_reload_s: float = Field(30.0, gt=0, description="tenant list refresh")
    revio_command_workers: int = Field(8, ge=1, description="concurrent commands per kind")
    revio_tenant_max_in_flight: int = Field(
        6, ge=1, description="commands of one tenant handled at once, all kinds, per process"
    )
    revio_command_ack_wait_s: float = Field(60.0, gt=0, description="JetStream ack wait")
    revio_listing_ack_wait_s: float = Field(1800.0, gt=0, description="ack wait of listings")
