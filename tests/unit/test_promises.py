"""The catalog-promise rule on hand-made timelines: when a breach becomes a data-quality
alert, to whom, and when it clears; and how the engine, stages, notifier routes and
explanations treat such an alert."""

from __future__ import annotations

import copy
import dataclasses

import orjson

from detectors.alerting.engine import AlertEngine
from detectors.alerting.explain import explain, facts_of
from detectors.alerting.promises import Lookup, PromiseWatch, quality_key
from detectors.alerting.stages import StagedAlert, counts
from detectors.alerting.types import Decision, decision_of
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.catalog import Promise
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location
from detectors.contract.silences import Silence
from streams.notify_config import parse_config, route

MIN = 60_000
T0 = 28_333_333 * MIN  # minute 0 of the timelines (a time 0 would read as "never seen")
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
PROMISE = Promise(freshness_s=300, completeness_pct=80.0, allowance_s=600)
FRESH_ONLY = Promise(freshness_s=300, completeness_pct=0.0, allowance_s=600)


def owned_by(department: str, promise: Promise = PROMISE) -> Lookup:
    return lambda family, source_id: (department, promise) if family == "water" else None


def run(
    watch: PromiseWatch, sends: dict[int, int], ticks: range, lookup: Lookup
) -> dict[int, list[Decision]]:
    """Feed ``sends`` (minute -> readings in it, spread over the minute) and judge at each
    minute tick in ``ticks``; the decisions per tick minute."""
    out: dict[int, list[Decision]] = {}
    for minute in ticks:
        for i in range(sends.get(minute - 1, 0)):
            watch.observe("WAT-1", "water", WHERE, 1.0, T0 + (minute - 1) * MIN + i * 1000)
        decided = watch.judge(T0 + minute * MIN, lookup)
        if decided:
            out[minute] = decided
    return out


def test_a_silent_source_alarms_once_its_breach_outlasts_the_allowance() -> None:
    # one reading a minute up to minute 9 (last at 9:00), then nothing
    sends = {m: 1 for m in range(10)}
    said = run(PromiseWatch(), sends, range(1, 40), owned_by("water", FRESH_ONLY))
    # stale from 9:00 + 5 min = 14:00; over the 10 min allowance at the first tick after 24:00
    assert min(said) == 25
    assert all(d.score >= 0.5 and d.category == "quality" for m in said for d in said[m])
    first = said[25][0]
    assert first.key == quality_key("WAT-1") and first.evidence()["department"] == "water"
    assert first.evidence()["breaches"] == "stale"
    assert first.evidence()["breach_since_ms"] == T0 + 14 * MIN


def test_a_silent_source_is_incomplete_before_it_is_stale() -> None:
    said = run(PromiseWatch(), {m: 1 for m in range(10)}, range(1, 40), owned_by("water"))
    # 7 of 10 expected over 3:00-13:00: the breach starts at 13:00, 11 min at 24:00
    assert min(said) == 24
    assert said[24][0].evidence()["breaches"] == "stale,incomplete"
    assert said[24][0].evidence()["breach_since_ms"] == T0 + 13 * MIN


def test_allowance_is_exclusive_on_the_minute() -> None:
    promise = Promise(freshness_s=120, completeness_pct=0.0, allowance_s=180)
    said = run(PromiseWatch(), {0: 1}, range(1, 10), owned_by("water", promise))
    # last at 0:00, stale from 2:00; at 5:00 it lasted exactly 180 s: not longer
    assert min(said) == 6


def test_kept_again_says_so_for_clear_after_ticks_then_nothing() -> None:
    sends = {m: 1 for m in range(10)} | {m: 1 for m in range(30, 60)}
    said = run(PromiseWatch(clear_after=3), sends, range(1, 60), owned_by("water", FRESH_ONLY))
    alarms = [m for m in said if said[m][0].score > 0]
    kept = [m for m in said if said[m][0].score == 0]
    assert alarms == list(range(25, 31))  # the reading of minute 30 is judged at 31
    assert kept == [31, 32, 33]
    assert said[31][0].evidence()["breaches"] == ""


