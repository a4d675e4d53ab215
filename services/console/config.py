"""The console's environment (pydantic-settings; the same names in `.env.example`)."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from revsync.runtime import ServiceSettings


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = "console"
    console_port: int = Field(8080, description="port of the REST API and the web UI")
    console_host: str = Field("0.0.0.0", description="interface the console listens on")
    jaeger_ui_url: str | None = Field(
        None, description="Jaeger UI, e.g. http://localhost:16686; audit entries link traces"
    )
    revsync_admin_user: str | None = Field(None, description="bootstrap operator's user name")
    revsync_admin_password: SecretStr | None = Field(
        None, description="bootstrap operator's password (unset: no bootstrap operator)"
    )
    console_secure_cookies: bool = Field(
        False, description="mark session cookies Secure (set behind HTTPS)"
    )
    console_session_hours: float = Field(12.0, gt=0, description="lifetime of a UI session")
    console_token_days: float = Field(30.0, gt=0, description="lifetime of an API token")
    sync_quiet_s: float = Field(
        30.0,
        gt=0,
        description="a listed sync run is done when no decision came for this long",
    )


@lru_cache(maxsize=1)
def console_settings() -> ConsoleSettings:
    return ConsoleSettings()
