"""Numbered SQL migrations, applied on start-up, idempotent and safe to run concurrently."""

from importlib import resources

from revsync.db import Conn
from revsync.logs import get_logger

log = get_logger(__name__)
_LOCK_KEY = 0x72657673  # "revs": serialises migrators across processes


def available_migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with revsync, in order."""
    folder = resources.files("revsync.eventlog") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text()))
    return sorted(found)


async def apply_migrations(conn: Conn) -> list[str]:
    """Apply the migrations this database has not seen; return the names applied."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, name, sql in available_migrations():
            if number in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, name
            )
            applied_now.append(name)
    if applied_now:
        log.info("migrations applied", migrations=applied_now)
    return applied_now
