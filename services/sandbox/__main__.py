"""`python -m services.sandbox`: both vendor sandboxes in one process, on one seed world.

    python -m services.sandbox [--seed 1] [--size demo] [--revio-port 8081] [--rmm-port 8082]
                               [--host 127.0.0.1] [--only rmm|revio] [--snapshot FILE]

With `--snapshot FILE`, state is restored from FILE when it exists and saved to it on exit:
on Ctrl-C (SIGINT) and on SIGTERM (`kill`, `docker stop`, Kubernetes) alike.
"""

import argparse
import asyncio
import contextlib
import gc
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI

from services.sandbox.common import SandboxControl
from services.sandbox.common.gc_pause import gc_paused
from services.sandbox.cwrmm.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from services.sandbox.cwrmm.app import create_app as create_rmm_app
from services.sandbox.revio import create_app as create_revio_app
from services.sandbox.seed import generate_world, size_of


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=1)
    sizes = "tiny, demo, large, or a client count"
    parser.add_argument("--size", default="demo", type=world_size, help=sizes)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--revio-port", type=int, default=8081)
    parser.add_argument("--rmm-port", type=int, default=8082)
    parser.add_argument("--only", choices=("rmm", "revio"))
    parser.add_argument("--snapshot", type=Path, help="restore from / save to this JSON file")
    return parser.parse_args(argv)


def world_size(text: str) -> str:
    try:
        size_of(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def build_apps(arguments: argparse.Namespace) -> dict[str, tuple[FastAPI, int]]:
    apps: dict[str, tuple[FastAPI, int]] = {}
    with gc_paused():
        world = generate_world(arguments.seed, arguments.size)
        if arguments.only in (None, "revio"):
            apps["revio"] = (create_revio_app(world, size=arguments.size), arguments.revio_port)
        if arguments.only in (None, "rmm"):
            apps["rmm"] = (create_rmm_app(world, size=arguments.size), arguments.rmm_port)
    gc.freeze()  # the seeded state lives as long as the process: keep it out of collections
    return apps


def restore(apps: dict[str, tuple[FastAPI, int]], snapshot: Path) -> None:
    saved: dict[str, Any] = orjson.loads(snapshot.read_bytes())
    for name, (app, _) in apps.items():
        if name in saved:
            control(app).accounts.load_state(saved[name])


def save(apps: dict[str, tuple[FastAPI, int]], snapshot: Path) -> None:
    state = {name: control(app).accounts.dump_state() for name, (app, _) in apps.items()}
    snapshot.write_bytes(orjson.dumps(state))


def control(app: FastAPI) -> SandboxControl:
    sandbox_control: SandboxControl = app.state.control
    return sandbox_control


def announce(apps: dict[str, tuple[FastAPI, int]], host: str, started: float) -> None:
    print(f"sandbox ready in {time.monotonic() - started:.1f} s")
    if "revio" in apps:
        print(f"  Rev.io  http://{host}:{apps['revio'][1]}  user integration@SANDBOX / sandbox")
    if "rmm" in apps:
        print(
            f"  CW RMM  http://{host}:{apps['rmm'][1]}  "
            f"client_id {DEFAULT_CLIENT_ID} / client_secret {DEFAULT_CLIENT_SECRET}"
        )
    print("  control API under /_sandbox on each (requests, faults, rate-limits, accounts)")


async def serve(apps: dict[str, tuple[FastAPI, int]], host: str, started: float) -> None:
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        for app, port in apps.values()
    ]
    serving = asyncio.gather(*(server.serve() for server in servers))
    while not all(server.started for server in servers):
        finished, _ = await asyncio.wait({serving}, timeout=0.05)
        if finished:
            break
    else:
        announce(apps, host, started)
    await serving


def main(argv: list[str] | None = None) -> None:
    started = time.monotonic()
    arguments = parse_arguments(argv)
    apps = build_apps(arguments)
    if arguments.snapshot and arguments.snapshot.exists():
        restore(apps, arguments.snapshot)
    # uvicorn stops on either signal, then raises it again: SIGTERM must then end up here as
    # Ctrl-C does, not kill the process before its state is saved
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(apps, arguments.host, started))
    finally:
        if arguments.snapshot:
            save(apps, arguments.snapshot)
            print(f"state saved to {arguments.snapshot}")


if __name__ == "__main__":
    main()
