"""A tenant's lifecycle beyond its settings: the list, whether its setup is finished, the
export of its event log (JSON lines), and its deletion.

A tenant created disabled (the wizard creates it so at its first step) waits for its setup:
it is not served (no polls, no decisions) until the wizard's Finish turns it on. Once
enabled or disabled since, it is the operator's to enable or disable.

Deletion is the one lifecycle change that is not an event (it removes the tenant's log): it
is logged, and refused unless the tenant is disabled and its newest export holds every one
of its events. It removes every row of the tenant from every table with a `tenant_id`
column (found in the schema, so a table added by a later migration is covered), in one
transaction. Then the tenant's messages go from the four streams (CHANGES, COMMANDS, RESULTS,
DLQ: its dead letters hold vendor data), each purged by the tenant's subject filter, which no
other tenant's subject matches. That purge is not in the transaction (NATS is not Postgres):
when it fails the rows are gone all the same, and deleting again purges what is left.
"""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats.errors
import orjson
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from revsync.contracts.subjects import Subjects
from revsync.db import Conn
from revsync.eventlog import EventStore, RecordedEvent
from revsync.logs import get_logger
from revsync.tenant_store import CREATED, LIFECYCLE_STREAM

log = get_logger(__name__)
_TENANT_TABLES = (
    "SELECT c.table_name FROM information_schema.columns c"
    " JOIN information_schema.tables t USING (table_schema, table_name)"
    " WHERE c.column_name = 'tenant_id' AND c.table_schema = current_schema()"
    " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name"
)
_EXPORTED = (
    "SELECT exported_at, exported_by, last_position, events FROM tenant_exports"
    " WHERE tenant_id = $1 ORDER BY exported_at DESC LIMIT 1"
)


class DeleteRefused(Exception):
    """The tenant cannot be deleted yet; the message says what to do first."""


class _DryRun(Exception):  # not an error: it rolls a dry run's deletion back
    def __init__(self, removed: dict[str, int]) -> None:
        self.removed = removed


class NoSuchTenant(Exception):
    pass


class PurgeFailed(Exception):
    """NATS did not purge the tenant's messages; the message says why."""


async def tenant_tables(conn: Conn) -> list[str]:
    """Every table with a `tenant_id` column."""
    return [row["table_name"] for row in await conn.fetch(_TENANT_TABLES)]


async def list_tenants(pool: asyncpg.Pool, only: str | None = None) -> list[dict[str, Any]]:
    """Every tenant (or `only` that one), with its newest event position and export."""
    rows = await pool.fetch(
        "SELECT t.tenant_id, t.name, t.enabled, t.updated_at,"
        " (SELECT max(global_position) FROM events e WHERE e.tenant_id = t.tenant_id) AS last,"
        " x.exported_at, x.exported_by, x.last_position FROM tenants t"
        " LEFT JOIN LATERAL (SELECT exported_at, exported_by, last_position FROM tenant_exports"
        "   WHERE tenant_id = t.tenant_id ORDER BY exported_at DESC LIMIT 1) x ON true"
        " WHERE $1::text IS NULL OR t.tenant_id = $1 ORDER BY t.tenant_id",
        only,
    )
    return [
        {
            "tenant": row["tenant_id"],
            "name": row["name"],
            "enabled": row["enabled"],
            "updated_at": row["updated_at"].isoformat(),
            "last_event_position": row["last"],
            "last_export": None
            if row["exported_at"] is None
            else {
                "exported_at": row["exported_at"].isoformat(),
                "exported_by": row["exported_by"],
                "last_position": row["last_position"],
            },
        }
        for row in rows
    ]


def waits_for_setup(lifecycle: list[RecordedEvent]) -> bool:
    """Whether a tenant's lifecycle says its setup is unfinished: created disabled, and
    neither enabled nor disabled since."""
    return (
        len(lifecycle) == 1
        and lifecycle[0].type == CREATED
        and lifecycle[0].data.get("enabled") is False
    )


async def setup_unfinished(pool: asyncpg.Pool, tenant_id: str) -> bool:
    return waits_for_setup(await EventStore(pool).read_stream(tenant_id, LIFECYCLE_STREAM))


def event_line(row: asyncpg.Record) -> bytes:
    return (
        orjson.dumps(
            {
                "position": row["global_position"],
                "tenant": row["tenant_id"],
                "stream": row["stream"],
                "version": row["version"],
                "type": row["type"],
                "data": row["data"],
                "metadata": row["metadata"],
                "id": str(row["id"]),
                "recorded_at": row["recorded_at"].isoformat(),
            }
        )
        + b"\n"
    )


async def export_events(pool: asyncpg.Pool, tenant_id: str, actor: str) -> AsyncIterator[bytes]:
    """Every event of the tenant in global order, one JSON line each, read in one snapshot;
    once the last line is out, the export is recorded (what deletion checks). The log holds
    no secrets (the settings events name the secrets that changed, never their values)."""
    last, count = 0, 0
    async with pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = conn.cursor(
                "SELECT global_position, tenant_id, stream, version, type, data, metadata, id,"
                " recorded_at FROM events WHERE tenant_id = $1 ORDER BY global_position",
                tenant_id,
                prefetch=500,
            )
            async for row in cursor:
                yield event_line(row)
                last, count = row["global_position"], count + 1
    await pool.execute(
        "INSERT INTO tenant_exports (tenant_id, exported_by, last_position, events)"
        " VALUES ($1, $2, $3, $4)",
        tenant_id,
        actor,
        last,
        count,
    )
    log.info("event log exported", tenant_id=tenant_id, actor=actor, events=count, last=last)


