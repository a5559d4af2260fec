"""``citybrain-sim scenario``'s command line, pacing, registration and summary, without
services (a stand-in for the ClickHouse client, a fake clock)."""

from __future__ import annotations

import doctest
import io
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from detectors.contract.events import Family
from infra.settings import CommonSettings, load
from sensors_sim import cli
from sensors_sim import scenario as scenario_module
from sensors_sim.__main__ import main
from sensors_sim.city import build_city
from sensors_sim.generator import SimEvent
from sensors_sim.producer import Tally
from sensors_sim.scenario import SCENARIOS_DIR, Bounds, plan_reference
from sensors_sim.scenario_play import Play, Prepared, pace, prepare, register, summary
from tests.unit.test_sim_scenario import END_MS, TablesStandIn

SETTINGS = load(CommonSettings)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scenario"], "give --name NAME (or --list"),
        (["scenario", "--name", "flood", "--list"], "not both"),
        (["scenario", "--name", "flood", "--speed", "fast"], "--speed must be 'max' or a pos"),
        (["scenario", "--name", "flood", "--speed", "-2"], "--speed must be"),
        (["scenario", "--name", "flood", "--speed", "inf"], "--speed must be"),
        (["scenario", "--name", "flood", "--start", "soon"], "not an ISO 8601 time"),
        (["scenario", "--name", "flood", "--skip-hours", "-1"], "must not be negative"),
        (["scenario", "--name", "flood", "--skip-hours", "60"], "cuts into the labelled"),
        (["scenario", "--name", "flood", "--seed", "x"], "invalid int value"),
        (["scenario", "--name", "baseline"], "spans 168.0 h of event time"),
        (["scenario", "--name", "flood", "--start", "2020-01-01"], "h old when sent"),
        (["scenario", "--name", "flood", "--start", "2999-01-01"], "in the future when sent"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("citybrain-sim: ") and err.count("\n") == 1
    assert message in err


def test_an_unknown_scenario_exits_2_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenario", "--name", "tsunami"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'tsunami'" in err
    for name in ("flood", "water_main", "case_surge", "sensor_faults", "baseline"):
        assert name in err


def test_list_names_every_scenario_with_its_labels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(
        p.stem for p in SCENARIOS_DIR.glob("*.yaml")
    )
    flood = next(line for line in lines if line.startswith("flood "))
    assert "66 h" in flood and "area_incident D1" in flood
    assert "4 sensor_faults" in next(line for line in lines if line.startswith("sensor_faults"))


def test_parse_gives_the_play() -> None:
    command = cli.parse(
        ["scenario", "--name", "flood", "--seed", "3", "--speed", "60",
         "--start", "2026-11-18T11:06:40Z", "--no-reference", "--city-seed", "42"]
    )  # fmt: skip
    assert command.name == "scenario" and command.city.seed == 42
    assert command.scenario == cli.ScenarioArgs(
        name="flood", list_only=False, seed=3, speed=60.0, end_ms=END_MS, skip_hours=0.0,
        reference=False, folder=None,
    )  # fmt: skip
    defaults = cli.parse(["scenario", "--name", "flood"]).scenario
    assert defaults is not None
    assert (defaults.seed, defaults.speed, defaults.end_ms, defaults.reference) == (
        7, None, None, True,
    )  # fmt: skip


def _events(*ts: int) -> list[tuple[int, SimEvent]]:
    return [(t, SimEvent(Family.WATER, b"K", str(t).encode(), None)) for t in ts]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 6))
        self.now += seconds
        return False


def test_pacing_sends_event_time_n_times_faster_than_real_time() -> None:
    clock, sent = FakeClock(), []
    stop = threading.Event()

    def publish(event: SimEvent) -> None:
        sent.append((round(clock.now - 100.0, 6), int(event.value)))

    # 60x: a minute of event time takes a second
    pace(_events(0, 60_000, 60_000, 180_000), publish, 60.0, 0, stop, clock=clock,
         wait=clock.wait)  # fmt: skip
    assert sent == [(0.0, 0), (1.0, 60_000), (1.0, 60_000), (3.0, 180_000)]
    assert clock.waits == [1.0, 2.0]


