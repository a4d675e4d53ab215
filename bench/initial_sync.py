"""Initial sync of a whole MSP through the full pipeline (issue 5).

Every service runs as a real process (`tests.e2e.stack.E2EStack`: relay, both connectors,
company, asset, alert, ticket, console) against this run's NATS and PostgreSQL and both
sandboxes, their rate limits off (sandbox and connector). One tenant is made from a seed world
of `size` ("large": 10,000 clients, 100,000 endpoints; or a client count, ten endpoints each),
then an initial sync run is started through the console. Production poll intervals, except
that tenants are picked up within half a second.

- time to steady state: from the tenant's save (its connectors start on it at once) until
  the sync run is done, no JetStream consumer has a message pending or unacknowledged, the
  outbox and the command windows are empty and the tenant's event log has stopped growing;
  the time reported is that of the last event recorded.
- decisions per second per replica, company and asset services: the events each recorded for
  the tenant that are not observations (`...Observed`), per second of the run (and of the
  service's own busy window, first to last decision).
- peak memory: VmHWM of each process at the end; CPU seconds of each (which one is busy).
- vendor calls per synced object, and as a ratio to a minimum: listing every kind once at the
  largest page the API allows, plus one write per object the sync had to create or stamp
  (see `minimum_calls`).

The large world takes about an hour on a 2-core machine with one replica of each service:
session 10's run (the recorded figures) was steady at 3,335 s. The company service was busy
from 263 s to 1,181 s (links, then 8,334 company updates); 84,407 assets were created and
written back at 27-32 a second each, the machine saturated throughout. Give
`--initial-sync-within-s` generously (7200), and `--results` a copy of the results file: the
figures share their keys with the smaller runs'. At the production
per-tenant in-flight bounds (Rev.io 6, RMM 2 commands per process; issue 9's fairness) its
assets and write-backs reached the vendors at about 16/s and 2.5/s, waiting on answers rather
than working, so this bench raises them (`BENCH_ENV`). Run it from a clean worktree (`git
worktree add`, `PYTHONPATH=<worktree>:<worktree>/libs`, `--results` pointing back) so that
edits made meanwhile do not reach the services it starts.
"""

import asyncio
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js.errors import NotFoundError
from revsync.messaging.fairness import DEFERRALS_BUCKET

from bench.procstats import stack_usage
from bench.results import Figure
from bench.servers import BenchServers
from services.sandbox.seed import generate_world
from tests.e2e.stack import E2EStack, E2ETenant

SEED = 5
FULL_SIZE = "large"
DEFAULT_SIZE: str | int = 200  # about 10 minutes here; FULL_SIZE takes hours (see report)
ENDPOINTS_PER_CLIENT = 10
SELECTED = ["platform", "network"]
QUIET_S = 10.0  # the event log has not grown for this long: steady
# production intervals (FAST_POLLS would re-list 100,000 endpoints every 3 s), fast pick-up
UNLIMITED = "10000000"
BENCH_ENV = {
    "RMM_POLL_INTERVAL_S": "60",
    "RMM_COMPANY_POLL_INTERVAL_S": "300",
    "RMM_ENDPOINT_POLL_INTERVAL_S": "900",
    "RMM_TICK_S": "1",
    "REVIO_POLL_INTERVAL_S": "30",
    "REVIO_ASSET_POLL_INTERVAL_S": "600",
    "RMM_ENFORCE_RATE_LIMITS": "false",
    # rate limits off means the connector's own pacing too (500/min would be the bottleneck)
    "REVIO_RATE_PER_MINUTE": UNLIMITED,
    "REVIO_RATE_PER_DAY": UNLIMITED,
    # one tenant, no vendor limits: its per-tenant in-flight bounds (fairness between tenants,
    # issue 9) are raised as an operator would for a bulk load; at 2 RMM commands at a time the
    # 100,000 write-backs alone would take hours of waiting on answers, not of work
    "RMM_COMMAND_WORKERS": "16",
    "RMM_MAX_IN_FLIGHT_COMMANDS": "16",
    "RMM_TENANT_MAX_IN_FLIGHT": "12",
    "REVIO_COMMAND_WORKERS": "16",
    "REVIO_TENANT_MAX_IN_FLIGHT": "10",  # its pool has 10 connections
    "LOG_LEVEL": "WARNING",
}
SERVICE_OF_CATEGORY = {"company-link": "company", "rmm-company": "company", "asset": "asset"}
# listing page sizes the vendor APIs allow at most
RMM_ENDPOINT_PAGE, REVIO_PAGE = 500, 500
SITES = "/api/platform/v1/company/sites"

