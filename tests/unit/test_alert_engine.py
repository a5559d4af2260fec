"""The alert engine: no repeats, hysteresis, grouping, inhibition, escalation, stable ids."""

from __future__ import annotations

import json

from detectors.alerting.engine import AlertEngine, AlertPolicy
from detectors.alerting.types import AlertEvent, Decision
from detectors.contract.alerts import Category
from detectors.contract.events import Location
from detectors.contract.levels import WarningLevel

MIN = 60_000
STREET_A = Location("CB", "D1", "D1-S1", "D1-S1-G01")
STREET_A2 = Location("CB", "D1", "D1-S1", "D1-S1-G02")
STREET_B = Location("CB", "D1", "D1-S2", "D1-S2-G01")
OTHER_DISTRICT = Location("CB", "D2", "D2-S1", "D2-S1-G01")


def decide(ts: int, score: float, source: str = "S1", where: Location = STREET_A,
           metric: str = "pm25", category: str = Category.CONDITION) -> Decision:  # fmt: skip
    return Decision(
        f"{source}:{metric}:{category}", category, source, metric, where, "static",
        score, 100.0, ts, threshold=75.0, forecast_ts_ms=None, expected=40.0,
    )  # fmt: skip


def kinds(events: list[AlertEvent]) -> list[str]:
    return [e.kind for e in events]


def test_one_active_alert_per_key_and_no_repeats() -> None:
    engine = AlertEngine()
    events = []
    for minute in range(30):
        events += engine.step([decide(minute * MIN, 0.6)], now_ms=minute * MIN)
    assert kinds(events).count("raised") == 1
    assert len(engine.active) == 1


def test_clears_only_after_n_readings_below_the_lower_threshold() -> None:
    engine = AlertEngine(AlertPolicy(clear_after=3))
    engine.step([decide(0, 0.6)], now_ms=0)
    # between clear_below (0.35) and raise (0.5): stays active
    assert engine.step([decide(t * MIN, 0.45) for t in range(1, 10)], now_ms=9 * MIN) == []
    # two lows then a high: still active
    assert (
        engine.step(
            [decide(10 * MIN, 0.1), decide(11 * MIN, 0.1), decide(12 * MIN, 0.6)], now_ms=12 * MIN
        )
        == []
    )
    events = engine.step([decide(t * MIN, 0.1) for t in (13, 14, 15)], now_ms=15 * MIN)
    assert "cleared" in kinds(events)
    assert not engine.active
    # and a new episode is a new alert with a new id
    again = engine.step([decide(20 * MIN, 0.6)], now_ms=20 * MIN)
    first = next(e for e in events if e.kind == "cleared")
    assert again[0].kind == "raised" and again[0].alert_id != first.alert_id


def test_level_rises_at_once_and_falls_only_after_lower_readings() -> None:
    engine = AlertEngine(AlertPolicy(lower_after=3))
    engine.step([decide(0, 0.6)], now_ms=0)
    up = engine.step([decide(MIN, 0.9)], now_ms=MIN)
    assert [(e.kind, e.level) for e in up if e.alert_id] == [("level_changed", WarningLevel.II)]
    assert engine.step([decide(2 * MIN, 0.6), decide(3 * MIN, 0.6)], now_ms=3 * MIN) == []
    down = engine.step([decide(4 * MIN, 0.6)], now_ms=4 * MIN)
    assert [e.level for e in down if e.kind == "level_changed"] == [WarningLevel.IV]


def test_related_alerts_group_into_one_incident_per_area_and_time() -> None:
    engine = AlertEngine()
    events = engine.step(
        [decide(0, 0.6, "S1"), decide(MIN, 0.6, "S2", STREET_A2, "no2")], now_ms=MIN
    )
    assert kinds(events).count("incident_opened") == 1
    assert len({e.incident_id for e in events}) == 1
    elsewhere = engine.step([decide(2 * MIN, 0.6, "S9", OTHER_DISTRICT)], now_ms=2 * MIN)
    assert kinds(elsewhere).count("incident_opened") == 1
    assert len(engine.incidents) == 2
    later = engine.step([decide(5 * 60 * MIN, 0.6, "S3", STREET_A)], now_ms=5 * 60 * MIN)
    assert "incident_opened" in kinds(later)  # long after: a new incident


def test_same_metric_in_another_street_widens_the_incident_and_escalates_by_spread() -> None:
    engine = AlertEngine()
    engine.step([decide(0, 0.6, "S1")], now_ms=0)
    events = engine.step([decide(MIN, 0.6, "S2", STREET_B)], now_ms=MIN)
    widened = [e for e in events if e.kind == "incident_widened"]
    assert widened and widened[0].scope == "district"
    escalated = [e for e in events if e.kind == "incident_escalated"]
    assert escalated and escalated[-1].tier == "district" and "spread" in escalated[-1].reason