async def delete_tenant(
    pool: asyncpg.Pool, tenant_id: str, actor: str, dry_run: bool = False
) -> dict[str, int]:
    """Delete every row of a disabled tenant whose log was exported after its last event;
    returns the rows removed per table. DeleteRefused / NoSuchTenant otherwise. A dry run
    checks and deletes the same way, then rolls it all back: the rows it would remove."""
    try:
        return await _delete_tenant(pool, tenant_id, actor, dry_run)
    except _DryRun as dry:
        return dry.removed


async def _delete_tenant(
    pool: asyncpg.Pool, tenant_id: str, actor: str, dry_run: bool
) -> dict[str, int]:
    async with pool.acquire() as conn, conn.transaction():
        enabled = await conn.fetchval(
            "SELECT enabled FROM tenants WHERE tenant_id = $1 FOR UPDATE", tenant_id
        )
        if enabled is None:
            raise NoSuchTenant(tenant_id)
        if enabled:
            raise DeleteRefused(f"tenant {tenant_id} is enabled: disable it, export its log")
        export = await conn.fetchrow(_EXPORTED, tenant_id)
        if export is None:
            raise DeleteRefused(f"the event log of tenant {tenant_id} was never exported")
        gone = await conn.fetchrow(
            "WITH gone AS (DELETE FROM events WHERE tenant_id = $1 RETURNING global_position)"
            " SELECT count(*) AS n, coalesce(max(global_position), 0) AS last FROM gone",
            tenant_id,
        )
        assert gone is not None  # an aggregate always gives a row
        if gone["n"] != export["events"] or gone["last"] > export["last_position"]:
            when = export["exported_at"].isoformat(timespec="seconds")
            raise DeleteRefused(  # rolls the deletion back
                f"tenant {tenant_id} has events that its export of {when} does not hold:"
                " export its log again"
            )
        removed = {"events": int(gone["n"])}
        for table in await tenant_tables(conn):
            if table != "events":
                status = await conn.execute(
                    f'DELETE FROM "{table}" WHERE tenant_id = $1', tenant_id
                )
                removed[table] = int(status.split()[-1])
        if dry_run:
            raise _DryRun(removed)  # rolls every deletion back
        await conn.execute(
            "UPDATE api_tokens SET selected_tenant = NULL WHERE selected_tenant = $1", tenant_id
        )
    log.info(
        "tenant deleted",
        tenant_id=tenant_id,
        actor=actor,
        exported_at=export["exported_at"].isoformat(),
        rows={table: n for table, n in removed.items() if n},
    )
    return removed


async def count_messages(js: JetStreamContext, tenant_id: str) -> dict[str, int]:
    """How many messages of the tenant each stream holds (a stream not declared holds none).
    Counted from the stream's per-subject counts under the tenant's filter."""
    counts: dict[str, int] = {}
    for stream in Subjects.STREAMS:
        try:
            info = await js.stream_info(stream, Subjects.of_tenant(stream, tenant_id))
        except NotFoundError:
            counts[stream] = 0
            continue
        counts[stream] = sum((info.state.subjects or {}).values())
    return counts


async def held_messages(js: JetStreamContext | None, tenant_id: str) -> dict[str, int]:
    """How many messages of the tenant each stream holds; PurgeFailed if there is no NATS
    connection or NATS does not answer."""
    if js is None:
        raise PurgeFailed("the console is not connected to NATS")
    try:
        return await count_messages(js, tenant_id)
    except (nats.errors.Error, OSError) as error:
        raise PurgeFailed(str(error) or type(error).__name__) from error


async def purge_messages(js: JetStreamContext | None, tenant_id: str, actor: str) -> dict[str, int]:
    """Purge every message of the tenant from each stream that holds some, by the tenant's
    subject filter; returns per stream how many it held, counted just before (nats-py's purge
    answers no count), all 0 when there was nothing to purge. PurgeFailed if there is no
    NATS connection or NATS does not answer or refuses, after logging what was purged."""
    purged: dict[str, int] = {}
    try:
        counts = await held_messages(js, tenant_id)
        assert js is not None  # held_messages said so otherwise
        for stream, held in counts.items():
            if held:
                done = await js.purge_stream(stream, subject=Subjects.of_tenant(stream, tenant_id))
                if not done:
                    raise PurgeFailed(f"NATS did not purge stream {stream}")
                purged[stream] = held
    except (nats.errors.Error, OSError, PurgeFailed) as error:
        reason = str(error) or type(error).__name__
        log.warning(
            "tenant messages not purged", tenant_id=tenant_id, actor=actor, purged=purged,
            error=reason,
        )  # fmt: skip
        raise PurgeFailed(reason) from error
    if purged:
        log.info("tenant messages purged", tenant_id=tenant_id, actor=actor, messages=counts)
    return counts
