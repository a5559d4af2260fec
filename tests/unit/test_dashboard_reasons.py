"""The worker's audit-trail reasons in Chinese: every reason the engine writes is known."""

from __future__ import annotations

import re

from dashboard.reasons import reason_text
from detectors.alerting.engine import AlertEngine, AlertPolicy
from detectors.alerting.types import AlertEvent, Decision
from detectors.contract.events import Location
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
    return events


def test_every_engine_reason_is_said_in_chinese() -> None:
    reasons = {e.reason for e in engine_events() if e.reason}
    assert any(r.startswith("unacknowledged") for r in reasons) and len(reasons) >= 12
    assert {"muted by a silence", "its silence ended"} <= reasons
    for reason in reasons:
        assert CJK.search(reason_text(reason, "zh")), reason
        assert not CJK.search(reason_text(reason, "en")), reason


def test_operator_actions_and_unknown_reasons() -> None:
    assert reason_text("assigned by li", "zh") == "li 指派"
    assert reason_text("by li", "zh") == "li 确认"
    assert reason_text("condition alert on water_level", "en") == "condition alert on water level"
    assert reason_text("condition alert on water_level", "zh") == "水位读数异常预警"
    assert reason_text("a reason from a newer worker", "zh") == "a reason from a newer worker"
