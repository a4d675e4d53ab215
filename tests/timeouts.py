"""A test that outlives its timeout names the asyncio tasks still waiting, and ends the session.

pytest-timeout's signal method raises from wherever the main thread is, and in an async test
that is the event loop's wait: the stuck coroutine is not unwound, it stays pending on the
session's loop (with the brokers and consumers its fixtures started) and runs on during the
next tests, which then fail for reasons of its making. So on a timeout this plugin fails the
test with the place each pending task waits at (threads show nothing of them), and stops the
session after it: the run fails on the one true cause."""

import asyncio
import signal
import threading
import traceback
from typing import Any

import pytest
import pytest_timeout


def waiting_tasks(loop: asyncio.AbstractEventLoop | None) -> list[str]:
    """One line per pending task of `loop`: its name and the innermost place it waits at."""
    if loop is None:
        return []
    found = []
    for task in asyncio.all_tasks(loop):
        frames = task.get_stack()
        where = "(not started)"
        if frames:
            last = traceback.extract_stack(frames[-1], limit=1)[-1]
            where = f"{last.filename}:{last.lineno} in {last.name}"
        found.append(f"{task.get_name()} {task.get_coro()!r}: waits at {where}")
    return sorted(found)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own way

    def handler(signum: int, frame: Any) -> None:
        __tracebackhide__ = True
        tasks = waiting_tasks(asyncio._get_running_loop())
        item.session.shouldstop = (
            f"{item.nodeid} timed out: its tasks may still run on the event loop"
        )
        if not tasks:
            pytest_timeout.timeout_sigalrm(item, settings)  # dumps the threads, then fails
        pytest.fail(
            f"Timeout >{settings.timeout}s; asyncio tasks still waiting:\n" + "\n".join(tasks)
        )

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True