Log = Callable[[str], None]


@dataclass
class Steady:
    """What the watch of the run saw."""

    run_done_s: float | None = None
    steady_s: float | None = None
    lagging: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def clients_of(size: str | int) -> int:
    return 10_000 if size == FULL_SIZE else int(size)


async def consumer_lag(js: Any) -> dict[str, int]:
    """Messages pending or unacknowledged, by `stream/consumer`, of every consumer with any."""
    lag: dict[str, int] = {}
    for stream in await js.streams_info():
        for consumer in await js.consumers_info(stream.config.name):
            pending = consumer.num_pending + consumer.num_ack_pending
            if pending:
                lag[f"{stream.config.name}/{consumer.name}"] = pending
    return lag


async def log_state(conn: asyncpg.Connection, tenant_id: str) -> tuple[int, datetime | None, int]:
    """The tenant's newest event (its position and time) and its commands not yet sent. The
    newest event comes through the log's primary key (the run's tenant is the database's
    only one): counting the tenant's events every poll cost 32 ms at 1,000 clients and grows
    with the log, at 10,000 clients a tenth of a core."""
    row = await conn.fetchrow(
        "SELECT global_position AS n, recorded_at AS last FROM events WHERE tenant_id = $1"
        " ORDER BY global_position DESC LIMIT 1",
        tenant_id,
    )
    outbox = await conn.fetchval(
        "SELECT (SELECT count(*) FROM outbox WHERE tenant_id = $1)"
        " + (SELECT count(*) FROM command_window WHERE tenant_id = $1)",
        tenant_id,
    )  # commands held in their window, or in flight, count as not yet sent
    return (int(row["n"]), row["last"], int(outbox)) if row else (0, None, int(outbox))


async def event_count(conn: asyncpg.Connection, tenant_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant_id))


async def watch(
    tenant: E2ETenant,
    conn: asyncpg.Connection,
    js: Any,
    run_id: str,
    started: float,
    within_s: float,
    log: Log,
) -> Steady:
    """Poll until steady (see the module's docstring) or `within_s` is over."""
    seen = Steady()
    last_newest, quiet_since, last_print = -1, time.monotonic(), 0.0
    wall_started = time.time() - (time.monotonic() - started)
    while time.monotonic() - started < within_s:
        progress = await tenant.console("GET", f"/api/sync-runs/{run_id}")
        if progress["phase"] in ("failed", "cancelled"):
            raise RuntimeError(f"the sync run ended {progress['phase']}: {progress['errors']}")
        now = time.monotonic()
        if progress["phase"] == "done" and seen.run_done_s is None:
            seen.run_done_s = now - started
            log(f"sync run done after {seen.run_done_s:.0f} s ({progress['progress']})")
        newest, last, outbox = await log_state(conn, tenant.id)
        seen.lagging = await consumer_lag(js)
        if newest != last_newest:
            last_newest, quiet_since = newest, now
        if now - last_print >= 30:
            last_print, count = now, await event_count(conn, tenant.id)
            kinds = ", ".join(
                f"{k['kind']} {k['seen']}/{k['total']} decided {k['decided']}"
                for k in progress["progress"]
            )
            line = (f"{now - started:5.0f} s: {progress['phase']}; {count:,} events, outbox"
                    f" {outbox}, lag {sum(seen.lagging.values()):,}; {kinds}")  # fmt: skip
            seen.samples.append(line)
            log(line)
        quiet = now - quiet_since >= QUIET_S
        if seen.run_done_s is not None and not seen.lagging and outbox == 0 and quiet:
            assert last is not None
            seen.steady_s = last.timestamp() - wall_started
            return seen
        await asyncio.sleep(2.0)
    return seen


