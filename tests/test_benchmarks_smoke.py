"""The benchmarks run end to end in a tiny configuration (figures are not checked: tests
never time anything; ``python -m benchmarks`` does)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import run as bench_run
from benchmarks.support import Outcome, Row, percentile

pytest.importorskip("aiohttp")


def test_every_benchmark_runs_tiny_and_writes_its_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results.json"
    status = bench_run.main(["--tiny", "--output", str(output)])
    printed = capsys.readouterr().out
    report = json.loads(output.read_text(encoding="utf-8"))
    errors = {r["name"]: r["error"] for r in report["results"] if r["error"]}
    assert errors == {}
    assert status == 0
    assert [r["name"] for r in report["results"]] == list(bench_run.NAMES)
    for result in report["results"]:
        assert result["rows"], result["name"]
        for row in result["rows"]:
            assert row["sdk"] is not None and math.isfinite(row["sdk"]), row
            assert row["metric"] in printed
    assert {"nproc", "cpu_model", "memory", "python"} <= set(report["machine"])
    by_name = {r["name"]: r for r in report["results"]}
    sessions = by_name["sessions"]["details"]
    assert sessions["sdk"]["connected"] == sessions["baseline"]["connected"] == 5
    assert by_name["throughput"]["details"]["callbacks_last_round"]["held"] == 45  # 5 typing
    assert by_name["receipts"]["details"]["baseline_calls_by_content_type"] == {
        "application/vnd.amazonaws.connect.event.message.read": 5
    }


def test_unknown_benchmark_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_run.main(["--only", "latency,nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_table_marks_missed_targets_and_errors() -> None:
    good = Outcome("a", rows=[Row("a", "m1", 2.0, baseline=1.0, ratio=2.0, target="t", met=True)])
    bad = Outcome("b", rows=[Row("b", "m2", 0.5, target="t", met=False)])
    broken = Outcome("c", error="RuntimeError: boom")
    lines = bench_run.table([good, bad, broken]).splitlines()
    assert lines[2].split("|")[-2].strip() == "yes"
    assert lines[3].split("|")[-2].strip() == "NO"
    assert "boom" in lines[4] and lines[4].split("|")[-2].strip() == "NO"


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)
