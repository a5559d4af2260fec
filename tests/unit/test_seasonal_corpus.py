"""``bench/seasonal_corpus.py``: the Yahoo-like labelled corpus reads as a benchmark data set."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from detectors.cli_io import read_corpus

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "seasonal_corpus.py"


def run(*argv: str) -> None:
    saved = sys.argv
    sys.argv = [str(SCRIPT), *argv]
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    finally:
        sys.argv = saved


def test_the_corpus_has_both_kinds_each_anomaly_labelled_on_its_row(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as done:
        run(str(tmp_path), "--series", "2")
    assert done.value.code == 0
    corpus = read_corpus(tmp_path)
    assert sorted(f.name for f in corpus) == ["a3_00.csv", "a3_01.csv", "a4_00.csv", "a4_01.csv"]
    for labelled in corpus:
        assert len(labelled.series.values) == 1680
        assert len(labelled.windows) >= 3  # three spikes at least, one row each
        assert all(end == start for start, end in labelled.windows)
    again = tmp_path / "again"
    with pytest.raises(SystemExit):
        run(str(again), "--series", "2")
    assert (again / "a4_01.csv").read_text() == (tmp_path / "a4_01.csv").read_text()


def test_a_count_below_one_stops_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        run(str(tmp_path), "--series", "0")
    assert done.value.code == 2
    assert "--series must be at least 1, not 0" in capsys.readouterr().err
