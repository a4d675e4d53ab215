"""The ConnectWise RMM connector: a full listing of a large account, and its use of the
documented rate limits.

The RMM sandbox runs in a process of its own with the "large" world (9,167 companies with
13,773 sites, 100,000 endpoints). Two phases, through the connector's own client (shared
token, PostgreSQL limiter, retries, paging, translation into contracts):

1. rate limits off (sandbox and client): one full listing of companies (with sites) and
   endpoints of every category: wall time, vendor calls, and calls as a ratio to the minimum
   the API's paging allows (companies 1, sites 1, endpoints one per 500: target <= 1.05x);
   then the same listing as a sync run, publishing every object as a `seen` change to
   JetStream (purged afterwards).
2. the sandbox's documented limits on (500 calls per bucket per 5-minute window, learned
   from `GET /v1/rate_limits`): endpoint pages back to back in one bucket; the achieved call
   rate as a fraction of the limit (target >= 0.9), and the 429 answers after the first.
"""

import asyncio
import math
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import nats
from cryptography.fernet import Fernet
from pydantic import SecretStr
from revsync.connector.rmm_tokens import open_bucket
from revsync.db import create_pool
from revsync.devservers import free_port
from revsync.messaging import ensure_streams
from revsync.secrets_box import SecretBox
from revsync.tenancy import ENDPOINT_CATEGORIES, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore
from revsync.vendor.metrics import calls_made

from bench.results import Figure
from bench.servers import BenchServers, bench_servers
from services.cwrmm_connector import observe, polls
from services.cwrmm_connector.client.paging import ENDPOINT_PAGE
from services.cwrmm_connector.client.token_store import KvTokenStore
from services.cwrmm_connector.settings import ConnectorSettings
from services.cwrmm_connector.tenants import TenantHandle, TenantRegistry

WINDOW_S, LIMIT = 300.0, 500  # the sandbox's documented bucket limit
LIMITED_CALLS = 90
CLIENT_ID, SECRET = "sandbox-client", "sandbox-secret"


