"""The health view: consumer lag per service, last successful poll per resource, vendor calls
against the documented limits, and the dead-letter count.

- lag: every durable consumer of the CHANGES, COMMANDS and RESULTS streams. A consumer is
  shared by all tenants, so its own figures are for everyone; with a tenant, each consumer
  also says how much of its lag is that tenant's, and an operator can ask for every tenant's
  (`tenant_lag`). JetStream keeps no per-subject count of what a consumer has left, but it
  counts exactly and cheaply (from its subject index, without reading messages) the
  messages that a filter matches from a sequence on: an ephemeral consumer, created and
  deleted at once, with the consumer's filter narrowed to the tenant (`cmd.*.x.y` ->
  `cmd.<tenant>.x.y`) answers `num_pending`:
  - `pending`, from the consumer's delivered cursor: the tenant's messages not yet
    delivered (exact);
  - `unacked_at_most`, from its ack floor: those plus the tenant's delivered but
    unacknowledged ones (in flight, or deferred for fairness, which is where a noisy
    tenant's backlog waits); an upper bound, since messages acknowledged out of order above
    the floor count too.
  Only consumers with something pending or unacknowledged are asked, and for the operator
  view only the tenants that have messages on the consumer's subjects (the stream's
  per-subject state), so an idle system costs no more than before;
- polls: `watermarks.updated_at` per resource, and the last time each kind of object was
  reported (`object_hashes.seen_at`); the RMM connector's sync-run listing jobs, kept as
  `listing:<run>` watermarks, are not polls and are left out (one per sync run);
- outbox: messages decided and not yet published, and those waiting after a failed publish
  (with the latest error: a subject no stream holds, NATS down);
- command windows: bulk commands (assets, company updates) held until their tenant's window
  has room, and those in flight, per window (`revsync.command_window`; summed over tenants
  without one): a big initial sync shows here as a long queue that shrinks, not as a
  backlog in the connectors' consumers;
- quota: today's calls of the shared daily counters (`rate_daily`, every vendor's) against
  each vendor's documented daily limit (if it has one), how long callers currently queue
  for a slot (`rate_limiter`), and the calls this console process made itself;
- without a tenant (anonymous callers, operators who name none) every figure is summed over
  all tenants and no tenant id is shown (but to an operator who asks for every tenant's lag).

`status` is `degraded` when PostgreSQL or NATS fail, and also when something needs an
operator (`problems`, plain sentences, `judge`): dead letters (the tenant's; anyone's
without a tenant), messages waiting in the outbox after a failed publish, or a poll that
stopped or never ran (its mark not written for `STALE_AFTER_INTERVALS` times its interval,
at least `STALE_FLOOR_S`, since it was or since the tenant was enabled or reconfigured;
`stale_polls`). A consumer redelivering messages is a `warning` only (a vendor's short
outage is retried; what fails for good ends as a dead letter, a problem); warnings leave the
status `ok`. Vendor trouble never changes the HTTP answer (`/api/health` waits for the
console to start, in the stack and e2e tests; the probes use `/healthz` and `/readyz` on
SERVICE_PORT).
"""

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from pydantic import BaseModel
from revsync.contracts.subjects import Subjects
from revsync.tenancy import SyncSettings
from revsync.vendor.metrics import calls_made

from services.console.dead_letters import dlq_size
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.watchers import TenantWatcher
from services.revio_connector.settings import RevioConnectorSettings

STREAMS = ("CHANGES", "COMMANDS", "RESULTS")
LAG_QUERIES_AT_ONCE = 8
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
LISTING_PREFIX = "listing:"  # services/cwrmm_connector/listings.py: a sync run's job, no poll
STALE_AFTER_INTERVALS = 10
STALE_FLOOR_S = 600.0


@dataclass(frozen=True)
class PollMark:
    """A watermark a connector writes after each successful poll of a resource, with the
    connector's default interval (its settings may differ: hence the wide margin) and what
    to check when it stops."""

    what: str
    every_s: float
    connector: str

    @property
    def stale_after_s(self) -> float:
        return max(STALE_AFTER_INTERVALS * self.every_s, STALE_FLOOR_S)


RMM = "the RMM connection and the cwrmm-connector's log"
REVIO = "the Rev.io connection and the revio-connector's log"


