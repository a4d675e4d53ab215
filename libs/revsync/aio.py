"""Waits that never swallow the caller's cancellation.

Python 3.11's `asyncio.wait_for` returns the inner result when the waiting task is cancelled
in the same loop turn as that result arrives: the cancellation is lost. nats-py waits for
every request's answer with it, so a loop that asks NATS something (a consumer's info, a
publish's ack) could be cancelled, go round again, and never end: a service that does not
stop, a broker whose subscribers outlive it. Python 3.12 rewrote `wait_for` on
`asyncio.timeout`, which keeps the cancellation; `backport_wait_for` puts that version in
place on 3.11 (importing `revsync` does it, so every service, tool and test has it).

`with suppress(CancelledError): await task` after `task.cancel()` also eats a cancellation of
the caller: `cancel_and_wait` does not."""

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

_WAIT_FOR_OF_3_11 = asyncio.wait_for


async def wait_for(awaitable: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109
    """`asyncio.wait_for` as Python 3.12 has it: the caller's cancellation always wins."""
    if timeout is None:
        return await awaitable
    if timeout <= 0:  # no wait, so nothing to race: 3.11's own answer
        return await _WAIT_FOR_OF_3_11(awaitable, timeout)
    async with asyncio.timeout(timeout):
        return await awaitable


def backport_wait_for() -> None:
    """On Python 3.11, `asyncio.wait_for` is the 3.12 one from here on (for every library
    that looks it up on `asyncio` when it waits, as nats-py does)."""
    if sys.version_info < (3, 12):
        asyncio.wait_for = asyncio.tasks.wait_for = wait_for  # type: ignore[assignment]


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set, at most `timeout_s`; whether it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(task: "asyncio.Future[Any]") -> None:
    """Cancel `task` and wait until it has ended; raises what it failed with other than its
    cancellation, and this caller's own cancellation."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
