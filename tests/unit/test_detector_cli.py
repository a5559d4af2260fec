"""``python -m detectors``: list, score a CSV, bad input, evaluate, train."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detectors.__main__ import main
from detectors.scoring.multivariate import MODEL_VERSION

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


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """What 'list' prints: each detector's line by its name."""
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert len(names) == len(set(names))  # default is a detector and the combination: once
    return dict(zip(names, lines, strict=True))


def test_list_names_every_detector_and_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    lines = listed(capsys)
    known = {"default", "static", "forecast", "seasonal", "robust_z", "ewma", "cusum",
             "multivariate", "silent", "stuck", "burst", "rainstorm", "neighbours"}  # fmt: skip
    assert known <= set(lines)
    assert "needs --limits" in lines["static"] and "needs --limits" in lines["forecast"]
    assert "first rows" in lines["multivariate"] and "unless --model" in lines["multivariate"]
    assert "several series" in lines["neighbours"] and "evaluate" in lines["neighbours"]
    assert "mm of rain per reading" in lines["rainstorm"] and "counts" in lines["burst"]


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


def hourly_wave() -> list[float]:
    """Twelve days of hourly readings with a daily swing and a spike inside it."""
    hours = [100.0 + 40.0 * np.sin(2 * np.pi * h / 24) + v for h, v in enumerate(noisy(24 * 12))]
    hours[24 * 10 + 5] += 60.0  # a spike inside the daily swing
    return hours


def write_iso_hours(path: Path, hours: list[float], start_s: int) -> None:
    """The readings an hour apart from ``start_s`` (Unix seconds), in ISO 8601."""
    path.write_text(
        "timestamp,value\n"
        + "".join(
            f"{np.datetime_as_string(np.datetime64(start_s + 3600 * h, 's'))},{v}\n"
            for h, v in enumerate(hours)
        ),
        encoding="utf-8",
    )


def test_epoch_seconds_and_a_timestamps_column_score_as_the_same_times_in_iso(
    tmp_path: Path,
) -> None:
    # Yahoo's S5 A3 and A4 files: a 'timestamps' column of Unix seconds, a label column
    # 'anomaly'; read as milliseconds an hourly series was one reading every 3.6 s
    hours = hourly_wave()
    start = 1_416_726_000  # 2014-11-23 07:00 UTC
    seconds = tmp_path / "seconds.csv"
    seconds.write_text(
        "timestamps,value,anomaly\n"
        + "".join(f"{start + 3600 * h},{v},0\n" for h, v in enumerate(hours)),
        encoding="utf-8",
    )
    iso = tmp_path / "iso.csv"
    write_iso_hours(iso, hours, start)
    scored = []
    for path in (seconds, iso):
        out = tmp_path / f"{path.stem}.out.csv"
        assert (
            main(["score", "--detector", "default", "--input", str(path), "--output", str(out)])
            == 0
        )
        scored.append([float(r["anomaly_score"]) for r in read_rows(out)])
    assert scored[0] == scored[1]
    assert read_rows(tmp_path / "seconds.out.csv")[1]["timestamp"] == str(start + 3600)
    # milliseconds from 0 stay milliseconds, however far they run
    write_series(tmp_path / "ms.csv", noisy(300), step_ms=MIN)
    assert main(["score", "--detector", "default", "--input", str(tmp_path / "ms.csv"), "--output",
                 str(tmp_path / "ms.out.csv")]) == 0  # fmt: skip
    assert read_rows(tmp_path / "ms.out.csv")[299]["timestamp"] == str(299 * MIN)


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
    with pytest.raises(SystemExit, match="needs the stream's limits: --limits warning="):
        main(["score", "--detector", "static", *args])  # no --metric: no limits to check
    with pytest.raises(SystemExit, match="'bank' is the combination: use 'default'"):
        main(["score", "--detector", "bank", *args])
    assert not (tmp_path / "o.csv").exists()


NEEDS_LIMITS = ("static", "forecast")
CATCH_A_SPIKE = ("default", "robust_z", "ewma", "cusum", "multivariate")


def score(tmp_path: Path, detector: str, *extra: str) -> list[float]:
    """The scores 'score' writes for in.csv with ``detector`` and ``extra`` arguments."""
    out = tmp_path / f"{detector}.csv"
    assert main(["score", "--detector", detector, "--input", str(tmp_path / "in.csv"),
                 "--output", str(out), *extra]) == 0  # fmt: skip
    return [float(r["anomaly_score"]) for r in read_rows(out)]


def test_every_listed_detector_scores_a_stream_of_unknown_metric_or_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = noisy(600)
    values[500] = 80.0  # after every warm-up
    write_series(tmp_path / "in.csv", values)
    for detector in sorted(set(listed(capsys)) - {"neighbours"}):
        if detector in NEEDS_LIMITS:
            with pytest.raises(SystemExit, match=r"needs the stream's limits: --limits warning="):
                score(tmp_path, detector)
            continue
        scores = score(tmp_path, detector)
        assert len(scores) == 600 and all(0.0 <= s <= 1.0 for s in scores), detector
        if detector in CATCH_A_SPIKE:
            assert scores[500] >= 0.5, detector
        if detector == "seasonal":  # ten hours of data: it runs, and says it cannot learn
            assert "under two days" in capsys.readouterr().err