def _default(settings: type[BaseModel], field: str) -> float:
    """A connector's default interval (its own settings' field default)."""
    return float(settings.model_fields[field].default)


POLL_MARKS: dict[tuple[str, str], PollMark] = {  # (system, watermark)
    ("rmm", "polled:tickets"): PollMark(
        "RMM tickets and alerts", _default(ConnectorSettings, "rmm_poll_interval_s"), RMM
    ),
    ("rmm", "polled:companies"): PollMark(
        "RMM companies and sites", _default(ConnectorSettings, "rmm_company_poll_interval_s"), RMM
    ),
    ("rmm", "polled:endpoints"): PollMark(
        "RMM endpoints", _default(ConnectorSettings, "rmm_endpoint_poll_interval_s"), RMM
    ),
    ("rmm", "polled:reconcile"): PollMark(
        "RMM reconciliation", _default(ConnectorSettings, "rmm_reconcile_interval_s"), RMM
    ),
    # Rev.io's date watermarks move only when something changed: its full listings do always
    ("revio", "customers.reconciled"): PollMark(
        "Rev.io customers (full listing)",
        _default(RevioConnectorSettings, "revio_reconcile_interval_s"),
        REVIO,
    ),
    ("revio", "tickets.reconciled"): PollMark(
        "Rev.io tickets (full listing)",
        _default(RevioConnectorSettings, "revio_reconcile_interval_s"),
        REVIO,
    ),
    ("revio", "assets.reconciled"): PollMark(
        "Rev.io assets", _default(RevioConnectorSettings, "revio_asset_poll_interval_s"), REVIO
    ),
}
RMM_POLLED = "polled:"  # the RMM watcher's mark of a resource: `polled:<resource>`


def poll_wanted(resource: str, settings: dict[str, Any]) -> bool:
    """Whether the tenant's sync settings have its connector poll `resource` at all: the RMM
    watcher's own rule (`TenantWatcher.wanted`); Rev.io assets only with asset sync on."""
    rules = SyncSettings.model_validate(settings)
    if resource.startswith(RMM_POLLED):
        return TenantWatcher.wanted(resource.removeprefix(RMM_POLLED), rules)
    if resource == "assets.reconciled":
        return rules.asset_sync_enabled
    return True


def service_of(consumer: str) -> str:
    matches = [s for s in KNOWN_SERVICES if consumer.startswith(s + "-")]
    return max(matches, key=len) if matches else consumer.split("-", 1)[0]


async def _consumers(js: JetStreamContext) -> list[tuple[str, ConsumerInfo]]:
    return [(stream, info) for stream in STREAMS for info in await js.consumers_info(stream)]


def _row(stream: str, info: ConsumerInfo) -> dict[str, Any]:
    return {
        "service": service_of(info.name),
        "consumer": info.name,
        "stream": stream,
        "pending": info.num_pending,
        "in_flight": info.num_ack_pending,
        "redelivered": info.num_redelivered,
    }


def _filters(stream: str, info: ConsumerInfo) -> list[str]:
    config = info.config
    given = config.filter_subjects or ([config.filter_subject] if config.filter_subject else [])
    return given or [Subjects.STREAMS[stream]]


def tenant_filters(stream: str, info: ConsumerInfo, tenant: str) -> list[str]:
    """The consumer's filters narrowed to `tenant` (none: it never sees that tenant)."""
    narrowed = []
    for subject in _filters(stream, info):
        kind, *rest = subject.split(".")
        if not rest or rest[0] == ">":
            narrowed.append(f"{kind}.{tenant}.>")
        elif rest[0] in ("*", tenant):
            narrowed.append(".".join([kind, tenant, *rest[1:]]))
    return narrowed


def _lagging(info: ConsumerInfo) -> bool:
    return bool(info.num_pending or info.num_ack_pending)


async def _count_from(js: JetStreamContext, stream: str, filters: list[str], seq: int) -> int:
    """How many messages of `filters` the stream holds from `seq` on (an ephemeral consumer's
    `num_pending`, computed by the server; the consumer is deleted at once)."""
    config = ConsumerConfig(
        filter_subject=filters[0] if len(filters) == 1 else None,
        filter_subjects=filters if len(filters) > 1 else None,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(1, seq),
        ack_policy=AckPolicy.NONE,
        mem_storage=True,
        inactive_threshold=10.0,  # gone by itself should the delete below be lost
    )
    info = await js.add_consumer(stream, config)
    try:
        return info.num_pending or 0
    finally:
        await js.delete_consumer(stream, info.name)


