"""The stage rule and the case lifecycle: tables of inputs and what they must give."""

from __future__ import annotations

import pytest

from dashboard.model import AlertRow
from dashboard.stages import STAGE_OF_LEVEL, hazard, stage_of
from detectors.contract.case_limits import (
    CATEGORY_LIMITS_MIN,
    MINUTE_MS,
    STEP_LIMITS_MIN,
    current_step,
    due_next,
    is_open,
    is_overdue,
    limits_for,
    timeline,
)
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location

I, II, III, IV = WarningLevel.I, WarningLevel.II, WarningLevel.III, WarningLevel.IV  # noqa: E741


def _alert(
    level: WarningLevel | None,
    metric: str = "water_level",
    status: str = "active",
    category: str = "condition",
) -> AlertRow:
    return AlertRow(
        "a",
        "alert",
        "",
        "k",
        category,
        level,
        "district",
        status,
        0,
        0,
        1,
        "",
        "",
        "",
        Location("CB", "D1"),
        "",
        "S",
        metric,
    )


@pytest.mark.parametrize(
    ("alerts", "stage"),
    [
        ([], 1),
        ([_alert(IV)], 2),
        ([_alert(IV), _alert(IV, "pm25")], 2),
        ([_alert(IV), _alert(III)], 3),
        ([_alert(III), _alert(II, status="acknowledged")], 4),
        ([_alert(I), _alert(IV)], 5),
        ([_alert(I, status="resolved"), _alert(II, status="cleared")], 1),
        ([_alert(I, status="cleared"), _alert(IV)], 2),
        ([_alert(None)], 1),
    ],
)
def test_the_stage_is_the_gravest_active_level_plus_one(alerts: list[AlertRow], stage: int) -> None:
    assert stage_of(alerts, "D1")[0] == stage


def test_the_rule_covers_every_level() -> None:
    assert [STAGE_OF_LEVEL[lv] for lv in (IV, III, II, I)] == [2, 3, 4, 5]


def test_the_reason_names_the_gravest_alerts_their_hazard_and_the_area() -> None:
    alerts = [_alert(III)] * 4 + [_alert(IV, "pm25")]
    assert stage_of(alerts, "district Riverside") == (
        3,
        "stage 3: 4 yellow flood alerts in district Riverside (+1 more)",
    )
    assert stage_of([_alert(II, "load")], "D2")[1] == "stage 4: 1 orange power grid alert in D2"
    assert stage_of(alerts, "滨江区", "zh") == (3, "3级：滨江区 4 条黄色洪涝预警（另有 1 条）")
    assert stage_of([], "滨江区", "zh")[1] == "1级：滨江区无活动预警"


def test_sensor_faults_do_not_raise_the_stage_on_the_page() -> None:
    fault = _alert(I, "water_level", category="fault")
    assert stage_of([fault], "D1") == (1, "stage 1: no active alerts in D1")
    assert stage_of([fault, _alert(IV, "pm25")], "D1") == (
        2,
        "stage 2: 1 blue air quality alert in D1",
    )


@pytest.mark.parametrize(
    ("alert", "name"),
    [
        (_alert(IV, "pm25"), "air quality"),
        (_alert(IV, "noise"), "noise"),
        (_alert(IV, "flow"), "traffic"),
        (_alert(IV, "voltage"), "power grid"),
        (_alert(IV, "pipe_level"), "flood"),
        (_alert(IV, "pm25", category="fault"), "sensor fault"),
        (_alert(IV, "unknown"), "other"),
    ],
)
def test_hazards(alert: AlertRow, name: str) -> None:
    assert hazard(alert) == name


def test_categories_only_tighten_the_limits() -> None:
    for category in CATEGORY_LIMITS_MIN:
        assert all(limits_for(category)[s] <= STEP_LIMITS_MIN[s] for s in STEP_LIMITS_MIN)
    assert limits_for("garbage") == STEP_LIMITS_MIN
    assert limits_for("manhole_cover")["dispatched"] == 10


M = MINUTE_MS


@pytest.mark.parametrize(
    ("category", "steps", "now_min", "states"),
    [
        ("garbage", {"filed": 0}, 29, ["done", "pending", "waiting"]),
        ("garbage", {"filed": 0}, 31, ["done", "overdue", "waiting"]),
        ("manhole_cover", {"filed": 0}, 11, ["done", "overdue", "waiting"]),
        ("garbage", {"filed": 0, "dispatched": 40 * M}, 41, ["done", "late", "pending"]),
        ("garbage", {"filed": 0, "dispatched": 10 * M}, 10 + 241, ["done", "done", "overdue"]),
    ],
)
def test_each_step_is_judged_against_its_limit(
    category: str, steps: dict[str, int], now_min: int, states: list[str]
) -> None:
    found = timeline(category, steps, now_min * M)
    assert [s.state for s in found][:3] == states
    assert [s.status for s in found] == [
        "filed",
        "dispatched",
        "accepted",
        "handled",
        "verified",
        "closed",
        "evaluated",
    ]
    assert is_overdue(category, steps, now_min * M) == ("overdue" in states)


def test_a_finished_case_is_closed_and_never_overdue() -> None:
    steps = {
        s: i * M
        for i, s in enumerate(["filed", "dispatched", "handled", "verified", "closed", "evaluated"])
    }
    assert current_step(steps) == "evaluated" and not is_open("evaluated")
    assert not is_overdue("garbage", steps, 10**12)
    assert due_next("garbage", steps) is None
    assert due_next("garbage", {"filed": 0}) == ("dispatched", 30 * M)
    assert timeline("garbage", {"filed": 0}, 0)[1].due_ms == 30 * M
