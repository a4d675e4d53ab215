"""tests/run_groups.sh: every group runs in a process of its own, each group's output comes
whole, the run goes on after a failure and fails at the end naming the groups that failed."""

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "run_groups.sh"

FAKE_PYTEST = """#!/usr/bin/env bash
# prints three lines slowly (so parallel groups would interleave them), then exits as named
for n in 1 2 3; do echo "$1 line $n $PYTEST_ARGS_SEEN"; sleep 0.05; done
touch "${2#--basetemp=}/$1.ran"  # its own temporary directory, given to pytest
case "$1" in *fail*) exit 1;; *none*) exit 5;; esac
"""


def run(tmp_path: Path, *groups: str, jobs: int = 2) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "pytest"
    fake.write_text(FAKE_PYTEST.replace("$PYTEST_ARGS_SEEN", "[$3]"))
    fake.chmod(0o755)
    env = {**os.environ, "PYTEST_ARGS": "-x"}
    return subprocess.run(
        [str(SCRIPT), str(jobs), str(fake), *groups],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_every_group_runs_and_prints_whole_and_a_pass_is_exit_0(tmp_path: Path):
    ran = run(tmp_path, "a", "b", "c", "d")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    for group in "abcd":
        start = lines.index(f"== {group}")
        assert lines[start + 1 : start + 4] == [f"{group} line {n} [-x]" for n in (1, 2, 3)]
    assert "FAILED" not in ran.stdout


def test_a_failed_group_or_one_without_tests_fails_the_run_at_the_end_by_name(tmp_path: Path):
    ran = run(tmp_path, "fails-first", "b", "none-here", "d", jobs=1)

    assert ran.returncode == 1
    assert [line for line in ran.stdout.splitlines() if line.startswith("== ")] == [
        "== fails-first",
        "== b",
        "== none-here",
        "== d",
    ]  # fmt: skip  (one at a time: in order, and on after the failure)
    assert ran.stdout.splitlines()[-1].split() == ["FAILED:", "fails-first", "none-here"]
    kept = [line.split()[-1].rstrip(")") for line in ran.stdout.splitlines() if "kept in" in line]
    assert [sorted(p.name for p in Path(k).iterdir()) for k in kept] == [
        ["fails-first.ran"],
        ["none-here.ran"],
    ]  # a failed group's files stay for a look (a passed group's go)
    for k in kept:
        for file in Path(k).iterdir():
            file.unlink()
        Path(k).rmdir()
