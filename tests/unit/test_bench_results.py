"""bench/results.py: figures are merged into results.json, other benches' keys are kept."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.results import Figure, format_table, record

MACHINE = {"hostname": "box", "cpu_count": 4, "python": "3.11.7", "platform": "Linux"}


def test_record_creates_the_file_with_figures_machine_and_date(tmp_path: Path):
    path = tmp_path / "results.json"
    when = datetime(2025, 1, 15, 10, 42, 7, tzinfo=UTC)

    written = record({"eventlog.replay.ratio": 5.5}, path, now=when, machine_info=MACHINE)

    on_disk = json.loads(path.read_text())
    assert on_disk == written
    assert on_disk == {
        "date": "2025-01-15T10:42:07+00:00",
        "machine": MACHINE,
        "eventlog.replay.ratio": 5.5,
    }


def test_record_merges_into_existing_keys_and_keeps_other_benches_figures(tmp_path: Path):
    path = tmp_path / "results.json"
    record(
        {"other.bench.figure": 1.0, "eventlog.replay.ratio": 4.0},
        path,
        now=datetime(2025, 1, 1, tzinfo=UTC),
        machine_info={"hostname": "old"},
    )

    record(
        {"eventlog.replay.ratio": 6.0, "eventlog.append_batch.ratio": 2.5},
        path,
        now=datetime(2025, 2, 1, tzinfo=UTC),
        machine_info=MACHINE,
    )

    on_disk = json.loads(path.read_text())
    assert on_disk["other.bench.figure"] == 1.0
    assert on_disk["eventlog.replay.ratio"] == 6.0
    assert on_disk["eventlog.append_batch.ratio"] == 2.5
    assert on_disk["machine"] == MACHINE
    assert on_disk["date"] == "2025-02-01T00:00:00+00:00"


def test_record_keeps_keys_it_does_not_know_of_any_type(tmp_path: Path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"notes": {"nested": [1, 2]}, "x.y": 3}))

    record({"a.b": 1}, path, machine_info=MACHINE)

    on_disk = json.loads(path.read_text())
    assert on_disk["notes"] == {"nested": [1, 2]}
    assert on_disk["x.y"] == 3
    assert on_disk["a.b"] == 1.0
    assert datetime.fromisoformat(on_disk["date"]).tzinfo is not None


def test_record_refuses_reserved_keys_and_a_file_that_is_not_an_object(tmp_path: Path):
    path = tmp_path / "results.json"
    with pytest.raises(ValueError, match="reserved"):
        record({"date": 1.0}, path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not overwriting"):
        record({"a.b": 1.0}, path)
    assert path.read_text() == "[1, 2]"


def test_record_describes_this_machine_by_default(tmp_path: Path):
    written = record({"a.b": 1.0}, tmp_path / "results.json")
    assert {"hostname", "cpu_count", "python", "platform"} <= set(written["machine"])


def test_table_shows_pass_and_fail_against_targets():
    table = format_table(
        [
            Figure("a", "batch ratio", 2.5, "x", target=2.0),
            Figure("b", "replay ratio", 1.5, "x", target=5.0),
            Figure("c", "publish", 12_345.0, "msgs/s"),
        ]
    )
    lines = table.splitlines()
    assert "PASS" in next(line for line in lines if line.startswith("batch ratio"))
    assert "FAIL" in next(line for line in lines if line.startswith("replay ratio"))
    assert "12,345" in next(line for line in lines if line.startswith("publish"))
