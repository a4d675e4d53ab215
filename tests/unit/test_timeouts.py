"""A timed-out async test names where its tasks wait, and the session stops after it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STUCK = """
import asyncio

import pytest


async def wait_for_ever(event: asyncio.Event) -> None:
    await event.wait()


@pytest.mark.timeout(1)
async def test_stuck():
    await asyncio.create_task(wait_for_ever(asyncio.Event()), name="the-stuck-one")


async def test_after():
    pass
"""


def test_a_timed_out_async_test_names_its_waiting_tasks_and_stops_the_session(tmp_path: Path):
    (tmp_path / "test_stuck.py").write_text(STUCK)

    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.timeouts", "-o", "asyncio_mode=auto",
         "-o", "asyncio_default_fixture_loop_scope=session",
         "-c", "/dev/null", "--rootdir", str(tmp_path), "-p", "no:cacheprovider",
         str(tmp_path / "test_stuck.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert ran.returncode == 2, ran.stdout + ran.stderr  # interrupted
    assert "Timeout >1.0s; asyncio tasks still waiting:" in ran.stdout
    assert "the-stuck-one <coroutine object wait_for_ever" in ran.stdout
    assert "test_stuck.py:8 in wait_for_ever" in ran.stdout
    assert "test_stuck.py::test_stuck timed out" in ran.stdout  # why the session stopped
    assert "1 failed" in ran.stdout and "passed" not in ran.stdout  # test_after did not run
