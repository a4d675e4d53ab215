"""`make run`: the whole revsync stack in one terminal.

Starts embedded NATS (JetStream) and PostgreSQL unless `NATS_URL` / `DATABASE_URL` are set,
applies migrations, starts both sandboxes, the outbox relay and every service that exists,
creates the demo tenant, and prints where to look. Ctrl-C stops everything; data is kept in
`.revsync/` for the next run (`make run FRESH=1` starts clean).
"""

import argparse
import asyncio
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet
from revsync.db import connect, ensure_database
from revsync.devservers import ensure_servers
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


def banner(started: list[str]) -> str:
    return f"""
revsync is running (tenant "{DEMO_TENANT_ID}"). Processes: {", ".join(started)}

  Console          http://127.0.0.1:{CONSOLE_PORT}   (admin / admin)
  Rev.io sandbox   http://127.0.0.1:{REVIO_PORT}/v1   user integration@SANDBOX, password sandbox
  CW RMM sandbox   http://127.0.0.1:{RMM_PORT}   client sandbox-client, secret sandbox-secret
  Data             {DATA_DIR.resolve()}

Raise an alert in the RMM sandbox (then watch it become a Rev.io ticket in the audit trail):
  .venv/bin/python -m services.sandbox.raise_alert --severity High
  .venv/bin/python -m services.sandbox.raise_alert --clear

Ctrl-C stops everything.
"""


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

    def spawn(
        module: str, extra: list[str] | None = None, env_extra: dict[str, str] | None = None
    ) -> None:
        log_file = (logs / f"{module.rsplit('.', 1)[-1]}.log").open("ab")
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", module, *(extra or [])],
                env={**env, **(env_extra or {})},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        )

    started = ["nats", "postgres"] if servers.started else []
    try:
        spawn(
            "services.sandbox",
            [
                "--seed",
                "1",
                "--size",
                "demo",
                "--revio-port",
                str(REVIO_PORT),
                "--rmm-port",
                str(RMM_PORT),
                "--snapshot",
                str(DATA_DIR / "sandbox.json"),
            ],
        )
        started.append("sandbox")
        wait_for_http(f"http://127.0.0.1:{RMM_PORT}/_sandbox/accounts")
        for module, extra_env in PROCESSES:
            if module_exists(module):
                spawn(module, env_extra=extra_env)
                started.append(module.rsplit(".", 1)[-1])
        created = asyncio.run(
            create_demo_tenant(
                database_url,
                env["REVSYNC_SECRET_KEY"],
                revio_url=f"http://127.0.0.1:{REVIO_PORT}/v1",
                rmm_url=f"http://127.0.0.1:{RMM_PORT}",
            )
        )
        print(banner(started), flush=True)
        if created and module_exists("services.console"):
            initial_sync(env)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut shutdown short
        print("\nstopping ...", flush=True)
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        servers.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
