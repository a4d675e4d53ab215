"""The connector killed (SIGKILL, a real process) after Rev.io created a ticket but before the
outcome was recorded: restarted, it finds the ticket it made instead of making another, and
answers the command exactly once."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from nats.js import JetStreamContext
from revsync.contracts import Subjects
from revsync.contracts.revio import CreateRevioTicket
from revsync.devservers import DevServers
from revsync.messaging import publish
from revsync.outbox import OutboxRelay

from services.revio_connector import markers
from tests.integration.revio_connector_support import (
    SECRET_KEY,
    Sandbox,
    disable_tenant,
    free_port,
    outcome,
    running_sandbox,
    save_tenant,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox() as running:
        yield running


def start_connector(servers: DevServers, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "REVSYNC_SECRET_KEY": SECRET_KEY,
        "REVIO_CONNECTOR_PORT": str(port),
        "REVIO_COMMAND_ACK_WAIT_S": "5",  # as in the in-process tests: one consumer config
        "REVIO_RATE_PER_MINUTE": "3000",
        "REVIO_POLL_INTERVAL_S": "60",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.revio_connector"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def blocked_writers(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE relation = 'command_outcomes'::regclass"
        " AND NOT granted"
    ))  # fmt: skip


async def test_killed_between_the_vendor_call_and_the_result_the_ticket_exists_once(
    servers: DevServers, database_url: str, sandbox: Sandbox, js: JetStreamContext,
    pool: asyncpg.Pool, tenant: str,
):  # fmt: skip
    saved = await save_tenant(pool, tenant, sandbox.url)
    command = CreateRevioTicket(tenant_id=tenant, source_key="alert:crash", customer_id="10001",
                                title="Disk failing", description="SMART errors")  # fmt: skip
    port = free_port()
    connector = start_connector(servers, database_url, port)
    holder = await asyncpg.connect(database_url)
    try:
        await wait_for(lambda: ready(port), 30)
        # hold the outcome table: the connector can call Rev.io but cannot record the outcome
        lock = holder.transaction()
        await lock.start()
        await holder.execute("LOCK TABLE command_outcomes IN EXCLUSIVE MODE")
        await publish(js, command)
        await wait_for(lambda: sandbox.statuses("POST", "/v1/Tickets") == [201], 15)
        await wait_for(lambda: blocked_writers(pool), 15)
        connector.send_signal(signal.SIGKILL)
        connector.wait()
        await lock.rollback()

        assert connector.returncode == -signal.SIGKILL
        held = await pool.fetchval(
            "SELECT count(*) FROM command_outcomes WHERE command_id = $1", command.message_id
        )
        assert held == 0, "the outcome was recorded before the kill"

        connector = start_connector(servers, database_url, port)
        result = await outcome(pool, tenant, command.message_id, within_s=40)
    finally:
        await holder.close()  # first: a connector waiting on the held table could not stop
        connector.terminate()
        try:
            connector.wait(timeout=30)
        except subprocess.TimeoutExpired:
            connector.kill()
            connector.wait()
        await disable_tenant(pool, saved)

    tickets = [t for t in sandbox.store().tickets.rows.values()
               if {"label": markers.SOURCE_KEY_FIELD, "value": "alert:crash"}.items()
               <= t["fields"][0].items()]  # fmt: skip
    assert len(tickets) == 1
    assert result.ok and result.external_ids == {"ticket_id": str(tickets[0]["ticket_id"])}
    assert sandbox.statuses("POST", "/v1/Tickets") == [201], "Rev.io was asked twice"

    relay = OutboxRelay(pool, js)
    while await relay.publish_batch():
        pass
    subject = Subjects.result(tenant, "revio", "ticket", "create")
    info = await js.stream_info("RESULTS", subjects_filter=subject)
    assert (info.state.subjects or {}).get(subject) == 1
    await asyncio.sleep(0)
