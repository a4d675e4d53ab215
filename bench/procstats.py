"""CPU time and peak memory of the processes a bench started (services, sandbox, embedded
NATS and PostgreSQL), read from /proc through psutil at the end of a run."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from tests.e2e.stack import E2EStack


@dataclass(frozen=True)
class ProcessUse:
    name: str
    pid: int
    cpu_s: float
    """user + system CPU seconds, with those of its reaped children (PostgreSQL backends)."""
    peak_rss_mb: float
    """VmHWM: the resident set's high-water mark."""


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def use_of(name: str, pid: int) -> ProcessUse | None:
    """One process and its live descendants, summed (None once it is gone)."""
    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
        cpu = 0.0
        for member in family:
            times = member.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
        return ProcessUse(name, pid, cpu, peak_rss_mb(pid))
    except (psutil.Error, OSError):
        return None


def embedded_servers() -> dict[str, int]:
    """Pids of the NATS and PostgreSQL servers this process started, by name (none when the
    bench runs against servers of its own)."""
    found: dict[str, int] = {}
    for child in psutil.Process().children(recursive=False):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "nats-server" in command:
            found["nats-server"] = child.pid
        elif "postgres" in command:
            found["postgres"] = child.pid
    return found


def stack_usage(stack: "E2EStack") -> list[ProcessUse]:
    """Every process of an e2e stack (each replica, the sandbox) and the embedded servers."""
    pids = {f"{p.name}-{i}": p.popen.pid for name, replicas in stack.processes.items()
            for i, p in enumerate(replicas) if p.popen is not None}  # fmt: skip
    if stack.sandbox is not None:
        pids["sandbox"] = stack.sandbox.pid
    pids |= embedded_servers()
    return [found for name, pid in pids.items() if (found := use_of(name, pid)) is not None]


def cpu_spent(before: list[ProcessUse], after: list[ProcessUse]) -> dict[str, float]:
    """CPU seconds each process spent between two `stack_usage` readings."""
    start = {use.name: use.cpu_s for use in before}
    return {use.name: use.cpu_s - start[use.name] for use in after if use.name in start}
