"""The citybrain-sim command line: bad arguments exit 2 with one clear line."""

from __future__ import annotations

import orjson
import pytest

from sensors_sim import cli
from sensors_sim.__main__ import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--rate", "-3"], "--rate must be positive"),
        (["run", "--rate", "0"], "--rate must be positive"),
        (["run", "--malformed", "1.5"], "--malformed must be between 0 and 1"),
        (["run", "--case-fraction", "-0.1"], "--case-fraction must be between 0 and 1"),
        (["run", "--count", "10", "--duration", "5"], "not both"),
        (["run", "--count", "0"], "--count must be at least 1"),
        (["run", "--duration", "-1"], "--duration must be positive"),
        (["run", "--start", "yesterday"], "not an ISO 8601 time"),
        (["run", "--rate", "fast"], "invalid float value"),
        (["run", "--metrics-port", "70000"], "--metrics-port"),
        (["city", "--districts", "0"], "--districts must be at least 1"),
        (["reference", "--sensors-per-cell", "-1"], "--sensors-per-cell"),
        (["explode"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("citybrain-sim: ")
    assert message in err
    assert err.count("\n") == 1


def test_bad_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITYBRAIN_KAFKA_PARTITIONS", "0")
    assert main(["run", "--count", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("citybrain-sim: bad setting: CITYBRAIN_KAFKA_PARTITIONS")


def test_city_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["city", "--seed", "2", "--json"]) == 0
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["areas"] == {"city": 1, "district": 6, "street": 24, "grid": 288}
    assert summary["sources"] == sum(summary["sources_by_family"].values())
    assert 600 <= summary["sources"] <= 1000
    assert main(["city", "--seed", "2", "--districts", "2"]) == 0
    text = capsys.readouterr().out
    assert "district 2" in text and "grid 96" in text


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    assert "--max-speed" in capsys.readouterr().out


def test_duration_becomes_a_count_of_event_time() -> None:
    command = cli.parse(["run", "--rate", "200", "--duration", "3"])
    assert command.run is not None and command.run.count == 600


def test_parse_start() -> None:
    assert cli.parse_start("now") is None
    assert cli.parse_start(None) is None
    assert cli.parse_start("2025-11-26T00:00:00Z") == 1_764_115_200_000
    assert cli.parse_start("2025-11-26T08:00:00+08:00") == 1_764_115_200_000
    assert cli.parse_start("2025-11-26 00:00") == 1_764_115_200_000


def test_max_speed_backdates_the_start_so_nothing_is_in_the_future() -> None:
    run = cli.parse(["run", "--rate", "100", "--count", "500", "--max-speed"]).run
    assert run is not None
    assert cli.resolve_start(run, now_ms=1_000_000) == 1_000_000 - 5_000
    paced = cli.parse(["run", "--rate", "100", "--count", "500"]).run
    assert paced is not None and cli.resolve_start(paced, now_ms=1_000_000) == 1_000_000
    given = cli.parse(["run", "--count", "5", "--max-speed", "--start", "2025-11-26T00:00Z"]).run
    assert given is not None and cli.resolve_start(given, now_ms=0) == 1_764_115_200_000