def test_max_speed_never_waits_and_a_stop_ends_the_play() -> None:
    clock, stop = FakeClock(), threading.Event()
    sent: list[SimEvent] = []
    pace(_events(0, 3_600_000, 7_200_000), sent.append, None, 0, stop, clock=clock,
         wait=clock.wait)  # fmt: skip
    assert len(sent) == 3 and clock.waits == []

    def publish_then_stop(event: SimEvent) -> None:
        sent.append(event)
        stop.set()

    sent.clear()
    pace(_events(0, 1, 2), publish_then_stop, None, 0, stop, clock=clock, wait=clock.wait)
    assert len(sent) == 1


def _play(name: str) -> Play:
    return Play(name, 7, None, END_MS, 0.0, True, SCENARIOS_DIR)


def _register(tables: TablesStandIn, prepared: Prepared, write: bool) -> tuple[Any, str]:
    err = io.StringIO()
    plan = register(
        SETTINGS, prepared, lambda: build_city(1), write, err,
        clock=lambda: 1000.0, client_factory=lambda _s: tables,
    )  # fmt: skip
    return plan, err.getvalue()


def _without_profiles(inserts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [i for i in inserts if i[0] != "source_profiles"]


def test_register_writes_the_city_then_the_annex_and_the_sources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sensors_sim.scenario_play.ensure_schema", lambda _s: None)
    tables = TablesStandIn()
    plan, err = _register(tables, prepare(_play("case_surge"), END_MS, Bounds()), True)
    assert _without_profiles(tables.inserts) == [("areas", 319 + 9)]  # cases are not sources
    assert "D7-S1-G03" in tables.tables["areas"] and plan.sources == ()
    assert err == ""
    plan, err = _register(tables, prepare(_play("water_main"), END_MS, Bounds()), True)
    assert _without_profiles(tables.inserts)[1:] == [("sources", 5)]  # D5-S1: no new area
    profiled = tables.tables["source_profiles"]
    assert all(p["group_name"] or p["limits"] != "{}" for p in profiled.values())
    assert plan.area_rows == () and err == ""


def test_register_warns_about_moved_sources_and_missing_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sensors_sim.scenario_play.ensure_schema", lambda _s: None)
    tables = TablesStandIn()
    prepared = prepare(_play("water_main"), END_MS, Bounds())
    # --no-reference on an empty database: nothing written, every gap named
    _, err = _register(tables, prepared, False)
    assert tables.inserts == [] and "source PRS-03" in err and "will dead-letter" in err
    # PRS-03 registered elsewhere is moved, with a warning
    tables.write("sources", [("PRS-03", "water", "pressure_sensor", ["main_pressure"], "CB",
                              "D1", "D1-S1", "D1-S1-G01", 120.0, 30.0, 60, 1)])  # fmt: skip
    _, err = _register(tables, prepared, True)
    assert "source PRS-03 (pressure_sensor in D1-S1-G01 -> pressure_sensor in D5-S1-G03)" in err
    assert tables.tables["sources"]["PRS-03"]["grid"] == "D5-S1-G03"
    _, err = _register(tables, prepared, False)
    assert err == ""  # everything is registered now


def test_the_summary_reports_labels_in_wall_clock_time() -> None:
    prepared = prepare(_play("water_main"), END_MS, Bounds())
    tally = Tally(handed=19_800, sent=19_800)
    tally.by_family["water"] = 19_800
    plan = plan_reference(prepared.synthesis, (), build_city(1), 1000)
    line = summary(prepared, _play("water_main"), plan, tally, 2.5, False)
    assert orjson.loads(orjson.dumps(line)) == line
    assert (line["scenario"], line["seed"], line["speed"], line["events"]) == (
        "water_main", 7, "max", 19_800,
    )  # fmt: skip
    assert line["by_family"] == {"water": 19_800} and line["seconds"] == 2.5
    assert line["end"] == "2026-11-18T11:06:40Z"
    labels = line["labels"]
    assert isinstance(labels, list) and len(labels) == 1
    label = labels[0]
    assert (label["kind"], label["area"]) == ("area_incident", "D5-S1")
    assert label["end_ms"] - label["start_ms"] == 3 * 3_600_000
    assert label["end_ms"] == END_MS - 6 * 3_600_000


def test_scenarios_folder_can_be_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tiny.yaml").write_text(
        (SCENARIOS_DIR / "water_main.yaml").read_text().replace("name: water_main", "name: tiny")
    )
    assert main(["scenario", "--list", "--scenarios", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("tiny ")
    assert main(["scenario", "--name", "flood", "--scenarios", str(tmp_path)]) == 2
    assert "known scenarios: tiny" in capsys.readouterr().err


@pytest.mark.parametrize("module", [scenario_module, cli])
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
