"""Overdue cases: the one time-limit rule, and the alert engine raising, escalating and
clearing a case's overdue alert by it, with hand-made times; a restart and an operator's
resolve never make it fire twice; the alerting stage learns the clocks from case events and
case actions; the explanation in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

import orjson
import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.explain import Facts, explain
from detectors.alerting.overdue import MAX_WATCHED, NEVER, CaseMove
from detectors.alerting.stages import StagedAlert, area_stage
from detectors.alerting.types import AlertEvent
from detectors.contract.actions import Actor, build_case_action
from detectors.contract.alerts import Category
from detectors.contract.case_limits import Lateness, escalation, is_overdue, overdue_step
from detectors.contract.events import CaseReport
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location
from detectors.contract.silences import Silence
from streams.alerting import (
    AlertingStage,
    case_to_json,
    pack_snapshot,
    tick_to_json,
    unpack_snapshot,
)
from streams.batch import Message
from streams.case_steps import CaseState
from streams.intake import AlertIntake
from streams.notify_format import summary, what_text

MIN = 60_000
T0 = 1_714_543_200_000  # 2024-05-01 06:00 UTC: a minute boundary
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")


# -- the rule -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "steps", "now_min", "expected"),
    [
        ("garbage", {"filed": 0}, 30, None),  # at the limit: not yet
        ("garbage", {"filed": 0}, 31, ("dispatched", 30, 1, "street")),
        ("garbage", {"filed": 0}, 61, ("dispatched", 30, 31, "district")),
        ("garbage", {"filed": 0}, 121, ("dispatched", 30, 91, "city")),
        ("manhole_cover", {"filed": 0}, 11, ("dispatched", 10, 1, "street")),  # tighter
        ("manhole_cover", {"filed": 0}, 41, ("dispatched", 10, 31, "city")),
        ("garbage", {"filed": 0, "dispatched": 40}, 71, ("accepted", 70, 1, "street")),
        # sent back: handling again within its limit from the send-back
        ("garbage", {"filed": 0, "dispatched": 5, "accepted": 6, "sent_back": 100}, 339,
         None),
        ("garbage", {"filed": 0, "dispatched": 5, "accepted": 6, "sent_back": 100}, 341,
         ("handled", 340, 1, "street")),
        # a step never recorded while a later one was: skipped, the next clock runs
        ("garbage", {"filed": 0, "accepted": 10}, 251, ("handled", 250, 1, "street")),
        ("garbage", {"filed": 0, "dispatched": 1, "accepted": 2, "handled": 3, "verified": 4,
                     "closed": 5, "evaluated": 6}, 10_000, None),
    ],
)  # fmt: skip
def test_the_rule_names_the_late_step_how_late_and_the_tier(
    category: str, steps: dict[str, int], now_min: int, expected: tuple[Any, ...] | None
) -> None:
    at = {status: minute * MIN for status, minute in steps.items()}
    late = overdue_step(category, at, now_min * MIN)
    if expected is None:
        assert late is None and escalation(category, at, now_min * MIN) == ""
        assert not is_overdue(category, at, now_min * MIN)
        return
    status, due_min, late_min, tier = expected
    assert late == Lateness(status, due_min * MIN, late.limit_min, late_min * MIN, tier)
    # the dashboard's judgements are the same rule
    assert escalation(category, at, now_min * MIN) == tier
    assert is_overdue(category, at, now_min * MIN)


# -- the engine -----------------------------------------------------------------------------
def move(status: str, minute: int, case_id: str = "CS-1", department: str = "") -> CaseMove:
    return CaseMove(case_id, "garbage", status, T0 + minute * MIN, WHERE, department)


def ticks(engine: AlertEngine, first: int, last: int) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for minute in range(first, last + 1):
        events += engine.tick(T0 + minute * MIN)
    return events


def seen(events: list[AlertEvent]) -> list[tuple[str, int, str, str]]:
    return [(e.kind, (e.ts_ms - T0) // MIN, e.tier, e.reason) for e in events]


def test_a_late_step_raises_escalates_with_lateness_and_clears_when_done() -> None:
    engine = AlertEngine()
    assert engine.case_moved(move("filed", 0)) == []
    events = ticks(engine, 1, 130)
    assert seen(events) == [
        ("raised", 31, "street", "case step dispatched overdue by 1 min"),
        ("escalated", 61, "district", "case step dispatched overdue by 31 min: to district"),
        ("escalated", 121, "city", "case step dispatched overdue by 91 min: to city"),
    ]
    raised = events[0]
    assert raised.category == Category.CASE and raised.level == WarningLevel.IV
    assert raised.notify and raised.incident_id == "" and raised.opened_ms == T0 + 30 * MIN
    assert raised.key == "CS-1:dispatched:case" and raised.location == WHERE
    assert raised.evidence == {
        "source_id": "CS-1", "metric": "case_overdue", "case_category": "garbage",
        "step": "dispatched", "due_ms": T0 + 30 * MIN, "limit_min": 30, "late_min": 1,
        "department": "",
    }  # fmt: skip
    assert events[2].evidence["late_min"] == 91 and all(e.notify for e in events)
    assert not engine.incidents  # a late case is not a situation in its area
    done = engine.case_moved(move("dispatched", 135, department="sanitation"))
    assert seen(done) == [("cleared", 135, "city", "case step dispatched done")]
    assert done[0].alert_id == raised.alert_id and not engine.active
    # the next step has its own clock, and its own alert, held by the department
    later = ticks(engine, 131, 166)
    assert seen(later) == [("raised", 166, "street", "case step accepted overdue by 1 min")]
    assert later[0].alert_id != raised.alert_id
    assert later[0].evidence["department"] == "sanitation"


def test_nothing_fires_twice_for_one_lateness_across_a_restart_or_a_resolve() -> None:
    engine = AlertEngine()
    engine.case_moved(move("filed", 0))
    assert [e.kind for e in ticks(engine, 1, 40)] == ["raised"]
    snap = orjson.loads(orjson.dumps(engine.snapshot()))  # as the table stores it
    restored = AlertEngine.restore(snap)
    assert ticks(restored, 41, 55) == []  # restored: still overdue, already alerted
    assert [e.kind for e in ticks(restored, 56, 61)] == ["escalated"]  # and it goes on
    alert_id = next(iter(restored.active.values())).alert_id
    restored.resolve(alert_id)  # an operator closed the alert: the case stays late
    assert ticks(restored, 62, 300) == []
    # a re-delivered old event of the case changes nothing
    assert restored.case_moved(move("filed", 0)) == []
    assert list(restored.cases) == ["CS-1"]


def test_a_redelivered_event_does_not_clear_and_an_evaluated_case_is_let_go() -> None:
    engine = AlertEngine()
    engine.case_moved(move("filed", 0))
    ticks(engine, 1, 35)
    assert engine.case_moved(move("filed", 0)) == []  # the step late is still not done
    assert len(engine.active) == 1
    for n, status in enumerate(("dispatched", "accepted", "handled", "verified", "closed")):
        engine.case_moved(move(status, 36 + n))
    assert not engine.active and list(engine.cases) == ["CS-1"]  # evaluation still to come
    engine.case_moved(move("evaluated", 50))
    assert not engine.cases and ticks(engine, 51, 3000) == []


def test_a_case_sent_back_and_late_again_is_a_new_alert() -> None:
    engine = AlertEngine()
    for status, minute in (("filed", 0), ("dispatched", 1), ("accepted", 2)):
        engine.case_moved(move(status, minute))
    first = ticks(engine, 3, 243)  # handling: 4 h from acceptance
    assert seen(first) == [("raised", 243, "street", "case step handled overdue by 1 min")]
    engine.case_moved(move("handled", 250))
    assert not engine.active
    back = engine.case_moved(move("sent_back", 260))
    assert back == []  # nothing was active to clear
    again = ticks(engine, 261, 501)
    assert seen(again) == [("raised", 501, "street", "case step handled overdue by 1 min")]
    assert again[0].alert_id != first[0].alert_id


def test_a_silence_mutes_a_late_case_and_it_catches_up_when_the_silence_ends() -> None:
    engine = AlertEngine()
    silence = Silence("sil-1", "district", "D1", T0, T0 + 90 * MIN, reason="drill")
    engine.silence(silence, T0)
    engine.case_moved(move("filed", 0))
    muted = ticks(engine, 1, 89)
    assert [(e.kind, e.notify, e.silence_id) for e in muted] == [("raised", False, "sil-1")]
    engine.drop_ended_silences(T0 + 90 * MIN)
    after = ticks(engine, 90, 91)
    assert [(e.kind, e.tier, e.notify) for e in after] == [
        ("unsilenced", "street", True), ("escalated", "district", True)]  # fmt: skip


def test_a_late_case_never_goes_stale_and_counts_for_no_stage() -> None:
    engine = AlertEngine()
    engine.case_moved(move("filed", 0))
    events = ticks(engine, 1, 600)  # far past the 2 h after which a silent sensor's clears
    assert "cleared" not in {e.kind for e in events} and len(engine.active) == 1
    case_alert = StagedAlert(WarningLevel.IV, Category.CASE, "case_overdue")
    assert area_stage([case_alert]).stage == 1


def test_a_tick_judges_a_case_only_when_its_judgement_can_change() -> None:
    """The wake time: the due time, then each escalation threshold, then never."""
    engine = AlertEngine()
    engine.case_moved(move("filed", 0))
    wakes = []
    for minute in (1, 31, 61, 121, 500):
        engine.tick(T0 + minute * MIN)
        wakes.append(engine.cases["CS-1"].wake_ms)
    assert wakes == [T0 + 30 * MIN, T0 + 60 * MIN, T0 + 120 * MIN, NEVER, NEVER]
    engine.case_moved(move("dispatched", 501))
    assert engine.cases["CS-1"].wake_ms == T0 + 531 * MIN  # the next step's due time


def test_the_watch_is_bounded_and_a_case_let_go_still_clears() -> None:
    engine = AlertEngine()
    engine.case_moved(move("filed", 0, case_id="CS-0"))
    assert [e.kind for e in ticks(engine, 1, 31)] == ["raised"]
    for n in range(1, MAX_WATCHED + 3):
        engine.case_moved(move("filed", 40, case_id=f"CS-{n}"))
    assert len(engine.cases) == MAX_WATCHED and "CS-0" not in engine.cases
    assert len(engine.active) == 1  # its alert stays: the case is still late
    done = engine.case_moved(move("dispatched", 45, case_id="CS-0"))
    assert seen(done) == [("cleared", 45, "street", "case step dispatched done")]


# -- the alerting stage: case events from the ingest stage, case actions from operators ----
def message(topic: str, offset: int, value: bytes) -> Message:
    return Message(topic, 0, offset, 0, b"city", value)


def report(status: str, minute: int) -> CaseReport:
    return CaseReport(str(uuid.uuid4()), T0 + minute * MIN, "CS-9", "garbage", status,
                      "HOTLINE", WHERE, 120.1, 30.2, "垃圾堆放", "")  # fmt: skip


def test_the_stage_learns_case_clocks_from_its_topics_and_a_case_action_clears() -> None:
    intake = AlertIntake("alerting", "actions")
    stage = AlertingStage()
    batch = [message("alerting", 0, case_to_json(report("filed", 0)))]
    batch += [message("alerting", i, tick_to_json(T0 + i * MIN)) for i in range(1, 32)]
    out, rejected, _ = intake.apply(stage, batch)
    assert rejected == [] and seen(out.events) == [
        ("raised", 31, "street", "case step dispatched overdue by 1 min")
    ]
    # a restart from the stored snapshot: the same messages again change nothing
    stage = AlertingStage.restore(unpack_snapshot("k", pack_snapshot("k", stage.snapshot())))
    assert intake.apply(stage, batch)[0].events == []
    dispatch = build_case_action(
        "dispatch", "CS-9", Actor("li", "district_operator", "D1"), now_ms=T0 + 40 * MIN,
        action_id=str(uuid.uuid4()), department="water",
    )  # fmt: skip
    cases = {"CS-9": CaseState("CS-9", "garbage", "filed", T0, "HOTLINE", WHERE, 120.1, 30.2)}
    out, rejected, _ = intake.apply(stage, [message("actions", 0, orjson.dumps(dispatch))], cases)
    assert rejected == [] and [s.action for s in out.case_steps] == ["dispatch"]
    assert seen(out.events) == [("cleared", 40, "street", "case step dispatched done")]
    assert out.actors[out.events[0].event_id] == ("li", "")
    assert stage.engine.cases["CS-9"].department == "water"


# -- the explanation ------------------------------------------------------------------------
LATE = {"source_id": "CS-20240501-0007", "metric": "case_overdue", "case_category": "garbage",
        "step": "dispatched", "due_ms": T0 + 30 * MIN, "limit_min": 30, "late_min": 72,
        "department": ""}  # fmt: skip
NAMES = {"en": {"D1": "Riverside", "D1-S1-G01": "Changhe grid 01"},
         "zh": {"D1": "滨江区", "D1-S1-G01": "长河街道第01网格"}}  # fmt: skip


def said(lang: str, **changes: Any) -> str:
    facts = Facts(Category.CASE, WHERE, "", T0 + 30 * MIN, {**LATE, **changes})
    return explain(facts, lang, NAMES[lang], UTC).text


def test_an_overdue_case_is_explained_in_both_languages_without_its_id() -> None:
    assert said("en") == (
        "Overdue case at Changhe grid 01, Riverside district: garbage case waiting to be "
        "dispatched, 1 h 12 min past its 30 min limit, not dispatched yet: the command center "
        "holds it. Since 2024-05-01 06:30 UTC. First action: Dispatch it now to the department "
        "that must act, or have the grid worker confirm it on the spot."
    )
    assert said("zh") == (
        "滨江区长河街道第01网格案件超时：垃圾堆放案件待派遣，超时1小时12分钟（时限30分钟），"
        "尚未派遣，由指挥中心负责。自2024-05-01 06:30 UTC起。"
        "首要处置：立即派遣至责任部门，或请网格员现场核实。"
    )
    held = said("en", step="handled", limit_min=240, late_min=5, department="sanitation")
    assert "waiting to be handled, 5 min past its 4 h limit, held by Sanitation." in held
    assert "由环卫承办" in said("zh", step="handled", department="sanitation")
    for lang in ("en", "zh"):
        assert "CS-20240501-0007" not in said(lang)


@pytest.mark.parametrize("odd", ["x", None, True, [1], {"a": 1}, -1, 10**30, float("inf")])
def test_an_overdue_case_with_odd_evidence_still_explains(odd: Any) -> None:
    for lang, first in (("en", "First action"), ("zh", "首要处置")):
        text = said(lang, step=odd, case_category=odd, late_min=odd, limit_min=odd,
                    department=odd)  # fmt: skip
        assert text and first in text


def test_the_notifier_says_an_overdue_case_in_both_languages() -> None:
    record = {"kind": "escalated", "ts": T0 + 61 * MIN, "alert_id": "a-1", "category": "case",
              "level": "IV", "tier": "district", "city": "CB", "district": "D1",
              "street": "D1-S1", "grid": "D1-S1-G01", "scope": "", "opened": T0 + 30 * MIN,
              "evidence": {**LATE, "late_min": 31},
              "places": {"D1": ["Riverside", "滨江区"]}}  # fmt: skip
    line = summary(record)
    assert "案件超时：垃圾堆放案件待派遣，超时31分钟（时限30分钟）" in line
    assert "Overdue case at grid cell D1-S1-G01, Riverside district: garbage case" in line
    assert what_text(record) == (
        "案件超时 case CS-20240501-0007 (garbage): dispatched 31 min past its 30 min limit"
    )
