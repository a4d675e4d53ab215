"""`make run`: the whole revsync stack in one terminal.

Starts embedded NATS (JetStream) and PostgreSQL unless `NATS_URL` / `DATABASE_URL` are set,
applies migrations, starts both sandboxes, the outbox relay and every service that exists,
creates the demo tenant, and prints where to look. The servers' URLs are also written to
`.revsync/env` (shell `export` lines, without passwords) for `revsync replay` and the like.
Ctrl-C or SIGTERM (`kill`, systemd, `docker stop`) stops everything: each process gets SIGINT
and `GRACE_S` to stop on its own (the sandbox saves its state to `.revsync/sandbox.json`), then
SIGTERM. Data is kept in `.revsync/` for the next run (`make run FRESH=1` starts clean).
"""

import argparse
import asyncio
import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet
from revsync.db import connect, ensure_database
from revsync.devservers import die_with_parent, ensure_servers
from revsync.eventlog.migrate import apply_migrations

from services.demo_tenant import DEMO_TENANT_ID, create_demo_tenant

DATA_DIR = Path(".revsync")
REVIO_PORT, RMM_PORT, CONSOLE_PORT = 8081, 8082, 8080
# (module, extra environment) of every process, in start order; absent modules are skipped
PROCESSES: list[tuple[str, dict[str, str]]] = [
    ("revsync.outbox", {}),
    ("services.cwrmm_connector", {"SERVICE_PORT": "9101"}),
    ("services.revio_connector", {"SERVICE_PORT": "9102", "REVIO_CONNECTOR_PORT": "9102"}),
    ("services.company", {"SERVICE_PORT": "9103"}),
    ("services.asset", {"SERVICE_PORT": "9104"}),
    ("services.alert", {"SERVICE_PORT": "9105"}),
    ("services.ticket", {"SERVICE_PORT": "9106"}),
    ("services.console", {"CONSOLE_PORT": str(CONSOLE_PORT)}),
]
# what stops the stack: Ctrl-C, `kill` / systemd / `docker stop`, the terminal closing
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# after SIGINT a process gets this long to stop on its own before SIGTERM, then SIGKILL
GRACE_S, TERM_GRACE_S = 15.0, 5.0
# what the banner suggests trying; the README's "Try it" shows the same commands
TRY_COMMANDS = (
    ".venv/bin/python -m services.sandbox.raise_alert --severity Critical --condition cpu-high",
    ".venv/bin/python -m services.sandbox.raise_alert --clear --condition cpu-high",
    ". .revsync/env && .venv/bin/revsync replay",
)


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def secret_key() -> str:
    if os.environ.get("REVSYNC_SECRET_KEY"):
        return os.environ["REVSYNC_SECRET_KEY"]
    path = DATA_DIR / "secret.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


