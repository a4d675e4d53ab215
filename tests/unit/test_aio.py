"""The waits of `revsync.aio` pass on a cancellation that arrives with their result."""

import asyncio

import pytest
from revsync.aio import cancel_and_wait, wait_event


async def test_a_cancellation_in_the_turn_the_event_is_set_is_not_lost():
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 10))
    await asyncio.sleep(0)  # it waits

    event.set()
    waiting.cancel()  # in the same turn (asyncio.wait_for of 3.11 returns True here)
    await asyncio.wait([waiting])

    assert waiting.cancelled()


async def test_wait_event_says_whether_the_event_came_in_time():
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)

    assert await wait_event(event, 5) is True
    assert await wait_event(asyncio.Event(), 0.01) is False


async def test_cancel_and_wait_passes_on_its_callers_cancellation():
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await release.wait()  # takes its time to stop
            raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    caller = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0)

    caller.cancel()  # while it waits for the task (contextlib.suppress would eat this)
    release.set()
    await asyncio.wait([caller])

    assert caller.cancelled()
    assert task.cancelled()


async def test_cancel_and_wait_raises_what_the_task_failed_with():
    async def fails_on_stop() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("could not stop") from None

    task = asyncio.create_task(fails_on_stop())
    await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="could not stop"):
        await cancel_and_wait(task)


async def test_asyncio_wait_for_keeps_a_cancellation_that_arrives_with_its_result():
    """Importing revsync backports 3.12's wait_for: nats-py's requests wait with it."""
    event = asyncio.Event()
    waiting = asyncio.create_task(asyncio.wait_for(event.wait(), 10))
    await asyncio.sleep(0)

    event.set()
    waiting.cancel()
    await asyncio.wait([waiting])

    assert waiting.cancelled()


async def test_asyncio_wait_for_still_times_out_and_cancels_what_it_waited_for():
    inner = asyncio.ensure_future(asyncio.sleep(10))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inner, 0.01)
    assert inner.cancelled()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    done.set_result("now")
    assert await asyncio.wait_for(done, 0) == "now"
    assert await asyncio.wait_for(asyncio.sleep(0, "any time"), None) == "any time"
