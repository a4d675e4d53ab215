"""The Rev.io connector's use of the documented limit (500 calls a minute per account).

A large account (the sandbox's "large" world: 9,167 customers in Rev.io with 13,734
addresses, its tickets, and 20,000 inventory items of the asset type, one per fifth endpoint
of the world) is listed in full by the connector's own client (shared PostgreSQL rate
limiter, retries, windowed paging), again and again for `MEASURE_S`, against the Rev.io
sandbox with its rate limit on, in a process of its own. Figures: the achieved call rate as
a fraction of the limit (target >= 0.9), the 429 answers after the first one (target 0), and
the time and calls of one full listing.

Why not 100,000 items: the sandbox filters items by type with a scan of them all, about
200 ms a page at 100,000, slower than the limit's 120 ms a call: the bench would measure the
sandbox. This measures the listing's HTTP side; publishing the `seen` changes is not timed.
"""

import asyncio
import gc
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from revsync.db import create_pool
from revsync.devservers import free_port
from revsync.tenancy import RevioConnection
from revsync.vendor.metrics import calls_made

from bench.results import Figure
from bench.servers import BenchServers, bench_servers
from services.revio_connector.__main__ import tune_gc
from services.revio_connector.client.api import RevioApi, connect
from services.sandbox.revio import create_app
from services.sandbox.seed import generate_world

LIMIT_PER_MINUTE = 500
MEASURE_S = 90.0
TENANT = "bench-revio"
ASSET_TYPE = "RMM Endpoint"
ENDPOINTS_PER_ASSET = 5  # see the module's docstring


def large_sandbox(clients: int) -> Any:
    world = generate_world(1, clients if clients != 10_000 else "large")
    app = create_app(world)
    store = app.state.revio.accounts["SANDBOX"].store
    customer_ids = list(store.customers.rows)
    for n, endpoint in enumerate(world.endpoints()[::ENDPOINTS_PER_ASSET]):
        store.inventory_items.insert({
            "inventory_type_id": 1, "identifier": endpoint.id, "status": "ACTIVE", "note": "",
            "customer_id": customer_ids[n % len(customer_ids)], "fields": [],
        })  # fmt: skip
    return app


async def full_listing(api: RevioApi, asset_type: str) -> int:
    """What `TenantWatcher.list_everything` reads: the three kinds side by side."""
    found = await asyncio.gather(api.customers(None), api.tickets(None), api.assets(asset_type))
    return sum(len(listing.objects) for listing in found)


def calls(tenant: str) -> Counter[str]:
    """Calls made so far by outcome (the connector's own count of every attempt)."""
    counted: Counter[str] = Counter()
    for key, n in calls_made(tenant=tenant, vendor="revio").items():
        counted[key.rsplit(" ", 1)[1]] += n
    return counted


async def measure(api: RevioApi, measure_s: float) -> dict[str, float]:
    asset_type = await api.asset_type_id(ASSET_TYPE) or "1"
    before = calls(TENANT)
    started = time.monotonic()
    objects = await full_listing(api, asset_type)
    listing_s = time.monotonic() - started
    listing_calls = (calls(TENANT) - before).total()

    async def again_and_again() -> None:
        while True:
            await full_listing(api, asset_type)

    remaining = max(0.0, measure_s - (time.monotonic() - started))
    try:
        await asyncio.wait_for(again_and_again(), remaining)
    except TimeoutError:
        pass
    elapsed = time.monotonic() - started
    made = calls(TENANT) - before
    rate_per_minute = made.total() / elapsed * 60
    return {
        "revio_listing_rate_fraction": rate_per_minute / LIMIT_PER_MINUTE,
        "revio_listing_calls_per_minute": rate_per_minute,
        "revio_listing_429_after_first": float(max(0, made["429"] - 1)),
        "revio_full_listing_s": listing_s,
        "revio_full_listing_calls": float(listing_calls),
        "revio_full_listing_objects": float(objects),
    }


def start_sandbox(port: int, clients: int) -> subprocess.Popen[bytes]:
    """The sandbox in a process of its own, as Rev.io is: its work is not ours to wait on."""
    command = [sys.executable, "-m", "bench.revio_connector", "--sandbox", str(port), str(clients)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def sandbox_ready(base: str, process: subprocess.Popen[bytes], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the Rev.io sandbox exited while starting")
            try:
                if (await client.get(f"{base}/_sandbox/accounts")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the Rev.io sandbox did not start")


async def run(servers: BenchServers | None = None, scale: float = 1.0) -> dict[str, float]:
    """Figures of one run; starts its own servers unless `servers` are given."""
    if servers is None:
        async with bench_servers() as own:
            return await run(own, scale)
    port = free_port()
    sandbox = start_sandbox(port, max(200, round(10_000 * scale)))
    pool = await create_pool(servers.database_url, max_size=4)
    connection = RevioConnection(
        base_url=f"http://127.0.0.1:{port}/v1", username="integration", client_code="SANDBOX",
        password=SecretStr("sandbox"),
    )  # fmt: skip
    api = connect(TENANT, connection, pool, per_minute=LIMIT_PER_MINUTE)
    thresholds = gc.get_threshold()
    try:
        await sandbox_ready(f"http://127.0.0.1:{port}", sandbox, 90)
        tune_gc()  # as the connector's process does
        return await measure(api, max(15.0, MEASURE_S * min(scale, 1.0)))
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        await api.aclose()
        await pool.close()
        sandbox.terminate()
        sandbox.wait()


def serve_sandbox(port: int, clients: int) -> None:
    app = large_sandbox(clients)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


def figures(values: dict[str, float]) -> list[Figure]:
    return [
        Figure("revio_listing_rate_fraction", "Rev.io listing: call rate / limit",
               values["revio_listing_rate_fraction"], "of 500/min", target=0.9),
        Figure("revio_listing_calls_per_minute", "Rev.io listing: calls per minute",
               values["revio_listing_calls_per_minute"], "calls/min"),
        Figure("revio_listing_429_after_first", "Rev.io listing: 429 after the first",
               values["revio_listing_429_after_first"], "answers"),
        Figure("revio_full_listing_s", "Rev.io full listing of a large account",
               values["revio_full_listing_s"], "s"),
        Figure("revio_full_listing_calls", "Rev.io full listing: calls",
               values["revio_full_listing_calls"], "calls"),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sandbox"]:
        serve_sandbox(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(asyncio.run(run()))
