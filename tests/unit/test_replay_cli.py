"""The citybrain-replay command line: what parses, and every bad argument refused with one
clear line and exit status 2 before any service is asked anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from detectors.contract.events import Family
from replay import cli
from replay.__main__ import main

RANGE = ["--from", "2026-11-25T10:00:00", "--to", "2026-11-25T11:00:00"]
FROM_MS = int(datetime(2026, 11, 25, 10, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000


def test_run_parses_range_filters_source_and_speed(tmp_path: Path) -> None:
    config = tmp_path / "a.yaml"
    config.write_text("static: {}\n")
    command = cli.parse(
        ["run", "--name", "flood_1", *RANGE, "--districts", "D1,D2,D1",
         "--families", "water,case", "--source", "kafka", "--speed", "10x",
         "--detector-config", str(config), "--keep-running"]
    )  # fmt: skip
    run = command.run
    assert command.name == "run" and run is not None
    assert run.name == "flood_1" and run.speed == 10.0 and run.keep_running
    assert run.detector_config == config.resolve()
    assert run.selection == cli.Selection(
        FROM_MS, FROM_MS + HOUR_MS, ("D1", "D2"), (Family.WATER, Family.CASE), "kafka"
    )


def test_run_defaults_to_the_archive_at_max_speed() -> None:
    run = cli.parse(["run", "--name", "r", *RANGE]).run
    assert run is not None
    assert run.speed is None and run.selection.source == "clickhouse"
    assert run.selection.districts == () and run.selection.families == ()
    assert run.detector_config is None and not run.keep_running


def test_times_with_offsets_are_converted_to_utc() -> None:
    local = cli.parse(["run", "--name", "r", "--from", "2026-11-25T18:00:00+08:00",
                       "--to", "2026-11-25T19:00:00+08:00"]).run  # fmt: skip
    assert local is not None and local.selection.from_ms == FROM_MS


def test_list_delete_compare_and_backtest_parse(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("{}\n")
    (tmp_path / "b.yaml").write_text("{}\n")
    assert cli.parse(["list", "--all"]).show_all
    assert cli.parse(["delete", "old_one"]).targets == ("old_one",)
    assert cli.parse(["compare", "x", "y"]).targets == ("x", "y")
    backtest = cli.parse(
        ["backtest", "--name", "bt", *RANGE, "--config-a", str(tmp_path / "a.yaml"),
         "--config-b", str(tmp_path / "b.yaml"), "--report", str(tmp_path / "out.md")]
    ).backtest  # fmt: skip
    assert backtest is not None
    assert backtest.from_ms == FROM_MS and backtest.speed is None
    assert backtest.scenario is None and backtest.tolerance_min == 30.0
    scenario = cli.parse(
        ["backtest", "--name", "bt", "--scenario", str(tmp_path / "a.yaml"),
         "--scenario-end", "2026-11-25T11:00:00", "--config-a", str(tmp_path / "a.yaml"),
         "--config-b", str(tmp_path / "b.yaml"), "--report", "r.md"]
    ).backtest  # fmt: skip
    assert scenario is not None and scenario.from_ms is None
    assert scenario.scenario_end_ms == FROM_MS + HOUR_MS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--name", "r", "--from", "2026-11-25T10:00", "--to", "2026-11-25T10:00"],
         "the range is empty"),
        (["run", "--name", "r", "--from", "2026-11-25T11:00", "--to", "2026-11-25T10:00"],
         "is before --from"),
        (["run", "--name", "r", "--from", "yesterday", "--to", "2026-11-25T10:00"],
         "not an ISO 8601 time"),
        (["run", "--name", "r", *RANGE, "--families", "water,sewage"],
         "unknown family sewage (known: environment, traffic, water, power, case)"),
        (["run", "--name", "r", *RANGE, "--districts", "D1,,D2"], "has an empty item"),
        (["run", "--name", "r", *RANGE, "--source", "s3"], "--source must be clickhouse or kafka"),
        (["run", "--name", "r", *RANGE, "--speed", "0"], "--speed must be a positive number"),
        (["run", "--name", "r", *RANGE, "--speed", "fast"], "--speed must be a positive number"),
        (["run", "--name", "r", *RANGE, "--speed", "-2"], "--speed must be a positive number"),
        (["run", "--name", "r", *RANGE, "--speed", "inf"], "--speed must be a positive number"),
        (["run", "--name", "Flood", *RANGE], "must be 1 to 40 characters of a-z, 0-9 and _"),
        (["run", "--name", "a-b", *RANGE], "must be 1 to 40 characters"),
        (["run", "--name", "x" * 41, *RANGE], "must be 1 to 40 characters"),
        (["run", "--name", "r", *RANGE, "--detector-config", "/nonexistent.yaml"],
         "--detector-config '/nonexistent.yaml': no such file"),
        (["run", "--name", "r", "--to", "2026-11-25T10:00"], "required: --from"),
        (["delete", "Bad Name"], "must be 1 to 40 characters"),
        (["backtest", "--name", "x" * 39, *RANGE, "--config-a", "a", "--config-b", "b",
          "--report", "r.md"], "must be 1 to 40 characters"),
        (["backtest", "--name", "bt", "--config-a", "a", "--config-b", "b", "--report", "r.md"],
         "--from and --to are required without --scenario"),
        (["backtest", "--name", "bt", "--from", "2026-11-25T10:00", "--config-a", "a",
          "--config-b", "b", "--report", "r.md"], "give both --from and --to"),
        (["backtest", "--name", "bt", *RANGE, "--scenario-end", "2026-11-25T10:00",
          "--config-a", "a", "--config-b", "b", "--report", "r.md"],
         "--scenario-end needs --scenario"),
        (["frobnicate"], "invalid choice"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("citybrain-replay: ")
    assert message in err
    assert err.count("\n") == 1


def test_bad_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITYBRAIN_REPLAY_STALL_TIMEOUT_S", "-1")
    assert main(["list"]) == 2
    assert "CITYBRAIN_REPLAY_STALL_TIMEOUT_S" in capsys.readouterr().err