async def decisions(conn: asyncpg.Connection, tenant_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT category, type, count(*) AS n, min(recorded_at) AS first,"
            " max(recorded_at) AS last FROM events WHERE tenant_id = $1"
            " GROUP BY category, type ORDER BY category, type",
            tenant_id,
        )
    )


def decision_rates(
    rows: list[asyncpg.Record], wall_started: float, run_s: float, replicas: dict[str, int]
) -> dict[str, dict[str, float]]:
    """Per service: decisions, per second of the run and of its busy window, per replica."""
    by_service: dict[str, dict[str, Any]] = {}
    for row in rows:
        service = SERVICE_OF_CATEGORY.get(row["category"])
        if service is None or row["type"].endswith("Observed"):
            continue
        entry = by_service.setdefault(service, {"n": 0, "first": row["first"], "last": row["last"]})
        entry["n"] += row["n"]
        entry["first"] = min(entry["first"], row["first"])
        entry["last"] = max(entry["last"], row["last"])
    rates: dict[str, dict[str, float]] = {}
    for service, entry in by_service.items():
        n, count = entry["n"], replicas.get(service, 1)
        busy_s = max((entry["last"] - entry["first"]).total_seconds(), 1e-3)
        rates[service] = {
            "decisions": float(n),
            "per_s_run": n / run_s / count,
            "per_s_busy": n / busy_s / count,
            "busy_from_s": entry["first"].timestamp() - wall_started,
            "busy_s": busy_s,
        }
    return rates


# -- what each account holds, and the fewest calls that get it there ---------------------------


def seeded_counts(size: str | int) -> dict[str, int]:
    """What the two accounts hold before the sync: the seed world, as the sandboxes load it
    (Rev.io holds no inventory item of the asset type yet)."""
    world = generate_world(SEED, size)
    in_rmm = [client for client in world.clients if client.in_rmm]
    per_category = Counter(endpoint.category for endpoint in world.endpoints())
    return {
        "rmm_companies": len(in_rmm),
        "rmm_sites": sum(len(client.addresses) for client in in_rmm),
        **{f"rmm_endpoints_{category}": n for category, n in per_category.items()},
        "revio_customers": sum(1 for client in world.clients if client.in_revio),
        "revio_assets": 0,
    }


async def account_counts(tenant: E2ETenant) -> dict[str, int]:
    """What the two accounts hold at the end, read through the vendor APIs (after the call
    counts were taken: these reads are the bench's own)."""
    companies = await tenant.rmm_companies()
    sites = await tenant.rmm("GET", SITES)
    found = {
        "rmm_companies": len(companies),
        "rmm_sites": sum(1 for site in sites if not site.get("deletedDate")),
        "revio_customers": len(await tenant.revio_all("/Customers")),
        "revio_assets": len(await tenant.revio_all("/InventoryItem")),
    }
    return found