def test_a_parent_incident_inhibits_its_childrens_notifications() -> None:
    engine = AlertEngine()
    events = engine.step([decide(0, 0.6, "S1"), decide(MIN, 0.9, "S2", STREET_A2)], now_ms=MIN)
    for event in events:
        if event.category == "incident":
            assert event.notify, event.kind
        else:
            assert not event.notify, event.kind


def test_sensor_faults_stand_alone_and_never_make_an_incident() -> None:
    engine = AlertEngine()
    events = engine.step([decide(0, 0.6, category=Category.FAULT)], now_ms=0)
    assert kinds(events) == ["raised"]
    assert events[0].notify and events[0].incident_id == ""
    assert not engine.incidents


def test_area_alerts_join_the_incident_of_their_area() -> None:
    engine = AlertEngine()
    events = engine.step(
        [decide(0, 0.6, "S1"), decide(MIN, 0.6, "D1-S1", category=Category.AREA)], now_ms=MIN
    )
    assert len({e.incident_id for e in events}) == 1


def test_escalation_by_level() -> None:
    engine = AlertEngine()
    events = engine.step([decide(0, 0.97)], now_ms=0)
    opened = next(e for e in events if e.kind == "incident_opened")
    assert opened.level is WarningLevel.I and opened.tier == "city"


def test_escalation_by_time_unacknowledged_and_acknowledging_stops_it() -> None:
    engine = AlertEngine()
    events = engine.step([decide(0, 0.6)], now_ms=0)
    incident = next(e for e in events if e.kind == "incident_opened")
    assert incident.tier == "grid"
    keep_alive = [decide(t * MIN, 0.6) for t in range(1, 31)]
    later = engine.step(keep_alive, now_ms=30 * MIN)
    escalations = [e for e in later if e.kind == "incident_escalated"]
    assert [e.tier for e in escalations] == ["street"] and "unacknowledged" in escalations[0].reason
    acked = engine.acknowledge(incident.incident_id, 31 * MIN, by="duty officer")
    assert kinds(acked) == ["acknowledged"]
    quiet = engine.step([decide(t * MIN, 0.6) for t in range(32, 120)], now_ms=120 * MIN)
    assert "incident_escalated" not in kinds(quiet)


def test_standalone_fault_alerts_escalate_by_time_too() -> None:
    engine = AlertEngine()
    engine.step([decide(0, 0.6, category=Category.FAULT)], now_ms=0)
    events = engine.step(
        [decide(t * MIN, 0.6, category=Category.FAULT) for t in range(1, 31)], now_ms=30 * MIN
    )
    assert [e.tier for e in events if e.kind == "escalated"] == ["street"]


def test_quiet_incidents_close_and_stale_alerts_clear() -> None:
    engine = AlertEngine(AlertPolicy(gap_ms=30 * MIN, stale_ms=60 * MIN))
    engine.step([decide(0, 0.6)], now_ms=0)
    assert "cleared" not in kinds(engine.tick(59 * MIN))
    events = engine.tick(61 * MIN)  # stale: nothing heard for an hour
    assert kinds(events)[0] == "cleared" and "stale" in events[0].reason
    # quiet since minute 0, longer than the gap: the incident closes with it
    assert kinds(events)[-1] == "incident_closed" and not engine.incidents


def test_every_event_carries_its_evidence_and_is_plain_data() -> None:
    engine = AlertEngine()
    decision = Decision(
        "S1:load:condition", Category.CONDITION, "S1", "load", STREET_A, "forecast", 0.62, 92.0, 0,
        threshold=100.0, forecast_ts_ms=40 * MIN, expected=None,
    )  # fmt: skip
    events = engine.step([decision], now_ms=0)
    raised = events[0].record()
    assert raised["evidence"]["detector"] == "forecast"
    assert raised["evidence"]["forecast_ts_ms"] == 40 * MIN
    assert raised["evidence"]["threshold"] == 100.0 and raised["evidence"]["value"] == 92.0
    assert raised["level"] == "IV" and raised["colour"] == "blue"
    json.dumps([e.record() for e in events])


def _scripted() -> list[list[Decision]]:
    batches = []
    for minute in range(120):
        score = 0.9 if 10 <= minute < 40 else 0.6 if 40 <= minute < 60 else 0.1
        batch = [
            decide(minute * MIN, score, "S1"),
            decide(minute * MIN, score * 0.9, "S2", STREET_B),
        ]
        batches.append(batch)
    return batches


def test_ids_are_stable_and_snapshot_restore_replays_identically() -> None:
    def play(engine: AlertEngine, batches: list[list[Decision]], start: int) -> list[dict]:
        out = []
        for i, batch in enumerate(batches):
            out += [e.record() for e in engine.step(batch, now_ms=(start + i) * MIN)]
        return out

    batches = _scripted()
    assert play(AlertEngine(), batches, 0) == play(AlertEngine(), batches, 0)
    engine = AlertEngine()
    play(engine, batches[:50], 0)
    twin = AlertEngine.restore(json.loads(json.dumps(engine.snapshot())))
    assert play(twin, batches[50:], 50) == play(engine, batches[50:], 50)