def test_static_and_forecast_run_on_any_stream_given_its_limits(tmp_path: Path) -> None:
    levels = [3.0 + 0.01 * i for i in range(220)]  # 3.0 rising to 5.19, every 5 minutes
    write_series(tmp_path / "in.csv", levels, step_ms=5 * MIN)
    limits = ["--limits", "warning=4.0,guaranteed=5.0"]
    static = score(tmp_path, "static", *limits)
    assert max(static[:100]) == 0.0  # up to the warning level
    assert 0.0 < static[101] < static[160] < static[210]  # IV past 4.0, III past 4.5, II past 5
    forecast = score(tmp_path, "forecast", *limits)
    first_warning = next(i for i, s in enumerate(forecast) if s >= 0.5)
    assert levels[first_warning] < 4.0  # warned before the warning level
    write_series(tmp_path / "in.csv", levels[::-1], step_ms=5 * MIN)
    falling = score(tmp_path, "static", "--limits", "warning=4.0,guaranteed=3.0")  # floors
    assert falling[0] == 0.0 < falling[-1]


def test_multivariate_without_a_model_trains_on_the_first_rows_which_score_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = noisy(3000, seed=4)
    values[2500:2505] = [90.0] * 5
    write_series(tmp_path / "in.csv", values)
    scores = score(tmp_path, "iforest")  # its old name still runs, with a note
    err = capsys.readouterr().err
    assert "'iforest' is now 'multivariate'" in err
    assert "multivariate trained on the stream's first 1440 rows" in err  # a day
    assert max(scores[:1440]) == 0.0 and max(scores[2500:2505]) >= 0.5
    assert sum(s >= 0.5 for s in scores[1440:2500]) <= 10
    write_series(tmp_path / "in.csv", noisy(100))
    with pytest.raises(SystemExit, match="100 rows give 50, it needs 80; pass --model"):
        score(tmp_path, "multivariate")


def test_neighbours_needs_several_series(tmp_path: Path) -> None:
    write_series(tmp_path / "in.csv", noisy(10))
    with pytest.raises(SystemExit, match="needs several series") as stop:
        score(tmp_path, "neighbours")
    assert "'score-multi'" in str(stop.value) and "'evaluate'" in str(stop.value)


def test_a_detector_outside_the_metric_bank_runs_alone_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_series(tmp_path / "in.csv", noisy(300))
    assert len(score(tmp_path, "burst", "--metric", "temperature")) == 300
    note = capsys.readouterr().err
    assert "bank for temperature" in note and "'burst'" in note and "runs alone" in note


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("warning4", "'warning4' is not key=number"),
        ("warn=4,guaranteed=5", "unknown key 'warn' (known: warning, guaranteed"),
        ("warning=high,guaranteed=5", "warning='high' is not a finite number"),
        ("warning=4", "needs both warning and guaranteed"),
        ("warning=5,guaranteed=5", "warning and guaranteed must differ"),
    ],
)
def test_bad_limits_stop_with_what_is_wrong(tmp_path: Path, text: str, reason: str) -> None:
    write_series(tmp_path / "in.csv", noisy(10))
    for detector in ("static", "default"):  # bad text is bad whether or not it is used
        with pytest.raises(SystemExit, match=re.escape(reason)):
            score(tmp_path, detector, "--limits", text)


def test_train_writes_a_model_that_score_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_series(tmp_path / "history.csv", noisy(3000, seed=2))
    model = tmp_path / "temperature.model"
    assert main(["train", "--metric", "temperature", "--input", str(tmp_path / "history.csv"),
                 "--output", str(model)]) == 0  # fmt: skip
    assert f"temperature-v{MODEL_VERSION}-" in capsys.readouterr().out
    values = noisy(400, seed=3)
    values[300:310] = [90.0] * 10
    write_series(tmp_path / "in.csv", values)
    args = ["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o.csv")]
    assert (
        main(
            [
                "score",
                "--detector",
                "multivariate",
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


def test_a_series_timed_by_its_row_numbers_takes_its_times_from_the_cadence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Yahoo's S5 A1 files number their rows instead of timing them: without --cadence
    # they are read a millisecond apart (no day is known); with it, hours apart
    hours = hourly_wave()
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "timestamp,value\n" + "".join(f"{h + 1},{v}\n" for h, v in enumerate(hours)),
        encoding="utf-8",
    )
    iso = tmp_path / "iso.csv"
    write_iso_hours(iso, hours, 3600)

    def scores(path: Path, *extra: str) -> list[float]:
        out = tmp_path / f"{path.stem}.out.csv"
        args = ["score", "--detector", "default", "--input", str(path), "--output", str(out)]
        assert main([*args, *extra]) == 0
        return [float(r["anomaly_score"]) for r in read_rows(out)]

    assert scores(rows, "--cadence", "3600") == scores(iso)
    assert scores(rows) != scores(iso)
    assert read_rows(tmp_path / "rows.out.csv")[0]["timestamp"] == "1"  # echoed as given
    with pytest.raises(SystemExit):
        main(["score", "--detector", "default", "--input", str(rows), "--output",
              str(tmp_path / "o.csv"), "--cadence", "0"])  # fmt: skip
    assert "'0' is not a whole number of seconds above 0" in capsys.readouterr().err
