"""The health view: consumer lag per service, last successful poll per resource, vendor calls
against the documented limits, and the dead-letter count.

- lag: every durable consumer of the CHANGES, COMMANDS and RESULTS streams (consumers are
  shared by all tenants, so lag is not per tenant);
- polls: `watermarks.updated_at` per resource, and the last time each kind of object was
  reported (`object_hashes.seen_at`);
- quota: today's calls of the shared daily counters (`rate_daily`) against each vendor's
  documented daily limit, how long callers currently queue for a slot (`rate_limiter`), and
  the calls this console process made itself;
- without a tenant (anonymous callers, operators who name none) every figure is summed over
  all tenants and no tenant id is shown.
"""

from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from revsync.vendor.metrics import calls_made

from services.console.dead_letters import dlq_size

STREAMS = ("CHANGES", "COMMANDS", "RESULTS")
DAILY_LIMITS = {"revio": 150_000}  # ARCHITECTURE section 6; RMM limits are per 5 minutes
KNOWN_SERVICES = (
    "cwrmm-connector",
    "cwrmm_connector",
    "revio-connector",
    "revio_connector",
    "company",
    "asset",
    "alert",
    "ticket",
    "console",
)


def service_of(consumer: str) -> str:
    matches = [s for s in KNOWN_SERVICES if consumer.startswith(s + "-")]
    return max(matches, key=len) if matches else consumer.split("-", 1)[0]


async def consumer_lag(js: JetStreamContext) -> list[dict[str, Any]]:
    found = []
    for stream in STREAMS:
        for info in await js.consumers_info(stream):
            found.append(
                {
                    "service": service_of(info.name),
                    "consumer": info.name,
                    "stream": stream,
                    "pending": info.num_pending,
                    "in_flight": info.num_ack_pending,
                    "redelivered": info.num_redelivered,
                }
            )
    return sorted(found, key=lambda c: (c["service"], c["consumer"]))


def _tenant_clause(tenant_id: str | None, column: str = "tenant_id") -> tuple[str, list[Any]]:
    return (f"WHERE {column} = $1", [tenant_id]) if tenant_id else ("", [])


async def polls(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    where, args = _tenant_clause(tenant_id)
    watermarks = await pool.fetch(
        f"SELECT system, resource, max(updated_at) AS at FROM watermarks {where}"
        " GROUP BY system, resource",
        *args,
    )
    seen = await pool.fetch(
        f"SELECT system, entity AS resource, max(seen_at) AS at FROM object_hashes {where}"
        " GROUP BY system, entity",
        *args,
    )
    merged: dict[tuple[str, str], datetime] = {}
    for row in [*watermarks, *seen]:
        key = (row["system"], row["resource"])
        merged[key] = max(merged.get(key, row["at"]), row["at"])
    now = datetime.now(UTC)
    return [
        {
            "system": system,
            "resource": resource,
            "last_success": at.isoformat(),
            "age_seconds": round((now - at).total_seconds(), 1),
        }
        for (system, resource), at in sorted(merged.items())
    ]


async def quota(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    where, args = _tenant_clause(tenant_id)
    daily_where = (where + " AND" if where else "WHERE") + " day = (now() AT TIME ZONE 'utc')::date"
    daily = await pool.fetch(
        f"SELECT vendor, bucket, sum(used)::bigint AS used FROM rate_daily {daily_where}"
        " GROUP BY vendor, bucket ORDER BY vendor, bucket",
        *args,
    )
    queued = {
        (row["vendor"], row["bucket"]): float(row["queued"] or 0)
        for row in await pool.fetch(
            "SELECT vendor, bucket, max(greatest(0, extract(epoch FROM tat - clock_timestamp())))"
            f" AS queued FROM rate_limiter {where} GROUP BY vendor, bucket",
            *args,
        )
    }
    found = []
    for row in daily:
        limit = DAILY_LIMITS.get(row["vendor"])
        found.append(
            {
                "vendor": row["vendor"],
                "bucket": row["bucket"],
                "used_today": row["used"],
                "daily_limit": limit,
                "used_fraction": round(row["used"] / limit, 4) if limit else None,
                "queued_seconds": round(queued.pop((row["vendor"], row["bucket"]), 0.0), 2),
            }
        )
    for (vendor, bucket), seconds in sorted(queued.items()):
        found.append(
            {
                "vendor": vendor,
                "bucket": bucket,
                "used_today": None,
                "daily_limit": DAILY_LIMITS.get(vendor),
                "used_fraction": None,
                "queued_seconds": round(seconds, 2),
            }
        )
    return found


async def _console_calls(pool: asyncpg.Pool, tenant_id: str | None) -> dict[str, int]:
    if tenant_id:
        return calls_made(tenant_id)
    summed: dict[str, int] = {}
    for row in await pool.fetch("SELECT tenant_id FROM tenants"):
        for call, count in calls_made(row["tenant_id"]).items():
            summed[call] = summed.get(call, 0) + count
    return summed


async def health(
    pool: asyncpg.Pool, js: JetStreamContext | None, tenant_id: str | None
) -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok", "tenant": tenant_id, "checks": {}}
    try:
        await pool.fetchval("SELECT 1")
        report["checks"]["database"] = "ok"
    except (OSError, asyncpg.PostgresError) as error:
        report["checks"]["database"] = f"failed: {error}"
        report["status"] = "degraded"
        return report
    report["polls"] = await polls(pool, tenant_id)
    report["quota"] = await quota(pool, tenant_id)
    report["console_calls"] = await _console_calls(pool, tenant_id)
    if js is None:
        report["checks"]["nats"] = "not connected"
        report["status"] = "degraded"
        return report
    try:
        report["consumers"] = await consumer_lag(js)
        report["dead_letters"] = await dlq_size(js, tenant_id)
        report["checks"]["nats"] = "ok"
    except (NatsError, TimeoutError) as error:
        report["checks"]["nats"] = f"failed: {error!r}"
        report["status"] = "degraded"
    return report
