"""bench/pipeline.py `write_timelines`: each alert's stage times as CSV rows, in raise order."""

import csv
from pathlib import Path

from bench.pipeline import write_timelines
from bench.pipeline_support import Timeline


def test_timelines_are_written_in_raise_order_and_a_second_attempt_appends(tmp_path: Path):
    path = tmp_path / "timelines.csv"
    late = Timeline(raised=2.0, observed=2.1, published=2.2, requested=2.3, created=2.5)
    early = Timeline(raised=1.0, published=1.1)  # never ticketed: empty cells, not zeros
    write_timelines(str(path), {("t", "e2", "c2"): late, ("t", "e1", "c1"): early}, 0)
    write_timelines(str(path), {("t", "e3", "c3"): Timeline(raised=3.0, linked=3.5)}, 1)

    rows = list(csv.DictReader(path.open()))

    assert [(r["attempt"], r["endpoint_id"], r["condition"]) for r in rows] == [
        ("0", "e1", "c1"), ("0", "e2", "c2"), ("1", "e3", "c3"),
    ]  # fmt: skip
    assert round(float(rows[1]["created"]) - float(rows[1]["published"]), 6) == 0.3
    assert rows[0]["created"] == "" and rows[0]["published"] == "1.100000"
    assert rows[2]["linked"] == "3.500000"
