"""The outbox relay under SIGKILL: every row reaches NATS exactly once (real processes)."""

import asyncio
import os
import signal
import subprocess
import sys
from uuid import UUID

import asyncpg
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from revsync.contracts import Subjects
from revsync.devservers import DevServers
from revsync.eventlog import NewEvent
from revsync.unit_of_work import UnitOfWork

from tests.integration.test_messaging import PingTicket

ROWS = 3000


async def count_in_stream(js: JetStreamContext, subject: str) -> int:
    info = await js.stream_info("COMMANDS", subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def outbox_size(pool: asyncpg.Pool, tenant: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE tenant_id = $1", tenant))


def start_relay(servers: DevServers, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "revsync.outbox"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(120)
async def test_relay_killed_mid_batch_and_restarted_publishes_every_row_exactly_once(
    servers: DevServers,
    database_url: str,
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
):
    subject = Subjects.command(tenant, "revio", "ticket", "ping")
    sent: list[UUID] = []
    for chunk in range(ROWS // 500):
        async with UnitOfWork(pool, tenant, consumer="test") as uow:
            await uow.append(f"sync-run:{chunk}", [NewEvent("Chunk", {"n": chunk})])
            for i in range(500):
                command = PingTicket(tenant_id=tenant, note=f"{chunk}-{i}")
                uow.send(command)
                sent.append(command.message_id)

    kills = 0
    for _ in range(3):
        relay = start_relay(servers, database_url)
        # let it get some way in, then kill it without warning, possibly mid-batch
        deadline = asyncio.get_running_loop().time() + 30
        while await count_in_stream(js, subject) < (kills + 1) * ROWS // 5:
            await asyncio.sleep(0.005)
            assert relay.poll() is None, "the relay died on its own"
            assert asyncio.get_running_loop().time() < deadline, "the relay published nothing"
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        kills += 1

    relay = start_relay(servers, database_url)
    try:
        for _ in range(600):
            if await outbox_size(pool, tenant) == 0:
                break
            await asyncio.sleep(0.1)
        assert await outbox_size(pool, tenant) == 0
    finally:
        relay.terminate()
        relay.wait()

    assert await count_in_stream(js, subject) == ROWS
    consumer = await js.pull_subscribe(
        subject, stream="COMMANDS", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    received: list[UUID] = []
    while len(received) < ROWS:
        batch = await consumer.fetch(500, timeout=5)
        received += [UUID(m.headers["Nats-Msg-Id"]) for m in batch]
        for message in batch:
            await message.ack()
    await consumer.unsubscribe()
    assert sorted(received) == sorted(sent), "a row was lost or published twice"
    assert kills == 3