async def prepare_database(server_url: str, given: bool) -> str:
    url = server_url if given else await ensure_database(server_url, "revsync")
    conn = await connect(url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return url


def wait_for_http(url: str, seconds: float = 30) -> bool:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


def initial_sync(env: dict[str, str]) -> None:
    """Start the demo tenant's initial sync through the console and show its progress."""
    if not wait_for_http(f"http://127.0.0.1:{CONSOLE_PORT}/api/health", seconds=60):
        print("the console did not answer: start the initial sync from it later", flush=True)
        return
    print("Initial sync of the demo tenant (leave it running; Ctrl-C stops the stack):")
    subprocess.run(
        [str(Path(sys.executable).parent / "revsync"), "sync", "--kind", "initial"],
        env={
            **env,
            "REVSYNC_URL": f"http://127.0.0.1:{CONSOLE_PORT}",
            "REVSYNC_TENANT": DEMO_TENANT_ID,
        },
        check=False,
    )


NATS_SCHEMES = ("nats", "tls", "ws", "wss")  # where `scheme://TOKEN@host` is a token


def without_password(url: str) -> str:
    """`url` with no password in it (neither `user:password@`, `?password=` nor a NATS
    `TOKEN@`), fit to print and to write to `.revsync/env`; the embedded servers have none."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    token = parts.scheme in NATS_SCHEMES and not colon
    netloc = hosts if token else f"{user}{at}{hosts}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def server_env(database_url: str, nats_url: str) -> str:
    """`.revsync/env`: the servers of this run as shell `export` lines, passwords left out."""
    urls = {"DATABASE_URL": database_url, "NATS_URL": nats_url}
    lines = ["# the servers of `make run`: `. .revsync/env && .venv/bin/revsync replay`"]
    if any(without_password(url) != url for url in urls.values()):
        lines.append("# passwords and tokens are left out: add them as you give them to revsync")
    lines += [f"export {name}={shlex.quote(without_password(url))}" for name, url in urls.items()]
    return "\n".join(lines) + "\n"


def banner(started: list[str], database_url: str, nats_url: str) -> str:
    commands = "\n".join(f"  {command}" for command in TRY_COMMANDS)
    return f"""
revsync is running (tenant "{DEMO_TENANT_ID}"). Processes: {", ".join(started)}

  Console          http://127.0.0.1:{CONSOLE_PORT}   (admin / admin)
  Rev.io sandbox   http://127.0.0.1:{REVIO_PORT}/v1   user integration@SANDBOX, password sandbox
  CW RMM sandbox   http://127.0.0.1:{RMM_PORT}   client sandbox-client, secret sandbox-secret
  DATABASE_URL     {without_password(database_url)}
  NATS_URL         {without_password(nats_url)}
  Data             {DATA_DIR.resolve()}   (the two URLs: {DATA_DIR / "env"})

Raise an alert in the RMM sandbox (it becomes a Rev.io ticket, then is closed), rebuild the
read models from the event log:
{commands}

Ctrl-C stops everything.
"""


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start one process of the stack in a session of its own: Ctrl-C reaches only the stack,
    which then stops its processes one by one (`stop_processes`)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # a SIGKILLed stack leaves nothing running
        )


def stop_processes(processes: list[subprocess.Popen[bytes]], grace_s: float = GRACE_S) -> None:
    """SIGINT to every process (each stops as on Ctrl-C: the sandbox saves its state), SIGTERM
    to those still running after `grace_s`, SIGKILL to any left after `TERM_GRACE_S` more."""
    for sig, wait_s in (
        (signal.SIGINT, grace_s),
        (signal.SIGTERM, TERM_GRACE_S),
        (signal.SIGKILL, TERM_GRACE_S),
    ):
        running = [process for process in processes if process.poll() is None]
        for process in running:
            process.send_signal(sig)
        deadline = time.monotonic() + wait_s
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def stopping(processes: list[subprocess.Popen[bytes]], grace_s: float = GRACE_S) -> Iterator[None]:
    """Any of `STOP_SIGNALS` ends the body (which ends in `wait_for_stop()`); then, or when the
    body fails, every process started into `processes` is stopped."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut the shutdown short
            signal.signal(sig, signal.SIG_IGN)
        print("\nstopping ...", flush=True)
        stop_processes(processes, grace_s)


def wait_for_stop() -> NoReturn:
    while True:
        signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", action="store_true", help="delete .revsync/ first")
    args = parser.parse_args()
    if args.fresh and DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    DATA_DIR.mkdir(exist_ok=True)

    servers = ensure_servers(
        DATA_DIR / "servers", os.environ.get("NATS_URL"), os.environ.get("DATABASE_URL")
    )
    database_url = asyncio.run(
        prepare_database(servers.database_url, bool(os.environ.get("DATABASE_URL")))
    )
    (DATA_DIR / "env").write_text(server_env(database_url, servers.nats_url))
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": database_url,
        "REVSYNC_SECRET_KEY": secret_key(),
        "REVSYNC_ADMIN_USER": "admin",
        "REVSYNC_ADMIN_PASSWORD": os.environ.get("REVSYNC_ADMIN_PASSWORD", "admin"),
    }
    logs = DATA_DIR / "logs"
    logs.mkdir(exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []

    def start(module: str, *args: str, **extra_env: str) -> None:
        log = logs / f"{module.rsplit('.', 1)[-1]}.log"
        children.append(spawn([sys.executable, "-m", module, *args], {**env, **extra_env}, log))

    started = ["nats", "postgres"] if servers.started else []
    try:
        with stopping(children):
            start(
                "services.sandbox",
                *("--seed", "1", "--size", "demo", "--snapshot", str(DATA_DIR / "sandbox.json")),
                *("--revio-port", str(REVIO_PORT), "--rmm-port", str(RMM_PORT)),
            )
            started.append("sandbox")
            wait_for_http(f"http://127.0.0.1:{RMM_PORT}/_sandbox/accounts")
            for module, extra_env in PROCESSES:
                if module_exists(module):
                    start(module, **extra_env)
                    started.append(module.rsplit(".", 1)[-1])
            created = asyncio.run(
                create_demo_tenant(
                    database_url,
                    env["REVSYNC_SECRET_KEY"],
                    revio_url=f"http://127.0.0.1:{REVIO_PORT}/v1",
                    rmm_url=f"http://127.0.0.1:{RMM_PORT}",
                )
            )
            print(banner(started, database_url, servers.nats_url), flush=True)
            if created and module_exists("services.console"):
                initial_sync(env)
            wait_for_stop()
    finally:
        servers.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
