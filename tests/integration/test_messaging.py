"""Durable subscribers: redelivery with backoff, dead letters with a reason, and no decision
taken twice for a redelivered message (real NATS JetStream and PostgreSQL)."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from typing import ClassVar

import asyncpg
import pytest
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from revsync.contracts import Command, Subjects
from revsync.contracts.base import Result, ResultStatus
from revsync.devservers import DevServers
from revsync.eventlog import EventStore, NewEvent
from revsync.messaging import DeliveryPolicy, durable_subscriber, make_broker, publish
from revsync.messaging.subscriber import REASON_HEADER, answer_dead_lettered
from revsync.unit_of_work import UnitOfWork

FAST = DeliveryPolicy(max_deliver=3, backoff_s=(0.05, 0.1), ack_wait_s=5.0)


class PingTicket(Command):
    system: ClassVar[str] = "revio"
    entity: ClassVar[str] = "ticket"
    verb: ClassVar[str] = "ping"
    note: str


@pytest.fixture
async def broker(servers: DevServers) -> AsyncIterator[NatsBroker]:
    instance = make_broker(servers.nats_url)
    yield instance
    await instance.stop()


def unique_service() -> str:
    return f"svc{secrets.token_hex(4)}"


async def wait_until(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def read_stream(js: JetStreamContext, stream: str, subject: str, count: int) -> list:
    """Up to `count` messages of `subject` in `stream`, from its start."""
    sub = await js.pull_subscribe(
        subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    try:
        return await sub.fetch(count, timeout=5)
    finally:
        await sub.unsubscribe()


async def dead_letters(js: JetStreamContext, tenant: str, count: int) -> list:
    return await read_stream(js, "DLQ", f"dlq.{tenant}.>", count)


async def test_failing_handler_is_redelivered_then_dead_lettered_with_reason(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    attempts: list[str] = []

    async def always_fails(command: PingTicket) -> None:
        attempts.append(command.note)
        raise RuntimeError("Rev.io said no")

    durable_subscriber(
        broker,
        service=unique_service(),
        name="ping",
        subject=Subjects.command(tenant, "revio", "ticket", "ping"),
        model=PingTicket,
        handler=always_fails,
        policy=FAST,
    )
    await broker.start()
    await publish(js, PingTicket(tenant_id=tenant, note="hello"))

    letters = await dead_letters(js, tenant, 1)
    assert attempts == ["hello"] * FAST.max_deliver
    letter = letters[0]
    assert letter.subject == f"dlq.{tenant}.cmd.revio.ticket.ping"
    assert Subjects.original_of_dead_letter(letter.subject) == command_subject(tenant)
    assert "RuntimeError: Rev.io said no" in letter.headers[REASON_HEADER]
    assert PingTicket.from_bytes(letter.data).note == "hello"


async def results(js: JetStreamContext, tenant: str, count: int) -> list:
    return await read_stream(js, "RESULTS", f"result.{tenant}.>", count)


async def test_dead_lettered_command_is_answered_once_with_a_failed_result(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    async def always_fails(command: PingTicket) -> None:
        raise RuntimeError("Rev.io is down")

    durable_subscriber(
        broker,
        service=unique_service(),
        name="ping",
        subject=command_subject(tenant),
        model=PingTicket,
        handler=always_fails,
        policy=FAST,
        answer_dead_letters=True,
    )
    await broker.start()
    command = PingTicket(tenant_id=tenant, note="lost?")
    await publish(js, command)

    await dead_letters(js, tenant, 1)
    (answer,) = await results(js, tenant, 1)
    result = Result.from_bytes(answer.data)
    assert answer.subject == f"result.{tenant}.revio.ticket.ping"
    assert (result.command_id, result.status) == (command.message_id, ResultStatus.UNAVAILABLE)
    assert result.reason == "dead-lettered: RuntimeError: Rev.io is down"
    assert result.correlation_id == command.correlation_id
    # answering again (a crash before the ack) is the same message, dropped as a duplicate
    await answer_dead_lettered(js, command, "RuntimeError: Rev.io is down")
    assert len(await results(js, tenant, 2)) == 1


def test_only_commands_can_be_answered_when_dead_lettered():
    with pytest.raises(TypeError, match="no Command"):
        durable_subscriber(
            make_broker("nats://127.0.0.1:1"),
            service="svc",
            name="results",
            subject=Subjects.result("t1", "revio", "ticket", "ping"),
            model=Result,
            handler=lambda result: asyncio.sleep(0),
            answer_dead_letters=True,
        )


async def test_malformed_message_goes_to_dead_letters_at_once(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    handled: list[PingTicket] = []

    async def handler(command: PingTicket) -> None:
        handled.append(command)

    durable_subscriber(
        broker,
        service=unique_service(),
        name="ping",
        subject=Subjects.command(tenant, "revio", "ticket", "ping"),
        model=PingTicket,
        handler=handler,
        policy=FAST,
    )
    await broker.start()
    await js.publish(Subjects.command(tenant, "revio", "ticket", "ping"), b'{"not": "a command"')

    letters = await dead_letters(js, tenant, 1)
    assert "malformed PingTicket" in letters[0].headers[REASON_HEADER]
    assert letters[0].headers["Revsync-Deliveries"] == "1"
    assert handled == []


async def test_handler_that_recovers_is_acknowledged_after_redelivery(
    broker: NatsBroker, js: JetStreamContext, tenant: str
):
    attempts = 0

    async def flaky(command: PingTicket) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 2:
            raise ConnectionError("vendor unavailable")

    durable_subscriber(
        broker,
        service=unique_service(),
        name="ping",
        subject=Subjects.command(tenant, "revio", "ticket", "ping"),
        model=PingTicket,
        handler=flaky,
        policy=FAST,
    )
    await broker.start()
    await publish(js, PingTicket(tenant_id=tenant, note="x"))
    await wait_until(lambda: attempts == 2)
    await asyncio.sleep(0.5)  # would a third delivery come? it must not
    assert attempts == 2


async def test_redelivered_already_processed_message_is_not_decided_twice(
    broker: NatsBroker, js: JetStreamContext, pool: asyncpg.Pool, tenant: str
):
    deliveries = 0
    service = unique_service()

    async def decide_then_crash_before_ack(command: PingTicket) -> None:
        nonlocal deliveries
        deliveries += 1
        async with UnitOfWork(pool, tenant, consumer=service, cause=command) as uow:
            if uow.already_processed:
                return
            await uow.append(f"ticket-link:{command.note}", [NewEvent("Decided", {})])
        if deliveries == 1:
            raise ConnectionResetError("lost the connection before acknowledging")

    durable_subscriber(
        broker,
        service=service,
        name="ping",
        subject=Subjects.command(tenant, "revio", "ticket", "ping"),
        model=PingTicket,
        handler=decide_then_crash_before_ack,
        policy=FAST,
    )
    await broker.start()
    await publish(js, PingTicket(tenant_id=tenant, note="once"))
    await wait_until(lambda: deliveries == 2)
    await asyncio.sleep(0.3)
    decisions = await EventStore(pool).read_stream(tenant, "ticket-link:once")
    assert [e.type for e in decisions] == ["Decided"]
    assert decisions[0].metadata["service"] == service
    assert deliveries == 2


async def test_publish_sets_message_id_so_a_republish_is_dropped(js: JetStreamContext, tenant: str):
    command = PingTicket(tenant_id=tenant, note="dup")
    first = await publish(js, command)
    second = await publish(js, command)
    assert second.duplicate and not first.duplicate
    assert second.seq == first.seq


def command_subject(tenant: str) -> str:
    return Subjects.command(tenant, "revio", "ticket", "ping")


async def test_a_unit_of_work_claims_several_messages_each_once(pool: asyncpg.Pool, tenant: str):
    first, second, third = (PingTicket(tenant_id=tenant, note=n) for n in "abc")
    consumer = unique_service()
    async with UnitOfWork(pool, tenant, consumer) as uow:
        assert await uow.claim([first, second, first]) == [first, second]
    async with UnitOfWork(pool, tenant, consumer) as uow:
        assert await uow.claim([second, third]) == [third]  # the second was processed
    async with UnitOfWork(pool, tenant, "another-service") as uow:
        assert await uow.claim([first]) == [first]  # each consumer has its own inbox

    with pytest.raises(ValueError, match="claims it when it begins"):
        async with UnitOfWork(pool, tenant, consumer, cause=first) as uow:
            await uow.claim([second])
    with pytest.raises(ValueError, match="of tenant"):
        async with UnitOfWork(pool, tenant, consumer) as uow:
            await uow.claim([PingTicket(tenant_id="someone-else", note="x")])
