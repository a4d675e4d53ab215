"""`revsync replay` of a large log: writes N realistic events (COPY) -- sync runs, Rev.io
customers and RMM companies observed and linked, endpoints observed and pushed as assets
through several sync runs, alerts and tickets -- then drops every projection and rebuilds it
through the real path (the console's projections, `revsync.projection.replay`).
"""

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any
from uuid import uuid4

import asyncpg
import orjson
from revsync.db import create_pool
from revsync.projection import replay

from bench.results import Figure

TARGET_EVENTS_PER_S = 50_000.0
TENANTS = ("bench-a", "bench-b")
COMPANIES = 1_000  # per tenant
ENDPOINTS_PER_COMPANY = 20
Event = tuple[str, str, str, dict[str, Any]]  # tenant, stream, type, data


def _id() -> str:
    return str(uuid4())


def _sync_run(tenant: str, run: str, round_: int) -> Iterator[Event]:
    """One sync run of a tenant: both listings, every company and endpoint observed (changed
    ones pushed to Rev.io), alerts on some endpoints, tickets on some companies."""
    stream = f"sync-run:{run}"
    yield tenant, stream, "SyncRunStarted", {
        "run_id": run, "kind": "initial" if round_ == 0 else "full",
        "rmm_command_id": _id(), "revio_command_id": _id(), "started_by": "bench",
    }  # fmt: skip
    at = (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=round_)).isoformat()
    for c in range(COMPANIES):
        customer, company = f"cu-{c}", f"co-{c}"
        name = f"Company {c} {'Ltd' if round_ % 2 else 'Limited'}"
        yield tenant, f"company-link:{customer}", "RevioCustomerObserved", {
            "kind": "seen", "observed_at": at, "sync_run_id": run, "total": COMPANIES,
            "customer": {"id": customer, "name": name, "status": "OPEN", "email": None},
        }  # fmt: skip
        rmm_company = {"id": company, "name": name, "active": True, "description": None}
        rmm_stream = f"rmm-company:{company}" if round_ == 0 else f"company-link:{customer}"
        yield tenant, rmm_stream, "RmmCompanyObserved", {
            "kind": "seen", "observed_at": at, "sync_run_id": run, "total": COMPANIES,
            "company": rmm_company, "revio_customer_id": None if round_ == 0 else customer,
        }  # fmt: skip
        if round_ == 0:
            yield tenant, f"company-link:{customer}", "CustomerLinked", {
                "rule": "exact_name", "revio_customer_id": customer, "rmm_company_id": company,
                "revio_name": name, "rmm_name": name, "score": 100.0, "match": {},
                "sync_run_id": run, "company": rmm_company,
            }  # fmt: skip
            yield tenant, f"rmm-company:{company}", "RmmCompanyClaimed", {
                "rule": "exact_name", "revio_customer_id": customer,
            }  # fmt: skip
        yield from _endpoints(tenant, run, round_, c, at)
        if c % 10 == round_ % 10:
            yield from _alert(tenant, round_, c, at)
        if c % 25 == round_ % 25:
            yield from _ticket(tenant, round_, c, at)
    yield tenant, f"company-run:{run}", "SyncRunMatched", {
        "rule": "listings_complete", "sync_run_id": run, "revio_seen": COMPANIES,
        "revio_total": COMPANIES, "rmm_seen": COMPANIES, "rmm_total": COMPANIES,
        "counts": {"linked": COMPANIES},
    }  # fmt: skip
    for system in ("rmm", "revio"):
        yield tenant, stream, "SyncRunListingFinished", {
            "run_id": run, "system": system, "status": "ok", "reason": None, "external_ids": [],
        }  # fmt: skip
    yield tenant, stream, "SyncRunCompleted", {"run_id": run, "counts": {}, "rule": "done"}


def _endpoints(tenant: str, run: str, round_: int, c: int, at: str) -> Iterator[Event]:
    requested: list[tuple[str, str]] = []
    for e in range(ENDPOINTS_PER_COMPANY):
        serial = f"SN-{c:05d}-{e:03d}"
        endpoint = {
            "id": f"ep-{c}-{e}", "company_id": f"co-{c}", "site_id": None,
            "category": "platform" if e % 4 else "network",
            "hostname": f"WS-{c:05d}-{e:03d}.corp.example.com", "endpoint_type": "Desktop",
            "os": f"Windows 11 Pro 23H{1 + round_ % 2}", "serial_number": serial,
            "revio_asset_id": None,
        }  # fmt: skip
        stream = f"asset:{serial}"
        yield tenant, stream, "EndpointObserved", {
            "kind": "seen", "endpoint": endpoint, "observed_at": at, "sync_run_id": run,
            "stale": False, "superseded": False,
        }  # fmt: skip
        command = _id()
        requested.append((stream, command))
        yield tenant, stream, "AssetUpsertRequested", {
            "rule": "endpoint_to_asset" if round_ == 0 else "endpoint_changed",
            "command_id": command, "endpoint_id": endpoint["id"], "revio_customer_id": f"cu-{c}",
            "identifier": serial, "asset_type_id": "7", "status": "ACTIVE",
            "fields": {"hostname": endpoint["hostname"], "os": endpoint["os"]}, "asset_id": None,
        }  # fmt: skip
    for n, (stream, command) in enumerate(requested):  # the results come back later
        yield tenant, stream, "AssetRecorded", {
            "command_id": command, "revio_asset_id": f"ra-{c}-{n}", "status": "ACTIVE", "at": at,
        }  # fmt: skip


