"""The multivariate stream detector and ``python -m detectors score-multi``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from detectors.__main__ import main
from detectors.scoring.base import restore
from detectors.scoring.multistream import MultiStream, score_rows


def pump(n: int = 900, broken_from: int | None = 700, seed: int = 1) -> np.ndarray:
    """Three sensors driven by one latent load; from ``broken_from`` sensor 1 turns
    against the load while every value stays inside its usual range."""
    rng = np.random.default_rng(seed)
    load = rng.normal(size=(n, 1))
    rows = np.hstack([load, 2 * load, -load]) + 0.1 * rng.normal(size=(n, 3))
    if broken_from is not None:
        rows[broken_from:, 1] = -rows[broken_from:, 1]
    return rows


def test_a_broken_relation_is_flagged_though_no_column_leaves_its_range() -> None:
    rows = pump()
    assert (np.abs(rows[700:]).max(axis=0) <= np.abs(rows[:700]).max(axis=0) * 1.3).all()
    detector = MultiStream()
    detector.fit(rows[:300])
    scores, flags = score_rows(detector, range(300, 900), rows[300:])
    assert flags[:400].mean() < 0.01 and flags[400:].mean() > 0.8
    assert np.median(scores[400:]) > np.quantile(scores[:400], 0.99)


def test_warm_up_scores_zero_then_judges() -> None:
    rows = pump()
    scores, flags = score_rows(MultiStream(warmup=200), range(900), rows)
    assert scores[:200].max() == 0.0 and flags[:200].max() == 0.0
    assert flags[700:].mean() > 0.8


def test_snapshot_is_plain_data_and_restore_gives_identical_future_scores() -> None:
    rows = pump()
    detector = MultiStream(warmup=200, refit=50)
    score_rows(detector, range(500), rows[:500])
    twin = restore(json.loads(json.dumps(detector.snapshot())))
    assert isinstance(twin, MultiStream) and twin.snapshot() == detector.snapshot()
    assert np.array_equal(
        score_rows(twin, range(500, 900), rows[500:])[0],
        score_rows(detector, range(500, 900), rows[500:])[0],
    )


def test_scoring_learns_nothing_and_a_row_of_other_width_is_refused() -> None:
    detector = MultiStream()
    detector.fit(pump()[:300])
    before = detector.snapshot()
    detector.score_one(0, [0.0, 0.0, 0.0])
    assert detector.snapshot() == before
    with pytest.raises(ValueError, match="columns"):
        detector.score_one(0, [0.0, 0.0])


def write_pump(path: Path, rows: np.ndarray, sep: str = ",", time: str = "timestamp") -> None:
    head = sep.join([time, "a", "b", "c", "anomaly", "changepoint"])
    lines = [sep.join([str(1000 * i), *map(str, r), "0", "0"]) for i, r in enumerate(rows)]
    path.write_text("\n".join([head, *lines]) + "\n", encoding="utf-8")


def test_score_multi_writes_scores_and_decisions_with_train_rows(tmp_path: Path) -> None:
    write_pump(tmp_path / "in.csv", pump(), sep=";", time="datetime")
    argv = ["score-multi", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o")]
    assert main([*argv, "--train-rows", "300"]) == 0
    with (tmp_path / "o").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "anomaly_score", "anomaly"] and len(rows) == 900
    flags = np.array([int(r["anomaly"]) for r in rows])
    assert all(float(r["anomaly_score"]) == 0.0 for r in rows[:300])
    assert flags[:700].mean() < 0.01 and flags[700:].mean() > 0.8


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        ("timestamp,a\n0,1\n1000,x\n", [], "row 3: column 'a'"),
        ("timestamp,anomaly\n0,1\n", [], "no numeric columns"),
        ("time,a\n0,1\n", [], "no 'timestamp'"),
        ("timestamp,a\n0,1\n1000,2\n", ["--train-rows", "5"], "the file has 2 rows"),
        ("timestamp,a\n0,1\n1000,2\n", ["--train-rows", "-5"], "a count of rows, 0 or more"),
    ],
)
def test_score_multi_bad_input_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, extra: list[str], message: str
) -> None:
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")
    argv = ["score-multi", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o")]
    try:
        code = main([*argv, *extra])
    except SystemExit as exc:
        code, err = 2, str(exc)
    else:
        err = capsys.readouterr().err
    assert code == 2 and message in err
