"""Every environment variable the connector reads, in one place (with `RuntimeSettings`'
NATS_URL, DATABASE_URL, LOG_LEVEL, DB_POOL_MAX, ... inherited)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict
from revsync.contracts.rmm import ALERT_TICKET_SOURCE
from revsync.runtime import ServiceSettings

SERVICE = "cwrmm-connector"


class ConnectorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = Field(SERVICE, description="durable consumer / inbox name prefix")
    db_pool_max: int = Field(20, ge=4, description="asyncpg pool size (commands hold one)")
    service_port: int | None = Field(
        None,
        validation_alias=AliasChoices("METRICS_PORT", "SERVICE_PORT", "service_port"),
        description="port of /metrics, /healthz and /readyz; unset: not served",
    )
    rmm_tenants: str = Field("", description="comma-separated tenant ids served; empty: all")
    rmm_tenant_reload_s: float = Field(30.0, gt=0, description="tenant list re-read interval")
    rmm_poll_interval_s: float = Field(60.0, gt=0, description="tickets and alerts")
    rmm_company_poll_interval_s: float = Field(300.0, gt=0, description="companies + sites")
    rmm_endpoint_poll_interval_s: float = Field(900.0, gt=0, description="endpoints")
    rmm_reconcile_interval_s: float = Field(1800.0, gt=0, description="full reconciliation")
    rmm_alert_source: str = Field(
        ALERT_TICKET_SOURCE, description="ticket source name of alert tickets"
    )
    rmm_ticket_page_size: int = Field(100, ge=1, le=1000)
    rmm_http_timeout_s: float = Field(30.0, gt=0)
    rmm_http_attempts: int = Field(6, ge=1, description="attempts per call (transient errors)")
    rmm_retry_budget_s: float = Field(120.0, gt=0, description="time allowed for retries")
    rmm_token_refresh_margin_s: float = Field(300.0, ge=0, description="refresh this early")
    rmm_enforce_rate_limits: bool = Field(True, description="pace calls under vendor limits")
    rmm_default_bucket_limit: int = Field(
        35, ge=1, description="calls per bucket per 5 minutes when GET /v1/rate_limits fails"
    )
    rmm_lease_ttl_s: float = Field(60.0, gt=0, description="poll lease; renewed while polling")
    rmm_command_workers: int = Field(4, ge=1, description="concurrent messages per subscriber")
    rmm_max_in_flight_commands: int = Field(4, ge=1, description="across tenants, per process")
    rmm_tenant_max_in_flight: int = Field(2, ge=1, description="per tenant, per process")
    rmm_command_max_deliver: int = Field(20, ge=1)
    rmm_command_ack_wait_s: float = Field(120.0, gt=0)
    rmm_run_outbox_relay: bool = Field(True, description="publish command results in-process")
    rmm_site_time_zone: str = Field(
        "(UTC-05:00) Eastern Time (US & Canada)", description="time zone of sites we create"
    )
    rmm_default_country_code: str = Field("US", description="for site addresses without one")
    rmm_tick_s: float = Field(1.0, gt=0, description="how often due work is checked")

    def served_tenants(self) -> set[str] | None:
        names = {t.strip() for t in self.rmm_tenants.split(",") if t.strip()}
        return names or None
