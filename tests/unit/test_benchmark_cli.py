"""``python -m detectors benchmark`` on small NAB-layout and plain-layout data sets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from detectors.__main__ import BENCHMARKED, main
from detectors.evaluation.reference import REFERENCE

START = datetime(2015, 9, 17, 7, 0)
ROWS, SPIKE, WINDOW = 400, 300, (290, 310)


def stamp(row: int) -> str:
    return (START + timedelta(minutes=5 * row)).strftime("%Y-%m-%d %H:%M:%S")


def readings(seed: int, spike: bool) -> list[float]:
    values = [round(20 + float(x), 3) for x in np.random.default_rng(seed).normal(0, 1, ROWS)]
    if spike:
        values[SPIKE] = 80.0
    return values


def write_csv(path: Path, values: list[float], labels: list[int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "timestamp,value" + (",label" if labels else "")
    rows = [f"{stamp(i)},{v}" + (f",{labels[i]}" if labels else "") for i, v in enumerate(values)]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def nab_data_set(folder: Path, labels: dict[str, list[list[str]]] | None = None) -> Path:
    write_csv(folder / "data" / "realTraffic" / "speed_1.csv", readings(1, spike=True))
    write_csv(folder / "data" / "realTraffic" / "control.csv", readings(2, spike=False))
    window = [f"{stamp(WINDOW[0])}.000000", f"{stamp(WINDOW[1])}.000000"]
    labels = labels or {"realTraffic/speed_1.csv": [window], "realTraffic/control.csv": []}
    (folder / "labels").mkdir()
    (folder / "labels" / "combined_windows.json").write_text(json.dumps(labels), "utf-8")
    return folder


def table_rows(out: str) -> dict[str, list[str]]:
    lines = out.split("== NAB benchmark")[1].split("\n\n")[0].splitlines()[2:]
    return {line.split()[0]: line.split()[1:] for line in lines}


def test_nab_layout_gives_a_row_per_detector_and_default_finds_the_spike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["benchmark", "--data", str(nab_data_set(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 files, 800 rows, 1 labelled windows, 1 anomaly-free control files")
    rows = table_rows(out)
    assert list(rows) == [*BENCHMARKED, REFERENCE]  # the yardstick last
    assert rows[REFERENCE][2:4] == ["1", "0"]  # a plain z-score finds a spike of 60 sigma
    score, _threshold, tp, fn = rows["default"][:4]
    assert (tp, fn) == ("1", "0") and float(score) > 50


def test_plain_layout_with_per_file_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [int(WINDOW[0] <= i <= WINDOW[1]) for i in range(ROWS)]
    write_csv(tmp_path / "a" / "spike.csv", readings(1, spike=True), flags)
    write_csv(tmp_path / "control.csv", readings(2, spike=False), [0] * ROWS)
    argv = ["benchmark", "--data", str(tmp_path), "--detector", "default", "static"]
    assert main([*argv, "--profile", "reward_low_fn", "--per-file"]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert rows["default"][2:4] == ["1", "0"]
    assert rows["static"][:2] == ["cannot", "run:"]  # needs --metric: reported, not raised
    assert "profile reward_low_fn" in out and "== default per file" in out
    assert "a/spike.csv" in out and "control.csv" in out


def test_a_labels_key_naming_a_missing_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nab_data_set(tmp_path, {"realTraffic/speed_9.csv": []})
    assert main(["benchmark", "--data", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "combined_windows.json" in error and "'realTraffic/speed_9.csv'" in error


def test_bad_rows_and_labels_name_their_file_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.csv").write_text("timestamp,value,label\n0,1.0,0\n60000,2.0,yes\n", "utf-8")
    assert main(["benchmark", "--data", str(bad)]) == 2
    assert "x.csv: row 3: label 'yes' is not 0 or 1" in capsys.readouterr().err
    (bad / "x.csv").write_text("timestamp,value,label\nsoon,1.0,0\n", "utf-8")
    assert main(["benchmark", "--data", str(bad)]) == 2
    assert "x.csv: row 2: timestamp 'soon'" in capsys.readouterr().err
    nab = nab_data_set(tmp_path / "nab", {"realTraffic/control.csv": [["soon", "later"]]})
    assert main(["benchmark", "--data", str(nab)]) == 2
    assert "'realTraffic/control.csv': window ['soon', 'later']" in capsys.readouterr().err
    (nab / "labels" / "combined_windows.json").unlink()
    assert main(["benchmark", "--data", str(nab)]) == 2
    assert "combined_windows.json: missing" in capsys.readouterr().err


def test_a_file_whose_time_goes_back_is_scored_in_file_order_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NAB's machine temperature repeats an hour (12 rows back in time): NAB scores it in
    file order and so does the benchmark, saying so, instead of refusing the data set."""
    nab = nab_data_set(tmp_path)
    path = nab / "data" / "realTraffic" / "speed_1.csv"
    lines = path.read_text("utf-8").splitlines()
    repeated = [f"{stamp(88 + i)},{20.0 + i % 3}" for i in range(12)]  # rows 88-99 again
    path.write_text("\n".join([*lines[:101], *repeated, *lines[101:]]) + "\n", "utf-8")
    assert main(["benchmark", "--data", str(nab), "--detector", "default", "--per-file"]) == 0
    captured = capsys.readouterr()
    assert "realTraffic/speed_1.csv: row 102: timestamp goes back in time" in captured.err
    assert captured.out.startswith("2 files, 812 rows, 1 labelled windows")
    # the window is found by time after the repeat, 12 rows later: the spike is still in it
    assert table_rows(captured.out)["default"][2:4] == ["1", "0"]
