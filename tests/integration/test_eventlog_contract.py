"""The event log's guarantees, against a real PostgreSQL server (ARCHITECTURE section 3)."""

import asyncio
import random
from collections import Counter, defaultdict
from uuid import uuid4

import asyncpg
import pytest
from revsync.eventlog import (
    ANY_VERSION,
    NO_STREAM,
    START,
    CatchUpSubscription,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from revsync.eventlog.store import append_in_transaction, append_recorded
from revsync.eventlog.subscription import load_checkpoint, save_checkpoint


def events(n: int, kind: str = "Thing") -> list[NewEvent]:
    return [NewEvent(kind, {"n": i}) for i in range(n)]


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


async def test_append_assigns_consecutive_versions_and_reads_back(store: EventStore, tenant: str):
    assert await store.append(tenant, "asset:1", events(3), NO_STREAM) == 3
    assert await store.append(tenant, "asset:1", events(2), expected_version=3) == 5
    read = await store.read_stream(tenant, "asset:1")
    assert [e.version for e in read] == [1, 2, 3, 4, 5]
    assert [e.data["n"] for e in read] == [0, 1, 2, 0, 1]
    assert all(e.tenant_id == tenant and e.stream == "asset:1" for e in read)


async def test_append_at_wrong_expected_version_is_a_conflict(store: EventStore, tenant: str):
    await store.append(tenant, "asset:2", events(2), NO_STREAM)
    for wrong in (NO_STREAM, 1, 3):
        with pytest.raises(ConcurrencyError):
            await store.append(tenant, "asset:2", events(1), expected_version=wrong)
    assert await store.stream_version(tenant, "asset:2") == 2


async def test_concurrent_appenders_to_one_stream_exactly_one_wins_per_version(
    store: EventStore, tenant: str
):
    stream = "company-link:42"
    for version in range(0, 10):
        outcomes = await asyncio.gather(
            *(store.append(tenant, stream, events(1), expected_version=version) for _ in range(12)),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        losers = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert winners == [version + 1]
        assert len(losers) == 11
    assert [e.version for e in await store.read_stream(tenant, stream)] == list(range(1, 11))


async def test_append_is_idempotent_by_event_id(store: EventStore, tenant: str):
    batch = events(3)
    assert await store.append(tenant, "alert:7", batch, NO_STREAM) == 3
    # a retried append of the same events, even at a stale expected version, is a no-op
    assert await store.append(tenant, "alert:7", batch, NO_STREAM) == 3
    assert await store.append(tenant, "alert:7", batch, ANY_VERSION) == 3
    assert len(await store.read_stream(tenant, "alert:7")) == 3
    assert await store.stream_version(tenant, "alert:7") == 3
    with pytest.raises(DuplicateEventError):
        await store.append(tenant, "alert:7", [batch[0], *events(1)])


async def test_a_retried_append_inside_a_transaction_is_a_no_op_that_keeps_it_usable(
    pool: asyncpg.Pool, store: EventStore, tenant: str
):
    batch = events(3)
    async with pool.acquire() as conn, conn.transaction():
        assert await append_in_transaction(conn, tenant, "alert:9", batch, NO_STREAM) == 3
        assert await append_in_transaction(conn, tenant, "alert:9", batch, NO_STREAM) == 3
        assert await append_in_transaction(conn, tenant, "alert:9", batch, ANY_VERSION) == 3
        assert await append_in_transaction(conn, tenant, "alert:9", events(1), 3) == 4
    assert await store.stream_version(tenant, "alert:9") == 4
    assert [e.version for e in await store.read_stream(tenant, "alert:9")] == [1, 2, 3, 4]


async def test_append_recorded_answers_with_the_events_as_read_back_and_keeps_the_contract(
    pool: asyncpg.Pool, store: EventStore, tenant: str
):
    batch = events(2)
    async with pool.acquire() as conn, conn.transaction():
        await append_in_transaction(conn, tenant, "alert:10", events(1), NO_STREAM)
        recorded = await append_recorded(conn, tenant, "alert:10", batch, 1)
        assert [(e.id, e.version, e.data) for e in recorded] == [
            (batch[0].id, 2, {"n": 0}),
            (batch[1].id, 3, {"n": 1}),
        ]
        # a retry answers with the same records; a stale version or a partial retry fails
        assert await append_recorded(conn, tenant, "alert:10", batch, 1) == recorded
    assert (await store.read_stream(tenant, "alert:10"))[1:] == recorded
    async with pool.acquire() as conn:
        with pytest.raises(ConcurrencyError):
            await append_recorded(conn, tenant, "alert:10", events(1), 1)
        with pytest.raises(DuplicateEventError):
            await append_recorded(conn, tenant, "alert:10", [batch[0], *events(1)], 3)
    assert await store.stream_version(tenant, "alert:10") == 3


async def test_concurrent_identical_appends_record_the_events_once(store: EventStore, tenant: str):
    batch = events(2)
    outcomes = await asyncio.gather(
        *(store.append(tenant, "alert:8", batch, NO_STREAM) for _ in range(8))
    )
    assert outcomes == [2] * 8
    assert len(await store.read_stream(tenant, "alert:8")) == 2


async def test_an_event_s_time_is_when_it_was_written_so_log_order_reads_forward_in_time(
    store: EventStore, pool: asyncpg.Pool, tenant: str
):
    # a unit of work that began, then waited (on a lock, say) while another wrote
    async with pool.acquire() as conn, conn.transaction():
        began = await conn.fetchval("SELECT now()")
        await store.append(tenant, "asset:meanwhile", events(1), NO_STREAM)
        await asyncio.sleep(0.05)
        await append_in_transaction(conn, tenant, "asset:waited", events(2), NO_STREAM)

    meanwhile = await store.read_stream(tenant, "asset:meanwhile")
    waited = await store.read_stream(tenant, "asset:waited")
    in_log_order = [*meanwhile, *waited]
    assert [e.global_position for e in in_log_order] == sorted(
        e.global_position for e in in_log_order
    )
    times = [e.recorded_at for e in in_log_order]
    assert times == sorted(times)  # the audit trail's times never go back
    assert (waited[0].recorded_at - began).total_seconds() >= 0.05


async def test_streams_and_tenants_are_separate(store: EventStore, tenant: str):
    other = tenant + "x"
    await store.append(tenant, "asset:1", events(2))
    await store.append(other, "asset:1", events(5))
    await store.append(tenant, "alert:1", events(1))
    assert len(await store.read_stream(tenant, "asset:1")) == 2
    assert len(await store.read_stream(other, "asset:1")) == 5
    category = await store.read_category(tenant, "asset")
    assert {e.stream for e in category} == {"asset:1"} and len(category) == 2
    mine = await store.read_all(tenant_id=tenant)
    assert {e.tenant_id for e in mine} == {tenant} and len(mine) == 3


async def _slow_appender(
    pool: asyncpg.Pool, tenant: str, stream: str, count: int, rng: random.Random
) -> None:
    """Appends in transactions of random size, some of which stay open a while before
    committing, so positions are allocated in a different order than commits happen."""
    written = 0
    while written < count:
        size = min(rng.randint(1, 7), count - written)
        async with pool.acquire() as conn, conn.transaction():
            await append_in_transaction(conn, tenant, stream, events(size))
            if rng.random() < 0.3:
                await asyncio.sleep(rng.random() * 0.03)
        written += size


async def test_reader_following_the_log_sees_every_event_once_in_order_under_load(
    pool: asyncpg.Pool, store: EventStore, tenant: str
):
    writers, per_writer = 8, 150
    expected_total = writers * per_writer
    seen: list[RecordedEvent] = []

    async def follow() -> None:
        async for event in CatchUpSubscription(store, tenant_id=tenant, batch_size=50):
            seen.append(event)
            if len(seen) == expected_total:
                return

    reader = asyncio.create_task(follow())
    rng = random.Random(7)
    await asyncio.gather(
        *(
            _slow_appender(pool, tenant, f"asset:{w}", per_writer, random.Random(rng.random()))
            for w in range(writers)
        )
    )
    await asyncio.wait_for(reader, timeout=30)

    assert len(seen) == expected_total
    assert len({e.id for e in seen}) == expected_total, "an event was delivered twice"
    positions = [e.position for e in seen]
    assert positions == sorted(positions), "the reader went backwards"
    by_stream: dict[str, list[int]] = defaultdict(list)
    for event in seen:
        by_stream[event.stream].append(event.version)
    assert all(v == list(range(1, per_writer + 1)) for v in by_stream.values())
    # the same log read again from the start gives the same sequence
    again = await store.read_all(tenant_id=tenant, limit=expected_total + 10)
    assert [e.id for e in again] == [e.id for e in seen]


async def test_reader_never_skips_an_event_that_commits_after_a_later_position(
    pool: asyncpg.Pool, store: EventStore, tenant: str
):
    async with pool.acquire() as slow_conn:
        slow_tx = slow_conn.transaction()
        await slow_tx.start()
        await append_in_transaction(slow_conn, tenant, "asset:slow", events(1, "Slow"))
        await store.append(
            tenant, "asset:fast", events(1, "Fast")
        )  # higher position, commits first
        held = await store.read_all(tenant_id=tenant)
        assert held == [], "an event behind an open transaction was handed out"
        assert await store.has_held_back(START, tenant)
        await slow_tx.commit()
    after = await store.read_all(tenant_id=tenant)
    assert [e.type for e in after] == ["Slow", "Fast"]
    assert not await store.has_held_back(after[-1].position, tenant)


async def test_catch_up_subscription_resumes_from_a_saved_checkpoint(
    pool: asyncpg.Pool, store: EventStore, tenant: str
):
    await store.append(tenant, "sync-run:1", events(30))
    first: list[RecordedEvent] = []
    subscription = CatchUpSubscription(store, tenant_id=tenant, batch_size=8)
    async for event in subscription:
        first.append(event)
        if len(first) == 20:
            break
    async with pool.acquire() as conn:
        await save_checkpoint(conn, f"test-{tenant}", subscription.position)

    await store.append(tenant, "sync-run:1", events(15))  # written while "down"

    async with pool.acquire() as conn:
        resumed_at = await load_checkpoint(conn, f"test-{tenant}")
    rest: list[RecordedEvent] = []
    async for event in CatchUpSubscription(store, after=resumed_at, tenant_id=tenant):
        rest.append(event)
        if len(rest) == 25:
            break
    versions = [e.version for e in first + rest]
    assert versions == list(range(1, 46))
    assert Counter(e.id for e in first + rest).most_common(1)[0][1] == 1


async def test_subscription_wakes_on_new_events_without_polling(store: EventStore, tenant: str):
    got: asyncio.Queue[RecordedEvent] = asyncio.Queue()

    async def follow() -> None:
        async for event in CatchUpSubscription(store, tenant_id=tenant):
            await got.put(event)

    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.2)
        marker = NewEvent("Woken", {"id": str(uuid4())})
        await store.append(tenant, "settings", [marker])
        # the safety wake-up is 5 s; a notification must deliver well before it
        event = await asyncio.wait_for(got.get(), timeout=2.0)
        assert event.id == marker.id
    finally:
        task.cancel()


async def test_a_follower_with_a_live_interval_reads_a_burst_in_a_few_reads_and_misses_nothing(
    pool: asyncpg.Pool, tenant: str
):
    class CountingStore(EventStore):
        reads = 0

        async def read_all(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.reads += 1
            return await super().read_all(*args, **kwargs)

    store = CountingStore(pool)
    got: list[RecordedEvent] = []

    async def follow() -> None:
        async for event in CatchUpSubscription(store, tenant_id=tenant, live_interval_s=0.3):
            got.append(event)

    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.2)  # caught up, waiting
        reads_before = store.reads
        burst = [NewEvent("Burst", {"n": n}) for n in range(20)]
        for event in burst:  # twenty appends, twenty notifications, over 0.4 s
            await store.append(tenant, "alert:burst", [event])
            await asyncio.sleep(0.02)
        deadline = asyncio.get_running_loop().time() + 5.0
        while len([e for e in got if e.type == "Burst"]) < 20:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        assert [e.id for e in got if e.type == "Burst"] == [e.id for e in burst]
        assert store.reads - reads_before <= 6
    finally:
        task.cancel()
