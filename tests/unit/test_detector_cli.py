"""``python -m detectors``: list, score a CSV, bad input, evaluate, train."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detectors.__main__ import main

MIN = 60_000


def write_series(path: Path, values: list[float], start_ms: int = 0, step_ms: int = MIN) -> None:
    lines = ["timestamp,value"] + [f"{start_ms + i * step_ms},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def noisy(n: int, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(20 + float(x), 3) for x in rng.normal(0, 1, n)]


def test_list_names_every_detector(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"default", "static", "forecast", "seasonal", "robust_z", "ewma", "cusum", "iforest",
            "silent", "stuck", "burst", "rainstorm", "neighbours"} <= listed  # fmt: skip


def test_score_default_keeps_rows_in_order_with_scores_in_unit_interval(tmp_path: Path) -> None:
    values = noisy(300)
    values[250] = 80.0  # a spike
    write_series(tmp_path / "in.csv", values)
    assert main(["score", "--detector", "default", "--input", str(tmp_path / "in.csv"),
                 "--output", str(tmp_path / "out.csv")]) == 0  # fmt: skip
    rows = read_rows(tmp_path / "out.csv")
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    assert [int(r["timestamp"]) for r in rows] == [i * MIN for i in range(300)]
    scores = [float(r["anomaly_score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[250] >= 0.5 and max(scores[:250]) < 0.5


def test_score_a_named_detector_with_its_metric_and_site_limits(tmp_path: Path) -> None:
    levels = [3.0 + 0.01 * i for i in range(200)]  # 3.0 m rising to 5.0 m
    write_series(tmp_path / "gauge.csv", levels, step_ms=5 * MIN)
    out = tmp_path / "scored.csv"
    assert main(["score", "--detector", "forecast", "--metric", "water_level", "--limits",
                 "warning=4.0,guaranteed=5.0", "--input", str(tmp_path / "gauge.csv"),
                 "--output", str(out)]) == 0  # fmt: skip
    scores = [float(r["anomaly_score"]) for r in read_rows(out)]
    first_warning = next(i for i, s in enumerate(scores) if s >= 0.5)
    assert levels[first_warning] < 3.7  # warned before the first flood band


def test_iso_timestamps_are_accepted_and_echoed(tmp_path: Path) -> None:
    path = tmp_path / "iso.csv"
    rows = [f"2025-07-07T00:{m:02d}:00+08:00,{v}" for m, v in enumerate(noisy(40))]
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert (
        main(
            [
                "score",
                "--detector",
                "robust_z",
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    assert read_rows(tmp_path / "o.csv")[3]["timestamp"] == "2025-07-07T00:03:00+08:00"


def test_a_bad_row_stops_with_its_row_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n0,1.0\n60000,abc\n120000,2.0\n", encoding="utf-8")
    assert (
        main(
            [
                "score",
                "--detector",
                "default",
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    error = capsys.readouterr().err
    assert "row 3" in error and "'abc' is not a number" in error
    path.write_text("timestamp,value\nyesterday,1.0\n", encoding="utf-8")
    assert (
        main(
            [
                "score",
                "--detector",
                "default",
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert "row 2" in capsys.readouterr().err


def test_a_missing_column_stops_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("timestamp,reading\n0,1.0\n", encoding="utf-8")
    assert (
        main(
            [
                "score",
                "--detector",
                "default",
                "--input",
                str(path),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert "missing column 'value'" in capsys.readouterr().err


def test_unknown_or_unsuitable_detectors_are_refused(tmp_path: Path) -> None:
    write_series(tmp_path / "in.csv", noisy(10))
    args = ["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o.csv")]
    with pytest.raises(SystemExit, match="unknown detector"):
        main(["score", "--detector", "nonsense", *args])
    with pytest.raises(SystemExit, match="not in the bank"):
        main(["score", "--detector", "static", *args])  # no --metric: no limits to check


def test_train_writes_a_model_that_score_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_series(tmp_path / "history.csv", noisy(3000, seed=2))
    model = tmp_path / "temperature.model"
    assert main(["train", "--metric", "temperature", "--input", str(tmp_path / "history.csv"),
                 "--output", str(model)]) == 0  # fmt: skip
    assert "temperature-v1-" in capsys.readouterr().out
    values = noisy(400, seed=3)
    values[300:310] = [90.0] * 10
    write_series(tmp_path / "in.csv", values)
    args = ["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o.csv")]
    assert (
        main(
            [
                "score",
                "--detector",
                "iforest",
                "--metric",
                "temperature",
                "--model",
                str(model),
                *args,
            ]
        )
        == 0
    )
    scores = [float(r["anomaly_score"]) for r in read_rows(tmp_path / "o.csv")]
    assert max(scores[300:310]) >= 0.5


def test_evaluate_prints_a_table_per_scenario_and_the_targets() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "detectors", "evaluate", "--only", "water_main", "--no-models"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    out = done.stdout
    assert "== water_main" in out and "system: incidents" in out and "false/sensor-day" in out
    assert "== targets over all scenarios" in out and "F1" in out