async def tenant_share(
    js: JetStreamContext, stream: str, info: ConsumerInfo, tenant: str
) -> dict[str, int]:
    """This tenant's part of a consumer's lag (module docstring)."""
    filters = tenant_filters(stream, info, tenant)
    if not filters or not _lagging(info):
        return {"pending": 0, "unacked_at_most": 0}
    delivered = info.delivered.stream_seq if info.delivered else 0
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    pending = (
        await _count_from(js, stream, filters, (delivered or 0) + 1) if info.num_pending else 0
    )
    unacked = (
        await _count_from(js, stream, filters, (floor or 0) + 1) if info.num_ack_pending else 0
    )
    return {"pending": pending, "unacked_at_most": max(pending, unacked)}


async def _tenants_on(js: JetStreamContext, stream: str, info: ConsumerInfo) -> set[str]:
    found: set[str] = set()
    for subject in _filters(stream, info):
        state = (await js.stream_info(stream, subjects_filter=subject)).state
        found.update(Subjects.tenant_of(s) for s in (state.subjects or {}) if s.count(".") >= 1)
    return found


async def consumer_lag(js: JetStreamContext, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """Every durable consumer's lag; with a tenant, also that tenant's part of it
    (`tenant_pending`, `tenant_unacked_at_most`)."""
    consumers = await _consumers(js)
    rows = [_row(stream, info) for stream, info in consumers]
    if tenant_id:
        limit = asyncio.Semaphore(LAG_QUERIES_AT_ONCE)

        async def share(stream: str, info: ConsumerInfo) -> dict[str, int]:
            async with limit:
                return await tenant_share(js, stream, info, tenant_id)

        shares = await asyncio.gather(*(share(stream, info) for stream, info in consumers))
        for row, part in zip(rows, shares, strict=True):
            row["tenant_pending"] = part["pending"]
            row["tenant_unacked_at_most"] = part["unacked_at_most"]
    return sorted(rows, key=lambda c: (c["service"], c["consumer"]))


async def lag_by_tenant(js: JetStreamContext) -> list[dict[str, Any]]:
    """The operator's view: for every tenant with lag, its part of each lagging consumer."""
    limit = asyncio.Semaphore(LAG_QUERIES_AT_ONCE)
    lagging = [(stream, info) for stream, info in await _consumers(js) if _lagging(info)]

    async def tenants_of(stream: str, info: ConsumerInfo) -> set[str]:
        async with limit:
            return await _tenants_on(js, stream, info)

    async def share(stream: str, info: ConsumerInfo, tenant: str) -> tuple[str, str, dict]:
        async with limit:
            return tenant, info.name, await tenant_share(js, stream, info, tenant)

    present = await asyncio.gather(*(tenants_of(stream, info) for stream, info in lagging))
    parts = await asyncio.gather(
        *(
            share(stream, info, tenant)
            for (stream, info), tenants in zip(lagging, present, strict=True)
            for tenant in sorted(tenants)
        )
    )
    by_tenant: dict[str, dict[str, Any]] = {}
    for tenant, consumer, part in parts:
        if not part["unacked_at_most"]:
            continue
        entry = by_tenant.setdefault(
            tenant, {"tenant": tenant, "pending": 0, "unacked_at_most": 0, "consumers": []}
        )
        entry["pending"] += part["pending"]
        entry["unacked_at_most"] += part["unacked_at_most"]
        entry["consumers"].append({"consumer": consumer, **part})
    return sorted(by_tenant.values(), key=lambda t: (-t["unacked_at_most"], t["tenant"]))


def _tenant_clause(tenant_id: str | None, column: str = "tenant_id") -> tuple[str, list[Any]]:
    return (f"WHERE {column} = $1", [tenant_id]) if tenant_id else ("", [])


async def polls(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    where, args = _tenant_clause(tenant_id)
    no_listing = f"{where + ' AND' if where else 'WHERE'} resource NOT LIKE ${len(args) + 1}"
    watermarks = await pool.fetch(
        f"SELECT system, resource, max(updated_at) AS at FROM watermarks {no_listing}"
        " GROUP BY system, resource",
        *args,
        LISTING_PREFIX + "%",
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


async def stale_polls(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    """The enabled tenants' polls (`POLL_MARKS`, those their settings want) not done for longer
    than their `stale_after_s`, counted from the mark or, if later, the tenant's last enabling
    or settings change; a poll never done at all counts from that change alone (`age_seconds`
    None): a tenant no connector serves is as stale as one it stopped serving."""
    where, args = _tenant_clause(tenant_id, "t.tenant_id")
    marks = sorted(POLL_MARKS)
    rows = await pool.fetch(
        "SELECT t.tenant_id, m.system, m.resource, t.config->'settings' AS settings,"
        " extract(epoch FROM now() - w.updated_at) AS age_s,"
        " extract(epoch FROM now() - greatest(w.updated_at, t.updated_at)) AS quiet_s"
        f" FROM tenants t CROSS JOIN unnest(${len(args) + 1}::text[], ${len(args) + 2}::text[])"
        " AS m(system, resource) LEFT JOIN watermarks w ON w.tenant_id = t.tenant_id"
        f" AND w.system = m.system AND w.resource = m.resource {where}"
        f" {'AND' if where else 'WHERE'} t.enabled",
        *args,
        [system for system, _ in marks],
        [resource for _, resource in marks],
    )
    found = []
    for row in rows:
        mark = POLL_MARKS.get((row["system"], row["resource"]))
        if mark is None or not poll_wanted(row["resource"], row["settings"] or {}):
            continue
        if float(row["quiet_s"]) > mark.stale_after_s:
            found.append(
                {
                    "tenant": row["tenant_id"],
                    "system": row["system"],
                    "resource": row["resource"],
                    "age_seconds": None if row["age_s"] is None else round(float(row["age_s"]), 1),
                    "quiet_seconds": round(float(row["quiet_s"]), 1),
                }
            )
    return sorted(found, key=lambda s: (s["system"], s["resource"], s["tenant"]))


async def outbox(pool: asyncpg.Pool, tenant_id: str | None) -> dict[str, Any]:
    where, args = _tenant_clause(tenant_id)
    row = await pool.fetchrow(
        "SELECT count(*) AS pending, count(*) FILTER (WHERE attempts > 0) AS waiting,"
        " extract(epoch FROM now() - min(created_at)) AS oldest_s,"
        " (array_agg(last_error ORDER BY seq DESC) FILTER (WHERE last_error IS NOT NULL))[1]"
        f" AS last_error FROM outbox {where}",
        *args,
    )
    assert row is not None  # an aggregate always answers one row
    return {
        "pending": row["pending"],
        "waiting_after_failure": row["waiting"],
        "oldest_seconds": round(float(row["oldest_s"]), 1) if row["oldest_s"] else 0.0,
        "last_error": row["last_error"],
    }


async def command_windows(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    """Per window (service and kind): the tenant's commands held and in flight, or everyone's
    summed (naming no tenant)."""
    where, args = _tenant_clause(tenant_id)
    rows = await pool.fetch(
        "SELECT window_key, count(*) FILTER (WHERE sent_at IS NULL) AS held,"
        " count(sent_at) AS in_flight,"
        " extract(epoch FROM now() - min(queued_at) FILTER (WHERE sent_at IS NULL)) AS oldest_s"
        f" FROM command_window {where} GROUP BY window_key ORDER BY window_key",
        *args,
    )
    return [
        {
            "window": row["window_key"],
            "held": row["held"],
            "in_flight": row["in_flight"],
            "oldest_held_seconds": round(float(row["oldest_s"] or 0), 1),
        }
        for row in rows
    ]


async def quota(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    """Per vendor and bucket: today's calls, the daily limit (`DAILY_LIMITS`; None for a vendor
    limited per window only, the RMM) and how long callers queue. The shared limiter counts
    every call per UTC day: a bucket without a count today made no call today (0)."""
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
                "used_today": 0,
                "daily_limit": DAILY_LIMITS.get(vendor),
                "used_fraction": 0.0 if vendor in DAILY_LIMITS else None,
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


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def judge(
    report: dict[str, Any], stale: list[dict[str, Any]], name_tenants: bool = False
) -> tuple[list[str], list[str]]:
    """What needs an operator (`problems`: the status is `degraded`) and what to keep an eye
    on (`warnings`), in plain sentences. Without a tenant in `report`, a sentence names no
    tenant unless `name_tenants` (an operator who asked for every tenant's figures)."""
    problems: list[str] = []
    letters = report.get("dead_letters") or 0
    if letters:
        what = "a message that failed" if letters == 1 else "messages that failed"
        wait = "waits" if letters == 1 else "wait"
        problems.append(
            f"{_count(letters, 'dead letter')}: {what} for good {wait} for a retry or a decision"
            " (Dead letters on the Health page, `revsync dead-letters list`)"
        )
    outbox = report.get("outbox") or {}
    if waiting := outbox.get("waiting_after_failure"):
        problems.append(
            f"{_count(waiting, 'message')} {'waits' if waiting == 1 else 'wait'} in the outbox"
            f" after a failed publish (the oldest there for {_duration(outbox['oldest_seconds'])}):"
            " check NATS and the outbox's last error"
        )
    by_mark: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for poll in stale:
        by_mark[(poll["system"], poll["resource"])].append(poll)
    for key, found in by_mark.items():
        mark = POLL_MARKS[key]
        if report.get("tenant"):
            age, every = found[0]["age_seconds"], _duration(mark.every_s)
            if age is None:
                problems.append(
                    f"{mark.what} never polled successfully in the"
                    f" {_duration(found[0]['quiet_seconds'])} since the tenant was enabled or"
                    f" its settings changed (expected every {every}): check {mark.connector}"
                )
                continue
            problems.append(
                f"{mark.what} not polled successfully for {_duration(age)}"
                f" (expected every {every}): check {mark.connector}"
            )
            continue
        names = f" ({', '.join(p['tenant'] for p in found)})" if name_tenants else ""
        problems.append(
            f"{mark.what}: {_count(len(found), 'tenant')}{names} not polled successfully for"
            f" over {_duration(mark.stale_after_s)} (expected every {_duration(mark.every_s)}):"
            f" check {mark.connector}"
        )
    warnings = []
    shared = "all tenants' figure; " if report.get("tenant") else ""
    for consumer in report.get("consumers", []):
        if not consumer["redelivered"] or consumer.get("tenant_unacked_at_most") == 0:
            continue  # nothing retried, or nothing of this tenant's waiting there
        warnings.append(
            f"{consumer['consumer']} is retrying"
            f" {_count(consumer['redelivered'], 'message')} it could not handle ({shared}"
            "dead-lettered once its deliveries run out)"
        )
    return problems, warnings


async def health(
    pool: asyncpg.Pool,
    js: JetStreamContext | None,
    tenant_id: str | None,
    every_tenant: bool = False,
) -> dict[str, Any]:
    """The report; `every_tenant` (operators only) adds each tenant's lag (`tenant_lag`) and
    names the tenants in `problems`."""
    report: dict[str, Any] = {
        "status": "ok",
        "tenant": tenant_id,
        "checks": {},
        "problems": [],
        "warnings": [],
    }
    try:
        await pool.fetchval("SELECT 1")
        report["checks"]["database"] = "ok"
    except (OSError, asyncpg.PostgresError) as error:
        report["checks"]["database"] = f"failed: {error}"
        report["status"] = "degraded"
        report["problems"] = ["the console cannot reach PostgreSQL: no figure could be read"]
        return report
    report["polls"] = await polls(pool, tenant_id)
    report["quota"] = await quota(pool, tenant_id)
    report["outbox"] = await outbox(pool, tenant_id)
    report["command_windows"] = await command_windows(pool, tenant_id)
    report["console_calls"] = await _console_calls(pool, tenant_id)
    stale = await stale_polls(pool, tenant_id)
    down: list[str] = []
    if js is None:
        report["checks"]["nats"] = "not connected"
        down.append("the console is not connected to NATS: no consumer lag or dead letter count")
    else:
        try:
            report["consumers"] = await consumer_lag(js, tenant_id)
            if every_tenant:
                report["tenant_lag"] = await lag_by_tenant(js)
            report["dead_letters"] = await dlq_size(js, tenant_id)
            report["checks"]["nats"] = "ok"
        except (NatsError, TimeoutError) as error:
            report["checks"]["nats"] = f"failed: {error!r}"
            down.append("NATS does not answer the console: no consumer lag or dead letter count")
    problems, report["warnings"] = judge(report, stale, name_tenants=every_tenant)
    report["problems"] = down + problems
    report["status"] = "degraded" if report["problems"] else "ok"
    return report
