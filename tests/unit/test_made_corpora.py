"""``bench/seasonal_corpus.py`` and ``bench/beat_corpus.py``: the made-up labelled corpora
read as benchmark data sets, the same on every run."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from detectors.cli_io import read_corpus

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *argv: str) -> int | str | None:
    saved = sys.argv
    sys.argv = [str(BENCH / script), *argv]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(BENCH / script), run_name="__main__")
    finally:
        sys.argv = saved
    return done.value.code


def test_the_seasonal_corpus_has_both_kinds_each_anomaly_labelled_on_its_row(
    tmp_path: Path,
) -> None:
    assert run("seasonal_corpus.py", str(tmp_path), "--series", "2") == 0
    corpus = read_corpus(tmp_path)
    assert sorted(f.name for f in corpus) == ["a3_00.csv", "a3_01.csv", "a4_00.csv", "a4_01.csv"]
    for labelled in corpus:
        assert len(labelled.series.values) == 1680
        assert len(labelled.windows) >= 3  # three spikes at least, one row each
        assert all(end == start for start, end in labelled.windows)
    again = tmp_path / "again"
    run("seasonal_corpus.py", str(again), "--series", "2")
    assert (again / "a4_01.csv").read_text() == (tmp_path / "a4_01.csv").read_text()


def test_the_beat_corpus_labels_one_whole_turn_of_each_series(tmp_path: Path) -> None:
    assert run("beat_corpus.py", str(tmp_path), "--series", "1") == 0
    corpus = read_corpus(tmp_path)
    assert sorted(f.name for f in corpus) == [
        "late_00.csv", "no_wave_00.csv", "small_00.csv", "wide_00.csv"
    ]  # fmt: skip
    for labelled in corpus:
        (start, end), turns = labelled.windows[0], 60
        assert len(labelled.windows) == 1
        period = len(labelled.series.values) // turns
        assert end - start + 1 == period and start % period == 0


@pytest.mark.parametrize("script", ["seasonal_corpus.py", "beat_corpus.py"])
def test_a_count_below_one_stops_with_a_message(
    script: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(script, str(tmp_path), "--series", "0") == 2
    assert "--series must be at least 1, not 0" in capsys.readouterr().err