def start_sandbox(port: int, size: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "services.sandbox", "--only", "rmm", "--seed", "1",
               "--size", size, "--rmm-port", str(port)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def sandbox_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(900):
        if process.poll() is not None:
            raise RuntimeError("the RMM sandbox exited while starting")
        try:
            if (await client.get("/_sandbox/accounts")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the RMM sandbox did not start")


async def vendor_calls(sandbox: httpx.AsyncClient) -> dict[str, Any]:
    answer = await sandbox.get("/_sandbox/requests", params={"account": CLIENT_ID})
    return dict(answer.json())


async def tenant_handle(
    registry: TenantRegistry, store: TenantStore, tenant_id: str, url: str
) -> TenantHandle:
    connection = RmmConnection(base_url=url, client_id=CLIENT_ID, client_secret=SecretStr(SECRET))
    rules = SyncSettings(endpoint_categories=list(ENDPOINT_CATEGORIES), asset_sync_enabled=True)
    await store.save(Tenant(id=tenant_id, name=tenant_id, rmm=connection, settings=rules), "bench")
    handle = await registry.get(tenant_id)
    assert handle is not None
    return handle


async def full_listing(handle: TenantHandle, sandbox: httpx.AsyncClient) -> dict[str, float]:
    await sandbox.delete("/_sandbox/requests")
    started = time.monotonic()
    companies = await observe.companies(handle)
    endpoints = await observe.endpoints(handle, ENDPOINT_CATEGORIES)
    wall_s = time.monotonic() - started
    calls = (await vendor_calls(sandbox))["total"]
    found = sum(len(snapshot.objects) for snapshot in endpoints.values())
    minimum = 2 + math.ceil(found / ENDPOINT_PAGE)
    return {
        "rmm_full_listing_s": wall_s,
        "rmm_full_listing_companies": float(len(companies.objects)),
        "rmm_full_listing_endpoints": float(found),
        "rmm_full_listing_calls": float(calls),
        "rmm_full_listing_min_calls": float(minimum),
        "rmm_full_listing_calls_ratio": calls / minimum,
        "rmm_full_listing_objects_per_s": (len(companies.objects) + found) / wall_s,
    }


async def sync_run_listing(handle: TenantHandle) -> dict[str, float]:
    run_id = uuid.uuid4()
    started = time.monotonic()
    published = await polls.companies(handle, run_id) + await polls.endpoints(handle, run_id)
    wall_s = time.monotonic() - started
    await handle.js.purge_stream("CHANGES", subject=f"change.{handle.id}.>")
    return {"rmm_sync_listing_s": wall_s, "rmm_sync_listing_published": float(published)}


def outcomes(tenant_id: str) -> Counter[str]:
    """The connector's own count of its calls so far, by outcome (status or error)."""
    counted: Counter[str] = Counter()
    for key, n in calls_made(tenant=tenant_id, vendor="cwrmm").items():
        counted[key.rsplit(" ", 1)[1]] += n
    return counted


async def limited(handle: TenantHandle, calls: int) -> dict[str, float]:
    """`calls` endpoint pages back to back, all in the one bucket of the listing."""
    before = outcomes(handle.id)
    read = 0
    started = time.monotonic()
    while read < calls:  # the listing again from its start when it runs out of pages
        async for _ in handle.client.endpoint_pages("all"):
            read += 1
            if read == calls:
                break
    elapsed = time.monotonic() - started
    made = outcomes(handle.id) - before
    rate = made.total() / elapsed
    return {
        "rmm_limited_calls": float(made.total()),
        "rmm_limited_calls_per_minute": rate * 60,
        "rmm_limited_rate_fraction": rate / (LIMIT / WINDOW_S),
        "rmm_limited_429_after_first": float(max(0, made["429"] - 1)),
    }


async def run(servers: BenchServers | None = None, scale: float = 1.0) -> dict[str, float]:
    """Figures of one run; starts its own servers unless `servers` are given."""
    if servers is None:
        async with bench_servers() as own:
            return await run(own, scale)
    os.environ.setdefault("REVSYNC_SECRET_KEY", Fernet.generate_key().decode())
    port = free_port()
    size = "large" if scale >= 1.0 else str(max(200, round(10_000 * scale)))
    process = start_sandbox(port, size)
    url = f"http://127.0.0.1:{port}"
    pool = await create_pool(servers.database_url, max_size=8)
    client = await nats.connect(servers.nats_url)
    js = client.jetstream()
    await ensure_streams(js)
    tokens = KvTokenStore(await open_bucket(js), SecretBox())
    store = TenantStore(pool)
    registries: list[TenantRegistry] = []
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as sandbox:
            await sandbox_ready(sandbox, process)
            await sandbox.put("/_sandbox/rate-limits", json={"enabled": False})
            free = ConnectorSettings(_env_file=None, rmm_enforce_rate_limits=False)  # type: ignore[call-arg]
            registries.append(TenantRegistry(pool, js, tokens, free, store))
            handle = await tenant_handle(registries[-1], store, "bench-rmm", url)
            values = await full_listing(handle, sandbox)
            values |= await sync_run_listing(handle)

            await sandbox.put("/_sandbox/rate-limits", json={"enabled": True})
            paced = ConnectorSettings(_env_file=None)  # type: ignore[call-arg]
            registries.append(TenantRegistry(pool, js, tokens, paced, store))
            handle = await tenant_handle(registries[-1], store, "bench-rmm-limited", url)
            calls = max(20, round(LIMITED_CALLS * min(scale, 1.0)))
            values |= await limited(handle, calls)
        return values
    finally:
        for registry in registries:
            await registry.close()
        await client.drain()
        await pool.close()
        process.terminate()
        process.wait()


def figures(values: dict[str, float]) -> list[Figure]:
    ratio = values["rmm_full_listing_calls_ratio"]
    return [
        Figure("rmm_full_listing_s", "RMM full listing (limits off): wall time",
               values["rmm_full_listing_s"], "s"),
        Figure("rmm_full_listing_objects_per_s", "RMM full listing: companies+endpoints/s",
               values["rmm_full_listing_objects_per_s"], "objects/s"),
        Figure("rmm_full_listing_calls", "RMM full listing: vendor calls",
               values["rmm_full_listing_calls"], "calls"),
        Figure("rmm_full_listing_min_over_calls", "RMM full listing: minimum calls / calls",
               1 / ratio, "(1/ratio)", target=1 / 1.05),
        Figure("rmm_sync_listing_s", "RMM sync-run listing incl. publishing `seen`",
               values["rmm_sync_listing_s"], "s"),
        Figure("rmm_limited_rate_fraction", "RMM paced calls: rate / documented limit",
               values["rmm_limited_rate_fraction"], "of 500/5min", target=0.9),
        Figure("rmm_limited_429_after_first", "RMM paced calls: 429 after the first",
               values["rmm_limited_429_after_first"], "answers"),
    ]  # fmt: skip


if __name__ == "__main__":
    print(asyncio.run(run(scale=float(sys.argv[1]) if sys.argv[1:] else 1.0)))
