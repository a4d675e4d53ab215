"""`python -m bench`: run every bench, print the figures, merge them into bench/results.json."""

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revsync.logs import configure_logging

from bench import (
    eventlog,
    initial_sync,
    messaging,
    pipeline,
    replay,
    revio_connector,
    rmm_connector,
)
from bench.messaging import MessagingSizes
from bench.results import RESULTS_PATH, Figure, machine, print_table, record
from bench.servers import bench_servers, fresh_database
from bench.workload import EventLogSizes

SUBJECTS = (
    "eventlog",
    "messaging",
    "revio_connector",
    "rmm_connector",
    "replay",
    "initial_sync",
    "pipeline",
)
REPLAY_EVENTS = 1_000_000


def log(message: str) -> None:
    print(f"  .. {message}", flush=True)


def psycopg_implementation() -> str:
    """Which libpq binding the `eventsourcing` side runs on: "python" (ctypes, what
    `eventsourcing[postgres]` installs by itself) is much slower than "binary" or "c"."""
    import psycopg

    return f"{psycopg.__version__} ({psycopg.pq.__impl__})"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=SUBJECTS,
        action="append",
        help="run only this subject (repeatable); default: all",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every data size by this (e.g. 0.1 for a smoke run)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS_PATH, help="the JSON file to merge the figures into"
    )
    parser.add_argument(
        "--replay-events",
        type=int,
        default=None,
        help=f"events in the log `replay` rebuilds from (default {REPLAY_EVENTS:,} x --scale)",
    )
    parser.add_argument(
        "--initial-sync-size",
        default=None,
        help="seed world of `initial_sync`: 'large' (10,000 clients, 100,000 endpoints) or a"
        f" client count (default {initial_sync.DEFAULT_SIZE}, or 10,000 x --scale clients)",
    )
    parser.add_argument(
        "--initial-sync-within-s",
        type=float,
        default=None,
        help="give up waiting for the initial sync's steady state after this long (default:"
        " 0.3 s a client, at least 900 s); a time not reached is not recorded",
    )
    pipeline_args = parser.add_argument_group("pipeline (quick runs while developing)")
    pipeline_args.add_argument("--pipeline-rate", type=float, help="alerts/s of the steady phase")
    pipeline_args.add_argument("--pipeline-seconds", type=float, help="length of the steady phase")
    pipeline_args.add_argument("--storm-alerts", type=int, help="alerts of the limited storm")
    pipeline_args.add_argument("--storm-conditions", type=int, help="open conditions of the storm")
    pipeline_args.add_argument("--noisy-seconds", type=float, help="issue 9: B's phases, each")
    pipeline_args.add_argument(
        "--pipeline-poll-s", type=float, help="RMM connector's alert poll interval (0.2 s)"
    )
    pipeline_args.add_argument(
        "--pipeline-timelines", metavar="CSV", help="write each steady-phase alert's stage times"
    )
    parser.add_argument("--no-record", action="store_true", help="print only, write nothing")
    return parser.parse_args(argv)


def pipeline_sizes(args: argparse.Namespace) -> pipeline.PipelineSizes:
    sizes = pipeline.PipelineSizes().scaled(args.scale)
    given = {"rate": args.pipeline_rate, "seconds": args.pipeline_seconds,
             "storm_alerts": args.storm_alerts, "storm_conditions": args.storm_conditions,
             "noisy_seconds": args.noisy_seconds, "alert_poll_s": args.pipeline_poll_s,
             "timelines_csv": args.pipeline_timelines}  # fmt: skip
    return sizes.with_overrides({k: v for k, v in given.items() if v is not None})


async def run(args: argparse.Namespace, box: dict[str, Any]) -> list[Figure]:
    subjects = args.only or SUBJECTS
    figures: list[Figure] = []
    async with bench_servers() as servers:
        started = ", ".join(servers.embedded) or "none"
        print(
            f"machine: {box['hostname']}, {box['cpu_count']} cpus, load average"
            f" {' '.join(map(str, box['load_average']))} at start; psycopg {box['psycopg']}",
            flush=True,
        )
        print(
            f"servers: nats {servers.nats_url}, postgres {servers.database_url}"
            f" (embedded: {started})",
            flush=True,
        )
        if "eventlog" in subjects:
            sizes = EventLogSizes().scaled(args.scale)
            figures += await eventlog.run(servers.database_url, sizes, log)
        if "messaging" in subjects:
            figures += await messaging.run(
                servers.nats_url, servers.database_url, MessagingSizes().scaled(args.scale), log
            )
        if "revio_connector" in subjects:
            log("Rev.io connector: full listings of a large account under the 500/min limit")
            values = await revio_connector.run(servers, args.scale)
            figures += revio_connector.figures(values)
        if "rmm_connector" in subjects:
            log("RMM connector: full listing of a large account, then paced under its limits")
            figures += rmm_connector.figures(await rmm_connector.run(servers, args.scale))
        if "replay" in subjects:
            total = args.replay_events or max(1_000, round(REPLAY_EVENTS * args.scale))
            async with fresh_database(servers.server_url) as own:  # the log holds only these
                figures += await replay.run(own, total, log)
        if "initial_sync" in subjects:
            size = initial_sync.size_argument(args.initial_sync_size, args.scale)
            log(f"initial sync of a whole MSP through every service, seed world {size}")
            result = await initial_sync.run(servers, size, log, args.initial_sync_within_s)
            initial_sync.report(result, log)
            figures += initial_sync.figures(result)
        if "pipeline" in subjects:
            figures += await pipeline.run(servers, pipeline_sizes(args), log)
    return figures


async def run_until_stopped(args: argparse.Namespace, box: dict[str, Any]) -> list[Figure]:
    """`run`, cancelled by SIGTERM as by Ctrl-C: every server and service it started is
    stopped on the way out (a bench stopped by `kill` used to leave processes running)."""
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    return await run(args, box)


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    args = parse(argv)
    configure_logging("bench", "WARNING")
    box = machine()  # before the run: its load average is the machine's, not ours
    box["psycopg"] = psycopg_implementation()
    try:
        figures = asyncio.run(run_until_stopped(args, box))
    except asyncio.CancelledError:
        print("bench stopped (SIGTERM); nothing recorded", file=sys.stderr)
        return 128 + signal.SIGTERM
    print()
    print_table(figures)
    if not args.no_record:
        record({figure.key: figure.value for figure in figures}, args.results, machine_info=box)
        print(f"\nfigures merged into {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
