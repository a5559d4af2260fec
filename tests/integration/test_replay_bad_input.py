"""Bad input to citybrain-replay, against the real services: each case stops with one clear
line and exit status 2, and writes nothing (no replays row, no database, no topic)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra.clickhouse import connect
from infra.settings import CommonSettings
from replay.__main__ import main
from replay.catalog import FINISHED, Catalog, new_record
from replay.cli import RunArgs, Selection
from tests.integration.harness import ROOT, process_env, scalar
from tests.integration.test_replay_support import databases, live_namespace, topics

pytestmark = pytest.mark.integration

SCENARIO = ROOT / "scenarios" / "flood.yaml"


@pytest.fixture(scope="module")
def live(services: CommonSettings) -> Iterator[CommonSettings]:
    """A live namespace with a city (areas of districts D1..D6) and one event, and one
    existing replay called ``taken``."""
    with live_namespace(services) as settings:
        client = connect(settings)
        try:
            client.execute("INSERT INTO areas (level, code, parent, city, district, street, "
                           "name, name_zh, ring, lon, lat, updated_at) VALUES",
                           [("district", f"D{i}", "CB", "CB", f"D{i}", "", f"D{i}", "", "[]",
                             0.0, 0.0, 0) for i in range(1, 7)])  # fmt: skip
            client.execute("INSERT INTO events_raw (event_id, ts, ts_ms, family, source_id, "
                           "metric, value, city, district, street, grid, ingested_at) VALUES",
                           [("e1", 1_700_000_000, 1_700_000_000_000, "water", "W1",
                             "water_level", 1.0, "CB", "D1", "D1-S1", "D1-S1-G01", 0)])  # fmt: skip
        finally:
            client.disconnect()
        run = RunArgs("taken", Selection(0, 1), None, None, False, False)
        catalog = Catalog(lambda: connect(settings, database=""), settings.clickhouse_database)
        catalog.write(replace(new_record(run, ""), status=FINISHED))
        yield settings


RANGE = ["--from", "2023-11-14T22:00:00", "--to", "2023-11-14T23:00:00"]  # holds the event
EMPTY = ["--from", "2001-01-01T00:00:00", "--to", "2001-01-02T00:00:00"]


def _cases(tmp: Path) -> list[tuple[list[str], str]]:
    bad_yaml, a_list = tmp / "bad.yaml", tmp / "list.yaml"
    bad_yaml.write_text("static: [unclosed\n")
    a_list.write_text("- 1\n- 2\n")
    ok = tmp / "ok.yaml"
    ok.write_text("{}\n")
    bt = ["backtest", "--config-a", str(ok), "--config-b", str(ok)]
    return [
        (["run", "--name", "r_empty", "--from", "2023-11-14T22:00", "--to", "2023-11-14T22:00"],
         "the range is empty"),
        (["run", "--name", "r_back", "--from", "2023-11-14T23:00", "--to", "2023-11-14T22:00"],
         "is before --from"),
        (["run", "--name", "r_nodata", *EMPTY], "no data in the range: nothing to replay"),
        (["run", "--name", "r_nodata", *RANGE, "--families", "power"],
         "no data in the range with families power"),
        (["run", "--name", "r_nodata", *RANGE, "--source", "kafka"], "no data in the range"),
        (["run", "--name", "r_dist", *RANGE, "--districts", "D1,D9"],
         "unknown district D9 (known: D1, D2, D3, D4, D5, D6)"),
        (["run", "--name", "r_fam", *RANGE, "--families", "water,gas"], "unknown family gas"),
        (["run", "--name", "taken", *RANGE], "replay name 'taken' is taken (finished"),
        (["run", "--name", "r_speed", *RANGE, "--speed", "warp"], "--speed must be a positive"),
        (["run", "--name", "r_src", *RANGE, "--source", "hdfs"], "--source must be clickhouse"),
        (["run", "--name", "r_yaml", *RANGE, "--detector-config", str(bad_yaml)], "not YAML"),
        (["run", "--name", "r_yaml", *RANGE, "--detector-config", str(a_list)],
         "expected a YAML mapping"),
        (["delete", "never_was"], "no replay named 'never_was'"),
        (["compare", "never_was", "taken"], "no replay database replay_never_was"),
        ([*bt, "--name", "taken_x", *RANGE, "--report", str(tmp / "no" / "r.md")],
         "no such directory"),
        ([*bt, "--name", "bt_nodata", *EMPTY, "--report", str(tmp / "r.md")], "no data"),
        ([*bt, "--name", "bt_scen", "--scenario", str(a_list), "--report", str(tmp / "r.md")],
         "not a scenario"),
        ([*bt, "--name", "bt_flood", "--scenario", str(SCENARIO), "--districts", "D1",
          "--report", str(tmp / "r.md")], "no data in the range with districts D1"),
    ]  # fmt: skip


def _written(live: CommonSettings) -> tuple[Any, ...]:
    replay_dbs = {d for d in databases(live) if d.startswith("replay_")}
    replay_topics = {t for t in topics(live) if t.startswith("replay-")}
    rows = scalar(live, "SELECT count() FROM replays")
    return replay_dbs, replay_topics, rows


def test_bad_input_is_refused_and_writes_nothing(
    live: CommonSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in process_env(live).items():
        if name.startswith("CITYBRAIN_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("CITYBRAIN_REPLAY_DIR", str(tmp_path / "replays"))
    before = _written(live)
    failures = []
    for argv, message in _cases(tmp_path):
        status = main(argv)
        err = capsys.readouterr().err
        if status != 2 or message not in err or not err.startswith("citybrain-replay: "):
            failures.append(f"{argv}: exit {status}, {err!r}")
    assert failures == []
    assert _written(live) == before
    assert not (tmp_path / "replays").exists()
