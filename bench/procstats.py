"""CPU time and peak memory of the processes a bench started (services, sandbox, embedded
NATS and PostgreSQL), read from /proc through psutil at the end of a run."""

from dataclasses import dataclass

import psutil


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
