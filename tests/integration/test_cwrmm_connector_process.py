"""The connector as a real process (`python -m services.cwrmm_connector`), killed with SIGKILL
after the vendor created an object and before the command's outcome was committed: once
restarted, it answers the command with that object, which exists exactly once."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
from nats.js import JetStreamContext
from revsync.contracts.rmm import CreateRmmCompany
from revsync.devservers import DevServers, free_port
from revsync.messaging import publish

from services.cwrmm_connector import markers
from tests.integration.cwrmm_connector_support import (
    RmmTenant,
    Sandbox,
    make_tenant,
    results,
    rmm_sandbox_fixture,  # noqa: F401
)

POST_COMPANIES = "POST /api/platform/v1/company/companies"


def tail(log: Path) -> str:
    return tail(log) if log.exists() else ""


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cwrmm_connector"], env=env, stdout=out, stderr=out
        )


async def until_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            assert process.poll() is None, tail(log)
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the connector did not become ready")


def marked(rmm: RmmTenant, revio_id: str) -> list[str]:
    return [
        company_id
        for company_id, company in rmm.store.companies.items()
        if markers.revio_customer_id(company.get("description")) == revio_id
    ]


async def test_killed_between_vendor_call_and_result_the_object_exists_exactly_once(
    servers: DevServers,
    database_url: str,
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
    tmp_path: Path,
):
    rmm = await make_tenant(
        pool, rmm_sandbox, tenant, asset_sync_enabled=False, sync_alerts=False,
        sync_manual_tickets=False,
    )  # fmt: skip
    port, log = free_port(), tmp_path / "connector.log"
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "SERVICE_NAME": f"cwrmm-kill-{secrets.token_hex(3)}",
        "RMM_TENANTS": tenant,
        "METRICS_PORT": str(port),
        "RMM_COMMAND_ACK_WAIT_S": "2",
        "RMM_COMPANY_POLL_INTERVAL_S": "3600",
        "LOG_LEVEL": "WARNING",
    }
    first = start(env, log)
    await until_ready(port, first, log)
    blocker = await asyncpg.connect(database_url)  # holds the outcome's commit back
    holding = blocker.transaction()
    await holding.start()
    await blocker.execute("LOCK TABLE command_outcomes IN EXCLUSIVE MODE")
    command = CreateRmmCompany(
        tenant_id=tenant, revio_customer_id="K-1", name="Killed Midway", description=""
    )
    await publish(js, command)
    try:
        for _ in range(200):
            if marked(rmm, "K-1"):
                break
            await asyncio.sleep(0.05)
        assert marked(rmm, "K-1"), tail(log)
        await asyncio.sleep(0.3)  # the connector now waits to record the outcome
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        await holding.rollback()
        await blocker.close()
    assert await results(js, tenant, 1, within_s=1) == []

    second = start(env, log)
    try:
        await until_ready(port, second, log)
        answers = await results(js, tenant, 1, within_s=30)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            alive = (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code
    finally:
        second.terminate()
        second.wait(timeout=20)

    assert len(answers) == 1 and answers[0].ok, tail(log)
    assert marked(rmm, "K-1") == [answers[0].external_ids["company_id"]]
    assert rmm.calls()[POST_COMPANIES] == 1
    assert alive == 200
    counted = (
        'revsync_vendor_calls_total{endpoint="GET /api/platform/v1/company/companies",'
        f'outcome="200",tenant="{tenant}",vendor="cwrmm"}}'
    )
    assert counted in metrics
