"""How `make run` (`services/stack.py`) stops, with real processes: SIGTERM (`kill`, systemd,
`docker stop`) stops it exactly as Ctrl-C does. Every process it started gets SIGINT and a
grace period (the sandbox saves its state), and one that ignores SIGINT gets SIGTERM after it;
none is left running."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from revsync.devservers import free_port

REPO = Path(__file__).resolve().parents[2]
# the stack's way of starting, waiting and stopping, around a sandbox and a process that
# goes on after SIGINT
STACK = """
import os, sys
from pathlib import Path
from services import stack

folder, port = Path(sys.argv[1]), sys.argv[2]
stubborn = (
    "import signal, time; "
    "signal.signal(signal.SIGINT, lambda *_: print('got SIGINT, going on', flush=True)); "
    "time.sleep(600)"
)
children = []
with stack.stopping(children, grace_s=3):
    children.append(stack.spawn(
        [sys.executable, "-m", "services.sandbox", "--size", "tiny", "--only", "rmm",
         "--rmm-port", port, "--snapshot", str(folder / "sandbox.json")],
        dict(os.environ), folder / "sandbox.log",
    ))
    children.append(stack.spawn([sys.executable, "-c", stubborn], dict(os.environ),
                                folder / "stubborn.log"))
    print("pids", *(child.pid for child in children), flush=True)
    stack.wait_for_stop()
print("exit codes", *(child.returncode for child in children), flush=True)
"""


def wait_for_sandbox(port: int, stack: subprocess.Popen[str], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert stack.poll() is None, stack.stdout.read() if stack.stdout else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/accounts", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError((folder / "sandbox.log").read_text())


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit status waits for whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def start_stack(folder: Path, port: int) -> tuple[subprocess.Popen[str], list[int]]:
    stack = subprocess.Popen(
        [sys.executable, "-c", STACK, str(folder), str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert stack.stdout is not None
    return stack, [int(pid) for pid in stack.stdout.readline().split()[1:]]


@pytest.mark.parametrize(
    "stop", ["kill", "ctrl-c"], ids=["SIGTERM to the stack", "Ctrl-C in its terminal"]
)
def test_a_stopped_stack_stops_every_process_and_the_sandbox_saves_its_state(
    tmp_path: Path, stop: str
) -> None:
    port = free_port()
    stack, pids = start_stack(tmp_path, port)
    assert stack.stdout is not None
    try:
        wait_for_sandbox(port, stack, tmp_path)
        if stop == "kill":
            stack.send_signal(signal.SIGTERM)
        else:
            os.killpg(stack.pid, signal.SIGINT)
        assert stack.wait(timeout=30) == 0
        output = stack.stdout.read()
        left = [pid for pid in pids if running(pid)]
    finally:
        for pid in [stack.pid, *pids]:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    assert "stopping ..." in output
    assert f"exit codes 0 {-signal.SIGTERM}" in output  # the sandbox stopped on SIGINT
    assert not left
    assert (tmp_path / "sandbox.json").exists()
    assert "state saved to" in (tmp_path / "sandbox.log").read_text()
    assert "got SIGINT" in (tmp_path / "stubborn.log").read_text()  # SIGINT came first


def test_a_killed_stack_leaves_no_process_running_and_the_sandbox_still_saves(
    tmp_path: Path,
) -> None:
    """SIGKILL gives the stack no chance to stop anything: its processes are told by the
    kernel (SIGTERM when their parent dies), and the sandbox saves its state on SIGTERM."""
    port = free_port()
    stack, pids = start_stack(tmp_path, port)
    try:
        wait_for_sandbox(port, stack, tmp_path)
        stack.send_signal(signal.SIGKILL)
        stack.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in pids if running(pid)]
    finally:
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the stack was killed: {left}"
    assert "state saved to" in (tmp_path / "sandbox.log").read_text()
