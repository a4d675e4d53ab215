"""`python -m revsync.migrate`: bring the event-log schema of `DATABASE_URL` up to date, then exit.

The one-shot step that runs before the services: the `migrate` service of docker-compose.yml
and the `migrate` Job of deploy/k8s. Every process also applies the migrations when it starts
(idempotent, serialised by an advisory lock), so this step only makes a schema change happen
once, up front, instead of in whichever replica starts first. Exits non-zero when the
database stays unreachable for `CONNECT_TIMEOUT_S` or a migration fails.
"""

import asyncio
import time

import asyncpg

from revsync.db import connect
from revsync.eventlog.migrate import apply_migrations
from revsync.logs import configure_logging, get_logger
from revsync.settings import RuntimeSettings

log = get_logger(__name__)
CONNECT_TIMEOUT_S = 60.0
RETRY_DELAY_S = 1.0


async def _connect(url: str, timeout_s: float) -> asyncpg.Connection:
    """Connect, retrying while the server is still starting (a Job may start before it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await connect(url)
        except (OSError, asyncpg.CannotConnectNowError) as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("database not reachable yet; retrying", error=repr(error))
            await asyncio.sleep(RETRY_DELAY_S)


async def migrate(
    settings: RuntimeSettings | None = None, timeout_s: float = CONNECT_TIMEOUT_S
) -> list[str]:
    """Apply the migrations this database has not seen; return the names applied."""
    settings = settings or RuntimeSettings()
    conn = await _connect(settings.database_url, timeout_s)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


def main() -> None:
    settings = RuntimeSettings()
    configure_logging("migrate", settings.log_level)
    applied = asyncio.run(migrate(settings))
    log.info("database schema is current", applied=applied)


if __name__ == "__main__":
    main()
