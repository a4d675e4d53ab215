"""The outbox relay under SIGKILL: every row reaches NATS exactly once (real processes)."""

import asyncio
import os
import signal
import subprocess
import sys
from uuid import UUID, uuid4

import asyncpg
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from revsync import outbox as outbox_module
from revsync.aio import cancel_and_wait
from revsync.contracts import Subjects
from revsync.devservers import DevServers
from revsync.eventlog import NewEvent
from revsync.outbox import OutboxRelay, retry_pause_s
from revsync.unit_of_work import UnitOfWork

from services.console.health import outbox
from tests.integration.round_trips import counted_round_trips
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


async def test_a_row_that_cannot_be_published_waits_with_its_error_and_holds_up_no_other(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str
):
    """A row whose subject no stream holds (a misconfiguration, a stream deleted by hand)
    used to fail its whole batch forever, stalling every tenant. Now it waits, visible in
    health with its error, the others go out, and it goes out once it can."""
    subject = Subjects.command(tenant, "revio", "ticket", "ping")
    stray = f"nowhere.{tenant}.ping"
    async with UnitOfWork(pool, tenant, consumer="test") as uow:
        before = PingTicket(tenant_id=tenant, note="before")
        uow.send(before)
    await pool.execute(
        "INSERT INTO outbox (id, tenant_id, subject, payload) VALUES ($1, $2, $3, $4)",
        uuid4(), tenant, stray, b"{}",
    )  # fmt: skip
    async with UnitOfWork(pool, tenant, consumer="test") as uow:
        uow.send(PingTicket(tenant_id=tenant, note="after"))

    relay = OutboxRelay(pool, js)
    assert await relay.publish_batch() == 3
    assert await count_in_stream(js, subject) == 2, "the good rows went out"
    held = await pool.fetchrow(
        "SELECT attempts, last_error, retry_at > now() AS later FROM outbox WHERE tenant_id = $1",
        tenant,
    )
    assert held["attempts"] == 1 and held["later"], dict(held)
    assert "NoStreamResponseError" in held["last_error"]
    assert await relay.publish_batch() == 0, "not tried again before its time"
    shown = await outbox(pool, tenant)
    assert shown["pending"] == 1 and shown["waiting_after_failure"] == 1, shown
    assert "NoStreamResponseError" in shown["last_error"]

    # the stream appears (the misconfiguration is fixed): the row goes out at its next try
    await js.add_stream(name=f"STRAY_{tenant}", subjects=[f"nowhere.{tenant}.>"])
    try:
        await pool.execute("UPDATE outbox SET retry_at = now() WHERE tenant_id = $1", tenant)
        assert await relay.publish_batch() == 1
        assert await outbox_size(pool, tenant) == 0
        assert relay.published == 3
    finally:
        await js.delete_stream(f"STRAY_{tenant}")


async def test_claimed_rows_are_left_to_their_relay_until_the_claim_runs_out(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, monkeypatch: pytest.MonkeyPatch
):
    """A relay claims a batch in one statement and publishes it outside any transaction: no
    other relay takes those rows meanwhile, and if the claimer dies (here: cancelled while its
    publishes hang) another takes them once the claim runs out. A batch costs two round
    trips (claim, delete), and a wake-up that finds nothing one."""
    monkeypatch.setattr(outbox_module, "CLAIM_S", 0.5)
    subject = Subjects.command(tenant, "revio", "ticket", "ping")
    async with UnitOfWork(pool, tenant, consumer="test") as uow:
        for n in range(3):
            uow.send(PingTicket(tenant_id=tenant, note=f"claimed-{n}"))

    hanging, stuck = OutboxRelay(pool, js), asyncio.Event()

    async def publish_never(row: asyncpg.Record) -> None:
        stuck.set()
        await asyncio.Event().wait()

    hanging._publish = publish_never  # type: ignore[method-assign]
    claimer = asyncio.create_task(hanging.publish_batch())
    await asyncio.wait_for(stuck.wait(), 5)
    other = OutboxRelay(pool, js)
    with counted_round_trips() as empty:
        assert await other.publish_batch() == 0, "another relay's claimed rows were taken"
    await cancel_and_wait(claimer)
    assert await outbox_size(pool, tenant) == 3, "a relay that died lost its rows"

    await asyncio.sleep(0.6)  # the claim runs out
    with counted_round_trips() as batch:
        assert await other.publish_batch() == 3
    assert await outbox_size(pool, tenant) == 0
    assert await count_in_stream(js, subject) == 3
    assert (len(empty), len(batch)) == (1, 2), (empty, batch)


def test_a_failed_row_waits_longer_each_time_up_to_ten_seconds():
    assert [retry_pause_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_a_relay_stops_when_cancelled_just_as_a_notify_wakes_it(
    pool: asyncpg.Pool, js: JetStreamContext
):
    """The race that hung a service's stop (and a test module) under Python 3.11's
    `asyncio.wait_for`: the stop and a NOTIFY in the same turn. The relay ends all the same."""
    relay = OutboxRelay(pool, js)
    running = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)  # listening, the outbox empty: it waits for a wake-up

    relay._notified()  # a NOTIFY arrives ...
    running.cancel()  # ... as it is stopped
    await asyncio.wait([running], timeout=5)
    stopped = running.cancelled()
    if not running.done():  # a second stop ends it: a failure here must not hang the session
        running.cancel()
        await asyncio.wait([running], timeout=5)

    assert stopped, "the relay went on after it was cancelled"
