"""Figures of a bench run: the printed table, and `bench/results.json`, which every bench
merges its figures into (one key per figure, plus `machine` and `date` of the latest run)."""

import json
import os
import platform
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).with_name("results.json")
RESERVED_KEYS = frozenset({"machine", "date"})


@dataclass(frozen=True)
class Figure:
    """One measured figure; `target` is a minimum the value should reach, if there is one."""

    key: str
    label: str
    value: float
    unit: str
    target: float | None = None

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.value >= self.target


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def record(
    figures: Mapping[str, float],
    path: Path = RESULTS_PATH,
    *,
    now: datetime | None = None,
    machine_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge `figures` into the JSON object at `path` (other keys are kept), stamp it with
    the machine and the date, write it atomically, and return what was written."""
    clash = RESERVED_KEYS.intersection(figures)
    if clash:
        raise ValueError(f"figure keys {sorted(clash)} are reserved")
    merged: dict[str, Any] = {}
    if path.exists():
        loaded = json.loads(path.read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} does not hold a JSON object; not overwriting it")
        merged.update(loaded)
    merged.update({key: float(value) for key, value in figures.items()})
    merged["machine"] = dict(machine_info) if machine_info is not None else machine()
    merged["date"] = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    ordered = {key: merged[key] for key in sorted(merged) if key not in RESERVED_KEYS}
    ordered = {"date": merged["date"], "machine": merged["machine"], **ordered}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(ordered, indent=2) + "\n")
    temporary.replace(path)
    return ordered


def _number(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def format_table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "unit", "target", "result")]
    for figure in figures:
        target = "" if figure.target is None else f">= {_number(figure.target)}"
        verdict = {None: "", True: "PASS", False: "FAIL"}[figure.passed]
        rows.append((figure.label, _number(figure.value), figure.unit, target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1])]
        cells += [cell.ljust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_table(figures: Sequence[Figure], out: Any = sys.stdout) -> None:
    print(format_table(figures), file=out, flush=True)