def test_too_few_readings_over_the_window_is_a_breach_judged_after_a_whole_window() -> None:
    # 1 expected a minute, 70 % sent (7 in 10 minutes), never stale
    sends = {m: (1 if m % 10 < 7 else 0) for m in range(60)}
    said = run(PromiseWatch(window_min=10), sends, range(1, 60), owned_by("water"))
    first = min(said)
    evidence = said[first][0].evidence()
    assert evidence["breaches"] == "incomplete" and evidence["completeness"] == 0.7
    # the window is first whole at minute 10, incomplete from then on: over 10 min at 21
    assert first == 21


def test_no_entry_in_force_no_judgement_and_owner_changes_show_in_the_next_alert() -> None:
    watch = PromiseWatch()
    assert run(watch, {0: 1}, range(1, 30), lambda family, source_id: None) == {}
    said = run(watch, {}, range(30, 31), owned_by("municipal"))
    assert said[30][0].evidence()["department"] == "municipal"


def test_snapshot_and_restore_give_the_same_decisions() -> None:
    watch = PromiseWatch()
    run(watch, {m: 1 for m in range(10)}, range(1, 20), owned_by("water"))
    twin = PromiseWatch()
    twin.restore(orjson.loads(orjson.dumps(watch.snapshot())).items())
    assert watch.snapshot() == {}  # nothing changed since
    ahead = run(copy.deepcopy(watch), {}, range(20, 40), owned_by("water"))
    again = run(twin, {}, range(20, 40), owned_by("water"))
    assert ahead == again and ahead


def test_the_engine_raises_one_alert_alone_and_clears_it() -> None:
    said = run(PromiseWatch(), {m: 1 for m in range(10)} | {m: 1 for m in range(40, 50)},
               range(1, 50), owned_by("water", FRESH_ONLY))  # fmt: skip
    engine = AlertEngine()
    events = []
    for minute in sorted(said):
        wire = [decision_of(orjson.loads(orjson.dumps(dataclasses.asdict(d))))
                for d in said[minute]]  # fmt: skip
        events += engine.step(wire, T0 + minute * MIN)
    kinds = [e.kind for e in events]
    assert kinds == [AlertKind.RAISED, AlertKind.CLEARED]
    raised = events[0]
    assert raised.category == "quality" and raised.incident_id == "" and raised.notify
    assert raised.level == WarningLevel.IV and raised.evidence["department"] == "water"
    assert not engine.incidents
    assert not counts(StagedAlert(WarningLevel.I, Category.QUALITY, "data_quality"))


def test_a_department_webhook_takes_only_its_departments_alerts() -> None:
    config = parse_config({"webhooks": [
        {"name": "water", "url": "http://h/w", "departments": ["water"]},
        {"name": "all", "url": "http://h/a"},
    ]}, {})  # fmt: skip
    record = {"notify": True, "kind": "raised", "tier": "grid", "level": "IV",
              "district": "D1", "evidence": {"department": "water"}}  # fmt: skip
    assert [h.name for h in route(config, record)] == ["water", "all"]
    other = {**record, "evidence": {"department": "power"}}
    assert [h.name for h in route(config, other)] == ["all"]
    assert [h.name for h in route(config, {**record, "evidence": {}})] == ["all"]


def test_the_explanation_names_the_owning_department() -> None:
    sends = {m: 1 for m in range(10)}
    said = run(PromiseWatch(), sends, range(1, 26), owned_by("water", FRESH_ONLY))
    evidence = said[25][0].evidence()
    facts = facts_of("quality", WHERE, "", 25 * MIN, {**evidence, "value": 660.0})
    en, zh = explain(facts, "en"), explain(facts, "zh")
    assert "Water Affairs Bureau" in en.headline and "no data within 5 min" in en.headline
    assert "11 min" in en.headline and "10 min allowance" in en.headline
    assert "水务局" in zh.headline and "水务局" in zh.action


def test_a_silence_on_the_sensor_mutes_its_quality_alert() -> None:
    sends = {m: 1 for m in range(10)}
    said = run(PromiseWatch(), sends, range(1, 26), owned_by("water", FRESH_ONLY))
    engine = AlertEngine()
    maintenance = Silence("s1", "sensor", "WAT-1", T0, T0 + 60 * MIN, reason="pump works")
    engine.silence(maintenance, T0)
    [raised] = engine.step(said[25], T0 + 25 * MIN)
    assert raised.kind == AlertKind.RAISED and raised.silence_id == "s1" and not raised.notify
