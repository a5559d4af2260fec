"""The backtest report from hand-made alert lists and a scenario's labelled windows."""

from __future__ import annotations

from detectors.contract.events import Location
from detectors.evaluation.scenarios import Label
from replay.alerts import AlertSpan, Lead
from replay.markdown import render
from replay.report import Backtest, ScenarioInfo, Side, caught, false_alarms, outcomes

MIN = 60_000
T0 = 1_751_817_600_000  # 2025-07-06 16:00 UTC
D1 = Location("CB", "D1", "D1-S1", "D1-S1-G02")
D2 = Location("CB", "D2", "D2-S1", "D2-S1-G01")


def alert(alert_id: str, key: str, opened_min: int, level: int, where: Location = D1,
          detector: str = "static") -> AlertSpan:  # fmt: skip
    return AlertSpan(alert_id, key, "condition", level, level, T0 + opened_min * MIN,
                     T0 + (opened_min + 30) * MIN, where, {"detector": detector})  # fmt: skip


FLOOD = Label("area_incident", "D1", T0 + 100 * MIN, T0 + 300 * MIN, "river flood")
FAULT = Label("sensor_fault", "D2", T0 + 500 * MIN, T0 + 600 * MIN, "stuck gauge", ("RIV-9",))
SCENARIO = ScenarioInfo("flood", "A flood in D1", T0 + 60 * MIN, (FLOOD, FAULT))

A = [
    alert("a1", "RIV-01:water_level:condition", 80, 2, detector="forecast"),  # early: caught
    alert("a2", "RIV-02:water_level:condition", 150, 3),
    alert("a3", "ENV-9:pm25:condition", 400, 1, D2),  # outside any window
    alert("a4", "ENV-9:pm25:condition", 10, 1, D2),  # in the warm-up
]
B = [
    alert("b2", "RIV-02:water_level:condition", 160, 4),
    alert("b5", "GAUGE:water_level:fault", 520, 1, D2),
]


def _backtest(scenario: ScenarioInfo | None = SCENARIO) -> Backtest:
    return Backtest(
        name="flood_cmp", from_ms=T0, to_ms=T0 + 66 * 60 * MIN, filters="districts D1,D2",
        source="clickhouse", speed="max",
        a=Side("A", "flood_cmp_a", "/cfg/a.yaml", A, {"a1": Lead(40 * MIN, "crossing")}),
        b=Side("B", "flood_cmp_b", "/cfg/b.yaml", B), scenario=scenario,
    )  # fmt: skip


def test_windows_are_caught_by_alerts_in_their_area_and_time() -> None:
    by_label = caught(A, SCENARIO.labels, tolerance_ms=30 * MIN)
    assert [s.alert_id for s in by_label[0]] == ["a1", "a2"]
    assert 1 not in by_label
    assert {s.alert_id for s in by_label[-1]} == {"a3", "a4"}
    found = outcomes(_backtest())
    assert [(len(o.caught_a), len(o.caught_b)) for o in found] == [(2, 1), (0, 1)]


def test_false_alarms_count_only_after_the_warm_up() -> None:
    assert false_alarms(A, SCENARIO, 30 * MIN) == 1
    assert false_alarms(B, SCENARIO, 30 * MIN) == 0


def test_the_report_lists_only_a_only_b_and_both_with_levels_and_leads() -> None:
    text = render(_backtest())
    assert text.startswith("# Backtest flood_cmp\n")
    assert "- A: `/cfg/a.yaml` (replay `flood_cmp_a`)" in text
    assert "| alerts raised | 4 | 2 |" in text
    assert "| by level (I, II, III, IV) | I 0, II 1, III 1, IV 2 | I 1, II 0, III 0, IV 1 |" in text
    assert "| raised only here | 3 | 1 |" in text
    assert "| labelled windows caught | 1/2 | 2/2 |" in text
    assert "| alerts in no labelled window (after warm-up) | 1 | 0 |" in text
    only_a = text.split("## Raised only by A (3)")[1].split("##")[0]
    assert "RIV-01:water_level:condition" in only_a and "40 min (crossing)" in only_a
    assert "III yellow" in only_a and "forecast" in only_a
    both = text.split("## Raised by both (1)")[1].split("##")[0]
    assert "| RIV-02:water_level:condition | II orange | I red |" in both and "+10 min" in both
    windows = text.split("## Labelled windows of scenario flood")[1].split("## How")[0]
    assert "river flood" in windows
    assert "caught 20 min before it opened; 2 alerts, gravest II orange" in windows
    assert "| stuck gauge | sensor_fault | D2 |" in windows and "| missed |" in windows
    assert "caught 20 min into it; 1 alert, gravest IV blue |" in windows


def test_without_a_scenario_there_is_no_window_section() -> None:
    text = render(_backtest(scenario=None))
    assert "Labelled windows" not in text and "labelled windows caught" not in text
    assert "## Raised only by B (1)" in text


def test_an_empty_backtest_still_reports() -> None:
    calm = ScenarioInfo("calm", "", T0, ())
    empty = Backtest("e", T0, T0 + MIN, "", "kafka", "10x", Side("A", "e_a", "", []),
                     Side("B", "e_b", "", []), scenario=calm)  # fmt: skip
    text = render(empty)
    assert "| alerts raised | 0 | 0 |" in text and text.count("None.") == 3
    assert "default configuration" in text and "labels no window" in text


def test_a_scenario_played_later_moves_its_windows_and_warm_up() -> None:
    later = SCENARIO.shifted(10 * MIN)
    assert [lb.start_ms - T0 for lb in later.labels] == [110 * MIN, 510 * MIN]
    assert [lb.end_ms - T0 for lb in later.labels] == [310 * MIN, 610 * MIN]
    assert later.scored_from_ms == SCENARIO.scored_from_ms + 10 * MIN
    assert later.labels[1].sources == ("RIV-9",) and later.name == "flood"