def minimum_calls(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The fewest vendor calls that reach the end state from the seed:

    - listings, each kind once at the largest page the API allows: RMM companies (1, not
      paged), sites (1), endpoints of each selected category (500 a page); Rev.io customers
      and inventory items (500 a page) and tickets (1);
    - writes: one per RMM company created (its primary site in the same call), one per further
      site, one per Rev.io customer and asset created, and one custom-field write per asset
      (`write_revio_id_to_rmm`: its Rev.io id into the endpoint).
    Tokens and lookups (asset type, custom-field definitions, boards) are not in the minimum.
    """
    pages = sum(
        math.ceil(before[f"rmm_endpoints_{category}"] / RMM_ENDPOINT_PAGE) for category in SELECTED
    )
    companies = after["rmm_companies"] - before["rmm_companies"]
    assets = after["revio_assets"] - before["revio_assets"]
    return {
        "rmm_listing": 2 + pages,
        "revio_listing": math.ceil(before["revio_customers"] / REVIO_PAGE) + 1 + 1,
        "rmm_company_create": companies,
        "rmm_site_create": max(0, after["rmm_sites"] - before["rmm_sites"] - companies),
        "revio_customer_create": after["revio_customers"] - before["revio_customers"],
        "revio_asset_create": assets,
        "rmm_field_write": assets,
    }


def call_kinds(counts: dict[str, int]) -> Counter[str]:
    """Calls by kind: token, read (GETs and the endpoint listing's POST), write."""
    kinds: Counter[str] = Counter()
    for key, n in counts.items():
        method, _, path = key.partition(" ")
        if not path:
            continue  # "total"
        if path.endswith("/token"):
            kinds["token"] += n
        elif method == "GET" or (method == "POST" and path.endswith("/endpoints")):
            kinds["read"] += n
        else:
            kinds["write"] += n
    return kinds


# -- the run --------------------------------------------------------------------------------


async def run(
    servers: BenchServers, size: str | int, log: Log, within_s: float | None = None
) -> dict[str, Any]:
    clients = clients_of(size)
    within_s = within_s or max(900.0, clients * 0.3)
    before = seeded_counts(size)
    with tempfile.TemporaryDirectory(prefix="revsync-isync-") as workdir:
        stack = E2EStack(servers.nats_url, servers.database_url, Path(workdir), dict(BENCH_ENV))
        client = await nats.connect(servers.nats_url)
        conn = await asyncpg.connect(servers.database_url)
        try:
            log("initial sync: starting every service and both sandboxes")
            await asyncio.to_thread(stack.start)
            made = time.monotonic()
            tenant = await stack.new_tenant(SEED, size, endpoint_categories=SELECTED)
            # the tenant row is saved last: its connectors pick it up within half a second
            started, wall_started = time.monotonic(), time.time()
            log(f"tenant of size {size} made in {started - made:.0f} s; initial sync started")
            answer = await tenant.console("POST", "/api/sync-runs", json={"kind": "initial"})
            seen = await watch(tenant, conn, client.jetstream(), answer["id"], started,
                               within_s, log)  # fmt: skip
            ended_s = time.monotonic() - started
            processes = stack_usage(stack)
            stack.check_alive()
            calls = {system: await tenant.vendor_calls(system) for system in ("rmm", "revio")}
            deferred = await deferrals(client.jetstream())
            after = await account_counts(tenant)
            rows = await decisions(conn, tenant.id)
            logs = {name: replicas[0].log.read_text(errors="replace")[-4000:]
                    for name, replicas in stack.processes.items()}  # fmt: skip
        finally:
            await conn.close()
            await client.drain()
            await asyncio.to_thread(stack.stop)
    run_s = seen.steady_s or ended_s
    replicas = {name: len(found) for name, found in stack.processes.items()}
    return {
        "size": size,
        "clients": clients,
        "seen": seen,
        "run_s": run_s,
        "calls": calls,
        "before": before,
        "after": after,
        "rows": rows,
        "rates": decision_rates(rows, wall_started, run_s, replicas),
        "processes": processes,
        "logs": logs,
        "deferrals": deferred,
    }


async def deferrals(js: Any) -> int:
    """Fairness deferrals of the run (each a redelivery, a key-value write and a NAK): the
    writes to their bucket, which only this run's services used."""
    try:
        info = await js.stream_info(f"KV_{DEFERRALS_BUCKET}")
    except NotFoundError:
        return 0
    return int(info.state.last_seq)


def report(result: dict[str, Any], log: Log) -> None:
    """The details behind the figures, printed."""
    for row in result["rows"]:
        log(f"  events {row['category']:<14} {row['type']:<28} {row['n']:>8,}")
    for process in sorted(result["processes"], key=lambda p: -p.cpu_s):
        log(f"  {process.name:<18} cpu {process.cpu_s:8.1f} s  peak rss"
            f" {process.peak_rss_mb:7.0f} MB")  # fmt: skip
    for system, counts in result["calls"].items():
        for key, n in sorted(counts.items(), key=lambda item: -item[1]):
            log(f"  {system:<6} {n:>8,}  {key}")
    for system, counts in result["calls"].items():
        log(f"  {system} calls by kind: {dict(call_kinds(counts))}")
    log(f"  before {result['before']}")
    log(f"  after  {result['after']}")
    log(f"  minimum {minimum_calls(result['before'], result['after'])}")
    for service, rate in result["rates"].items():
        log(f"  {service}: {rate['decisions']:,.0f} decisions, busy from"
            f" {rate['busy_from_s']:.0f} s for {rate['busy_s']:.0f} s")  # fmt: skip
    if result["seen"].steady_s is None:
        log(f"  NOT STEADY; lagging consumers {result['seen'].lagging}")
        for name, text in result["logs"].items():
            if "Traceback" in text or "error" in text:
                log(f"  --- {name} log tail ---\n{text[-1500:]}")


def figures(result: dict[str, Any]) -> list[Figure]:
    size, run_s, clients = result["size"], result["run_s"], result["clients"]
    tag = "" if size == FULL_SIZE else f" [{clients:,} clients]"
    seen: Steady = result["seen"]
    minimum = minimum_calls(result["before"], result["after"])
    calls = sum(sum(counts.values()) for counts in result["calls"].values())
    least = sum(minimum.values())
    synced = result["after"]["rmm_companies"] + minimum["revio_asset_create"]  # pairs + assets
    found = [Figure("initial_sync_clients", "initial sync: clients in the seed world",
                    float(clients), "clients")]  # fmt: skip
    if seen.steady_s is not None:  # a time not reached is left out, not recorded
        found.append(Figure("initial_sync_steady_s", f"initial sync: time to steady state{tag}",
                            run_s, "s"))  # fmt: skip
        if size != FULL_SIZE:
            found.append(Figure(
                "initial_sync_steady_s_extrapolated_large",
                "initial sync: EXTRAPOLATED (linear) time to steady, 10,000 clients",
                run_s * 10_000 / clients, "s"))  # fmt: skip
    if seen.run_done_s is not None:
        found.append(Figure("initial_sync_run_done_s", f"initial sync: sync run done{tag}",
                            seen.run_done_s, "s"))  # fmt: skip
    for service in ("company", "asset"):
        rate = result["rates"].get(service)
        if rate is None:
            continue
        found += [
            Figure(f"initial_sync_{service}_decisions_per_s",
                   f"initial sync: {service} decisions/s per replica (run){tag}",
                   rate["per_s_run"], "decisions/s"),
            Figure(f"initial_sync_{service}_decisions_per_s_busy",
                   f"initial sync: {service} decisions/s per replica (busy){tag}",
                   rate["per_s_busy"], "decisions/s"),
        ]  # fmt: skip
    for process in sorted(result["processes"], key=lambda p: p.name):
        name = process.name.removesuffix("-0").replace("-", "_")
        found.append(Figure(f"initial_sync_peak_rss_mb_{name}",
                            f"initial sync: peak RSS {process.name}{tag}",
                            process.peak_rss_mb, "MB"))  # fmt: skip
    found += [
        Figure("initial_sync_vendor_calls", f"initial sync: vendor calls (both){tag}",
               float(calls), "calls"),
        Figure("initial_sync_vendor_calls_min", f"initial sync: minimum vendor calls{tag}",
               float(least), "calls"),
        Figure("initial_sync_vendor_calls_per_object",
               f"initial sync: vendor calls per company+asset{tag}",
               calls / max(1, synced), "calls/object"),
        Figure("initial_sync_vendor_calls_ratio",
               f"initial sync: vendor calls / minimum{tag}", calls / max(1, least), "x"),
        Figure("initial_sync_fairness_deferrals",
               f"initial sync: fairness deferrals (redelivered later, tenant at its bound){tag}",
               float(result["deferrals"]), "deferrals"),
    ]  # fmt: skip
    return found


def size_argument(given: str | None, scale: float = 1.0) -> str | int:
    """`--initial-sync-size`: "large" or a client count; else the default, scaled."""
    if given is not None:
        return given if given == FULL_SIZE else int(given)
    if scale != 1.0:
        return max(50, round(10_000 * scale))
    return DEFAULT_SIZE
