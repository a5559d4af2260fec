"""The stage rule (pure), the worker's area stages built on it, and operator actions that
change the engine only through its own methods."""

from __future__ import annotations

from typing import Any

import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.stages import NORMAL, StagedAlert, area_stage
from detectors.alerting.types import Decision
from detectors.contract.actions import Actor, build_action
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location
from streams.alert_rows import area_stages, stage_rows
from streams.alerting import AlertingStage, StageOutput

I, II, III, IV = WarningLevel.I, WarningLevel.II, WarningLevel.III, WarningLevel.IV  # noqa: E741
MIN = 60_000
GRID_A = Location("CB", "D1", "D1-S1", "D1-S1-G01")
GRID_B = Location("CB", "D2", "D2-S1", "D2-S1-G01")
COMMANDER = Actor("chen", "city_commander", "")


def staged(level: WarningLevel, category: str = Category.CONDITION, metric: str = "pm25"):
    return StagedAlert(level, category, metric)


@pytest.mark.parametrize(
    ("alerts", "stage"),
    [
        ([], 1),
        ([staged(IV)], 2),
        ([staged(IV), staged(III, Category.AREA)], 3),
        ([staged(II), staged(III)], 4),
        ([staged(I), staged(IV)], 5),
        ([staged(I, Category.FAULT)], 1),  # a broken sensor is no situation in its area
        ([staged(I, Category.FAULT), staged(IV)], 2),
    ],
)
def test_the_stage_is_the_gravest_counted_level_plus_one(
    alerts: list[StagedAlert], stage: int
) -> None:
    assert area_stage(alerts).stage == stage


def test_the_facts_name_the_gravest_alerts_and_how_many_count() -> None:
    facts = area_stage(
        [staged(III, metric="water_level"), staged(IV), staged(III, metric="rainfall")]
        + [staged(I, Category.FAULT)]
    )
    assert (facts.gravest, facts.at_gravest, facts.counted) == (
        III,
        ("water_level", "rainfall"),
        3,
    )
    assert area_stage([]).gravest is None and area_stage([]).stage == NORMAL


def decide(ts: int, score: float, source: str, where: Location, category: str) -> Decision:
    key = f"{source}:water_level:{category}"
    return Decision(key, category, source, "water_level", where, "static", score, 3.0, ts)


def stage_with(*decisions: Decision) -> AlertingStage:
    stage = AlertingStage()
    stage.engine.step(list(decisions), now_ms=max(d.ts_ms for d in decisions))
    return stage


def test_area_stages_cover_every_level_of_an_alert_and_skip_faults() -> None:
    stage = stage_with(
        decide(0, 0.78, "S1", GRID_A, Category.CONDITION),  # level III
        decide(0, 0.98, "S2", GRID_B, Category.FAULT),  # level I, but a fault
    )
    stages = area_stages(stage)
    assert set(stages) == {"city:CB", "district:D1", "street:D1-S1", "grid:D1-S1-G01"}
    assert stages["district:D1"] == (3, "stage 3: 1 water_level alert in D1")


def test_an_area_with_only_a_fault_stays_at_stage_one_in_stage_changes() -> None:
    stage = stage_with(decide(0, 0.98, "S2", GRID_B, Category.FAULT))
    assert area_stages(stage) == {}
    assert stage_rows(stage, now_ms=MIN) == []


def act(stage: AlertingStage, kind: str, target: str, **extra: Any) -> StageOutput:
    out = StageOutput()
    message = build_action(kind, target, COMMANDER, now_ms=MIN, action_id=f"{kind}-1", **extra)
    assert stage.act(message, out) is None
    return out


def test_escalate_and_resolve_change_the_engine_through_its_methods() -> None:
    stage = stage_with(decide(0, 0.6, "S1", GRID_A, Category.FAULT))  # a lone alert, grid tier
    alert_id = next(iter(stage.engine.active.values())).alert_id
    escalated = act(stage, "escalate", alert_id).events[0]
    assert (escalated.kind, escalated.tier) == (AlertKind.ESCALATED, "street")
    assert stage.engine.find(alert_id) is not None
    assert stage.engine.find(alert_id).tier == "street"  # type: ignore[union-attr]
    resolved = act(stage, "resolve", alert_id).events[0]
    assert resolved.kind == AlertKind.RESOLVED and resolved.alert_id == alert_id
    assert stage.engine.find(alert_id) is None and not stage.engine.active


def test_resolving_a_member_alert_leaves_its_incident_open_without_it() -> None:
    stage = stage_with(decide(0, 0.6, "S1", GRID_A, Category.CONDITION))
    alert = next(iter(stage.engine.active.values()))
    act(stage, "resolve", alert.alert_id)
    incident = stage.engine.incidents[alert.incident_id]
    assert incident.alerts == []


def test_the_engines_state_is_read_only_from_outside() -> None:
    engine = AlertEngine()
    engine.step([decide(0, 0.6, "S1", GRID_A, Category.CONDITION)], now_ms=0)
    with pytest.raises(TypeError):
        del engine.active["S1:water_level:condition"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        engine.incidents["x"] = engine.incidents.get("x")  # type: ignore[index]


def test_an_action_on_an_incident_keeps_what_explains_it() -> None:
    """Its row in alerts_current is the last event's: an assignment once blanked it."""
    stage = stage_with(decide(30_000, 0.78, "S1", GRID_A, Category.CONDITION))
    incident = next(iter(stage.engine.incidents.values()))
    for kind, extra in (("assign", {"assignee": "team-7"}), ("acknowledge", {})):
        (event,) = act(stage, kind, incident.incident_id, **extra).events
        assert event.evidence["metrics"] == ["water_level"] and event.evidence["alerts"] == 1
        assert event.evidence["lead"]["source_id"] == "S1"
        assert event.opened_ms == incident.opened_ms == 30_000
