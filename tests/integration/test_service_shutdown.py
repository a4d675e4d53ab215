"""A service process (`revsync.runtime.run_service` with its health port) stopped by SIGINT
(Ctrl-C in `make run`) or SIGTERM (`kill`, docker, Kubernetes) exits 0 and logs no error."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from revsync.devservers import DevServers, free_port

PROBE_SERVICE = """
import sys
import uvicorn
from revsync.runtime import run_service, serve_http
from starlette.applications import Starlette

async def setup(ctx):  # a web server of its own, as the console has
    app = Starlette()
    return [serve_http(uvicorn.Config(app, port=int(sys.argv[1])))]

run_service("probe", setup)
"""


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the probe service did not become ready:\n{log.read_text()}")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_stopped_service_exits_cleanly_without_an_error_in_its_log(
    servers: DevServers, database_url: str, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port, log = free_port(), tmp_path / "probe.log"
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "SERVICE_PORT": str(port),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", PROBE_SERVICE, str(free_port())],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_ready(port, process, log)
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "service stopping" in text
    assert "ERROR" not in text and "Traceback" not in text, text
