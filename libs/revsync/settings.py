"""Environment configuration, read once through pydantic-settings.

Every variable here is listed, with the same name, in `.env.example`, docker-compose.yml and
the Kubernetes ConfigMap/Secret.
"""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    """Settings shared by every revsync process."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server with JetStream")
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/revsync", description="PostgreSQL event log"
    )
    service_name: str = Field("revsync", description="name of this process's service")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector, e.g. http://jaeger:4318; unset: no export"
    )
    max_deliver: int = Field(8, ge=1, description="deliveries before a message goes to DLQ")
    tenant_max_in_flight: int | None = Field(
        None, ge=1, description="messages of one tenant handled at once per subscriber and"
        " process (unset: half the subscriber's workers)",
    )  # fmt: skip
    duplicate_window_s: float = Field(
        600.0, gt=0, description="JetStream de-duplication window (Nats-Msg-Id)"
    )
    db_pool_max: int = Field(10, ge=1, description="asyncpg pool size per process")
    stream_replicas: int = Field(
        1, ge=1, le=5, description="JetStream replicas of every stream (3 on a NATS cluster)"
    )


@lru_cache(maxsize=1)
def runtime_settings() -> RuntimeSettings:
    return RuntimeSettings()