def _alert(tenant: str, round_: int, c: int, at: str) -> Iterator[Event]:
    endpoint, condition, ticket = f"ep-{c}-0", f"disk-{round_ % 3}", f"rt-{c}-{round_}"
    stream = f"alert:{endpoint}:{condition}"
    seen = {
        "rmm_ticket_id": ticket, "observed_at": at, "endpoint_id": endpoint,
        "condition_id": condition, "company_id": f"co-{c}", "severity": "high",
        "summary": f"Disk almost full on WS-{c:05d}",
    }  # fmt: skip
    command = _id()
    yield tenant, stream, "AlertTicketRequested", {
        **seen, "episode": round_ + 1, "customer_id": f"cu-{c}", "command_id": command,
        "attempt": 1, "count": 1, "sent": [{"command_id": command, "verb": "revio.ticket.create"}],
    }  # fmt: skip
    yield tenant, stream, "AlertTicketLinked", {**seen, "revio_ticket_id": f"vt-{c}-{round_}"}
    yield tenant, stream, "AlertRepeated", {**seen, "count": 2, "journal": "written"}
    yield tenant, stream, "AlertCleared", {**seen, "action": "journal_entry"}


def _ticket(tenant: str, round_: int, c: int, at: str) -> Iterator[Event]:
    rmm_ticket = f"rt-{c}-{round_}"
    stream = f"ticket:rmm-{rmm_ticket}"
    fields = {"summary": f"Printer offline at site {c}", "status": "New"}
    command = _id()
    yield tenant, stream, "TicketLinkRequested", {
        "origin": "rmm", "at": at, "fields": fields, "rmm_ticket_id": rmm_ticket,
        "rmm_company_id": f"co-{c}", "revio_customer_id": f"cu-{c}", "command_id": command,
        "attempt": 1, "target": "revio", "sent_fields": fields,
        "sent": [{"command_id": command, "verb": "revio.ticket.create"}],
    }  # fmt: skip
    yield tenant, stream, "TicketLinked", {
        "rmm_ticket_id": rmm_ticket, "revio_ticket_id": f"vt-{c}-{round_}", "pushed": {},
    }  # fmt: skip


def events(total: int) -> Iterator[Event]:
    """`total` events: each tenant's settings, then sync runs of both tenants in turn."""
    for tenant in TENANTS:
        yield tenant, f"settings:{tenant}", "SettingsChanged", {
            "config": {"name": f"Bench {tenant}", "enabled": True}, "changed": ["name"],
        }  # fmt: skip
    runs = (
        event
        for round_ in itertools.count()
        for tenant in TENANTS
        for event in _sync_run(tenant, _id(), round_)
    )
    yield from itertools.islice(runs, max(0, total - len(TENANTS)))


async def write_log(database_url: str, total: int) -> None:
    """COPY `total` events (and their streams' versions) into the log, in one transaction."""
    versions: dict[tuple[str, str], int] = {}
    started = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n, (tenant, stream, type_, data) in enumerate(events(total)):
        version = versions[tenant, stream] = versions.get((tenant, stream), 0) + 1
        at = started + timedelta(milliseconds=n)
        rows.append((tenant, stream, version, type_, data, {"bench": True}, uuid4(), at))
    columns = ("tenant_id", "stream", "version", "type", "data", "metadata", "id", "recorded_at")
    conn = await asyncpg.connect(database_url)
    try:
        await _copy(conn, rows, columns, versions)
    finally:
        await conn.close()


async def _copy(
    conn: asyncpg.Connection,
    rows: list[tuple[Any, ...]],
    columns: tuple[str, ...],
    versions: dict[tuple[str, str], int],
) -> None:
    await conn.set_type_codec(  # COPY is binary: jsonb is a version byte, then the text
        "jsonb",
        encoder=lambda value: b"\x01" + orjson.dumps(value),
        decoder=lambda raw: orjson.loads(raw[1:]),
        schema="pg_catalog",
        format="binary",
    )
    async with conn.transaction():
        await conn.copy_records_to_table("events", records=rows, columns=columns)
        await conn.copy_records_to_table(
            "streams",
            records=[(tenant, stream, v) for (tenant, stream), v in versions.items()],
            columns=("tenant_id", "stream", "version"),
        )
    await conn.execute("ANALYZE events")


async def run(database_url: str, total: int, log: Callable[[str], None]) -> list[Figure]:
    from services.console.projections import all_projections

    log(f"replay: writing {total} events (COPY)")
    started = perf_counter()
    await write_log(database_url, total)
    log(f"replay: written in {perf_counter() - started:.1f} s")
    projections, _ = all_projections()
    pool = await create_pool(database_url, max_size=2)
    try:
        log(f"replay: rebuilding {len(projections)} projections from the log")
        started = perf_counter()
        read = await replay(pool, projections)
        seconds = perf_counter() - started
    finally:
        await pool.close()
    if read != total:
        raise RuntimeError(f"replay read {read} events, {total} were written")
    log(f"replay: {read} events in {seconds:.1f} s")
    return [
        Figure("replay.events", "replay: events in the log", float(read), "events"),
        Figure("replay.seconds", "replay: wall time", seconds, "s"),
        Figure(
            "replay.events_per_s",
            "replay: events folded",
            read / seconds,
            "events/s",
            TARGET_EVENTS_PER_S,
        ),
    ]


__all__ = ["events", "run", "write_log"]
