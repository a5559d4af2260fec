"""The worker's reasons in operator language: every reason the engine writes is said in
Chinese and English, and the reasons of stage changes name places and metrics, not codes."""

from __future__ import annotations

import re
from dataclasses import replace

from detectors.alerting.engine import AlertEngine, AlertPolicy
from detectors.alerting.overdue import CaseMove
from detectors.alerting.reasons import reason_text, stage_text
from detectors.alerting.stages import StagedAlert, area_stage, stored_reason
from detectors.alerting.types import AlertEvent, Decision
from detectors.contract.events import Location
from detectors.contract.levels import WarningLevel
from detectors.contract.silences import Silence

MIN = 60_000
CJK = re.compile(r"[\u4e00-\u9fff]")


def decide(ts: int, score: float, source: str, grid: str, category: str = "condition") -> Decision:
    where = Location("CB", grid[:2], grid[:5], grid)
    return Decision(f"{source}:pm25:{category}", category, source, "pm25", where, "static",
                    score, 120.0, ts, threshold=75.0)  # fmt: skip


def engine_events() -> list[AlertEvent]:
    """A story that makes the engine write every kind of reason it has."""
    engine = AlertEngine(AlertPolicy(lower_after=1, clear_after=1))
    late = CaseMove("CS-1", "garbage", "filed", 0, Location("CB", "D3", "D3-S1", "D3-S1-G01"))
    engine.case_moved(late)  # a case no one dispatches: overdue, escalated, then done
    events = engine.step([decide(0, 0.6, "A", "D1-S1-G01")], now_ms=0)  # raised, opened
    events += engine.step([decide(MIN, 0.6, "B", "D1-S1-G02")], now_ms=MIN)  # joined
    events += engine.step([decide(2 * MIN, 0.6, "C", "D1-S2-G01")], now_ms=2 * MIN)  # widened
    events += engine.step([decide(3 * MIN, 0.97, "A", "D1-S1-G01")], now_ms=3 * MIN)  # level up
    events += engine.step([decide(4 * MIN, 0.6, "A", "D1-S1-G01")], now_ms=4 * MIN)  # down
    events += engine.step([decide(5 * MIN, 0.6, "F", "D2-S1-G01", "fault")], now_ms=5 * MIN)
    events += engine.acknowledge(events[0].alert_id, 6 * MIN, by="li")
    events += engine.step([decide(7 * MIN, 0.1, "B", "D1-S1-G02")], now_ms=7 * MIN)  # below
    muted = Silence("s-1", "district", "D2", 0, 9 * MIN, reason="works", author="li")
    events += engine.silence(muted, 8 * MIN)  # the fault alert in D2: muted
    events += engine.tick(9 * MIN)  # its silence ended
    for minutes in range(10, 120, 10):
        events += engine.tick(minutes * MIN + 7 * MIN)  # unacknowledged: escalated
    events += engine.tick(10 * 60 * MIN)  # stale, closed
    events += engine.case_moved(replace(late, status="dispatched", ts_ms=10 * 60 * MIN + 1))
    return events


def test_every_engine_reason_is_said_in_chinese() -> None:
    reasons = {e.reason for e in engine_events() if e.reason}
    assert any(r.startswith("unacknowledged") for r in reasons) and len(reasons) >= 12
    assert {"muted by a silence", "its silence ended", "case step dispatched done"} <= reasons
    assert "case step dispatched overdue by 7 min" in reasons
    assert "case step dispatched overdue by 570 min: to city" in reasons
    for reason in reasons:
        assert CJK.search(reason_text(reason, "zh")), reason
        english = reason_text(reason, "en")
        assert not CJK.search(english), reason
        assert "static" not in english and "_" not in english, english  # no detector labels


def test_operator_actions_and_unknown_reasons() -> None:
    assert reason_text("superseded", "zh") == "已由新的超时预警接替"
    assert reason_text("assigned by li", "zh") == "li 指派"
    assert reason_text("by li", "zh") == "li 确认"
    assert reason_text("condition alert on water_level", "en") == "condition alert on water level"
    assert reason_text("condition alert on water_level", "zh") == "水位读数异常预警"
    assert reason_text("a reason from a newer worker", "zh") == "a reason from a newer worker"


NAMES = {
    "en": {
        "CB": "Citybrain City",
        "D1": "Chengbei",
        "D1-S2": "Qingbo",
        "D1-S2-G03": "Qingbo grid 03",
    },
    "zh": {
        "CB": "城市大脑示范市",
        "D1": "城北区",
        "D1-S2": "清波街道",
        "D1-S2-G03": "清波街道第03网格",
    },
}


def test_a_stage_reason_says_the_stage_how_many_alerts_of_what_and_where() -> None:
    stored = "stage 4: 5 pipe_level alerts in D1"
    assert (
        stage_text(stored, "district", "D1", "zh", NAMES["zh"])
        == "4级：城北区 5 条排水管道水位预警"
    )
    assert (
        stage_text(stored, "district", "D1", "en", NAMES["en"])
        == "stage 4: 5 drainage pipe level alerts in Chengbei district"
    )
    one = "stage 3: 1 signal_fault alert in D1-S2-G03"
    assert stage_text(one, "grid", "D1-S2-G03", "en", NAMES["en"]) == (
        "stage 3: 1 traffic signal alert in Qingbo grid 03, Chengbei district"
    )
    assert stage_text(one, "grid", "D1-S2-G03", "zh", NAMES["zh"]) == (
        "3级：城北区清波街道第03网格 1 条交通信号灯预警"
    )
    city = "stage 5: 2 load alerts in CB"
    assert (
        stage_text(city, "city", "CB", "zh", NAMES["zh"]) == "5级：城市大脑示范市 2 条线路负荷预警"
    )
    assert stage_text(city, "city", "CB", "en", {}) == "stage 5: 2 feeder load alerts in the city"


def test_a_calm_stage_and_text_the_rule_does_not_write() -> None:
    calm = stored_reason(area_stage([]), "D1-S2")
    assert stage_text(calm, "street", "D1-S2", "en", NAMES["en"]) == (
        "stage 1: no active alerts in Qingbo street, Chengbei district"
    )
    assert stage_text(calm, "street", "D1-S2", "zh", NAMES["zh"]) == "1级：城北区清波街道无活动预警"
    # an area without a name is said with its code and what it is, never a bare code
    assert stage_text(calm, "street", "D1-S2", "zh", {}) == "1级：D1区D1-S2街道无活动预警"
    assert stage_text("", "district", "D1", "zh", {}) == ""
    assert stage_text("a reason from a newer worker", "city", "CB", "zh", {}) == (
        "a reason from a newer worker"
    )


def test_every_stored_stage_reason_reads_without_codes() -> None:
    for metric in ("pm25", "water_level", "main_pressure", "case_reports", "breaker_open"):
        for level, count in ((WarningLevel.IV, 1), (WarningLevel.I, 3)):
            facts = area_stage([StagedAlert(level, "condition", metric)] * count)
            stored = stored_reason(facts, "D1-S2")
            for lang in ("en", "zh"):
                said = stage_text(stored, "street", "D1-S2", lang, NAMES[lang])
                assert "D1" not in said and "_" not in said, said
                assert bool(CJK.search(said)) == (lang == "zh"), said
