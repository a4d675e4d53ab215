"""`python -m services.sandbox --snapshot FILE` as a real process: whatever stops it (Ctrl-C,
or SIGTERM from `make run`, `kill`, `docker stop`, Kubernetes), it saves its state, and the
next start restores it, so revsync's links never point at objects the sandbox forgot."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from revsync.devservers import free_port


def start_rmm_sandbox(port: int, snapshot: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.sandbox", "--size", "tiny", "--only", "rmm",
             "--rmm-port", str(port), "--snapshot", str(snapshot)],
            stdout=out, stderr=out,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/accounts", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the sandbox did not answer:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> int:
    process.send_signal(stop_signal)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def account_ids(port: int) -> set[str]:
    answer = httpx.get(f"http://127.0.0.1:{port}/_sandbox/accounts", timeout=10)
    return {account["client_id"] for account in answer.raise_for_status().json()}


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_stopped_sandbox_saves_its_state_and_the_next_start_restores_it(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port, snapshot, log = free_port(), tmp_path / "sandbox.json", tmp_path / "sandbox.log"
    first = start_rmm_sandbox(port, snapshot, log)
    created = httpx.post(
        f"http://127.0.0.1:{port}/_sandbox/accounts",
        json={"client_id": "kept-client", "client_secret": "kept-secret", "size": "tiny"},
        timeout=30,
    )
    assert created.status_code == 201, created.text

    assert stop(first, stop_signal) == 0, log.read_text()
    assert f"state saved to {snapshot}" in log.read_text()

    second = start_rmm_sandbox(port, snapshot, log)
    try:
        assert "kept-client" in account_ids(port)
    finally:
        stop(second, signal.SIGINT)
