"""Small pure parts of the replay: source queries, progress, the canonical comparison, the
catalog row, the listing; and every docstring example of the package."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import replay
from detectors.contract.events import Family
from replay.canonical import compare
from replay.catalog import DELETED, FINISHED, RUNNING, new_record
from replay.cli import RunArgs, Selection
from replay.manage import Listed, listing_text
from replay.progress import RunSummary, eta_s, progress_line
from replay.sources import wanted, where

SEL = Selection(1_000_500, 2_000_000)


def test_where_cuts_exactly_by_ms_and_prunes_by_second() -> None:
    clause, params = where(SEL, [Family.WATER])
    assert "ts_ms >= %(from_ms)s AND ts_ms < %(to_ms)s" in clause
    assert params["from_s"] == 1000 and params["to_s"] == 2000
    assert "district" not in clause and "family" not in clause


def test_where_filters_districts_and_families_as_parameters() -> None:
    sel = Selection(0, 1, ("D1", "D2"), (Family.WATER, Family.CASE))
    clause, params = where(sel, [Family.WATER])
    assert "district IN %(districts)s" in clause and params["districts"] == ("D1", "D2")
    assert params["families"] == ("water",)
    cases_clause, _ = where(sel, None)
    assert "family" not in cases_clause


@pytest.mark.parametrize(
    ("families", "sensors", "cases"),
    [((), list(Family)[:4], True), ((Family.CASE,), [], True),
     ((Family.POWER, Family.WATER), [Family.WATER, Family.POWER], False)],
)  # fmt: skip
def test_family_filter_picks_tables(
    families: tuple[Family, ...], sensors: list[Family], cases: bool
) -> None:
    assert wanted(Selection(0, 1, (), families)) == (sensors, cases)


def test_progress_and_eta() -> None:
    assert eta_s(10, 10, 1.0, 5.0) == 0.0
    line = progress_line(100, 1000, 0, 1.0, 0.0)
    assert line == "citybrain-replay: produced 100/1000, stored 0 (0%), 0 events/s, ETA ?"


def test_summary_record_has_rates() -> None:
    summary = RunSummary("r", FINISHED, "replay_r", "replay-r", 1000, 10, 4.0, 1.0, 900, 50,
                         300, 50, 7, 2, worker_pid=42)  # fmt: skip
    record = summary.record()
    assert record["events_per_s"] == 250.0 and record["produce_events_per_s"] == 1000.0
    assert "still running (pid 42)" in summary.text()


def test_compare_finds_the_first_different_row_per_table() -> None:
    a = {"events_raw": [(1,), (2,)], "alert_events": []}
    b = {"events_raw": [(1,), (2,)], "alert_events": [("raised",)]}
    by_table = {d.table: d for d in compare(a, b)}
    assert by_table["events_raw"].equal
    assert by_table["alert_events"].first_difference == 0


def test_catalog_rows_version_upwards() -> None:
    run = RunArgs("r1", Selection(0, 60_000, ("D1",), (Family.WATER,)), 10.0, None, False, False)
    first = new_record(run, "", clock=lambda: 100.0)
    assert (first.status, first.database, first.speed, first.families) == (
        RUNNING,
        "replay_r1",
        "10",
        ["water"],
    )
    later = first.changed(clock=lambda: 50.0, status=DELETED)  # a clock that went back
    assert later.version == first.version + 1 and later.status == DELETED


def test_listing_text_is_a_table() -> None:
    run = RunArgs("r1", Selection(0, 60_000, ("D1",), (Family.WATER,)), None, None, False, False)
    text = listing_text([Listed(new_record(run, "", clock=lambda: 0.0), 1234, 5 * 1024 * 1024)])
    head, row = text.splitlines()
    assert head.split()[:3] == ["name", "status", "source"]
    assert "r1" in row and "D1;water" in row and "1970-01-01 00:00:00 .. 1970-01-01 00:01:00" in row
    assert row.endswith("5.0 MiB") and "1234" in row


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(replay.__path__, "replay.")]
    return [importlib.import_module(name) for name in sorted(names)]


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
