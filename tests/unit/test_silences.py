"""Silences and maintenance windows: which alerts a silence covers, the action contract,
and the engine and worker stage with a silence in force (recorded, never notified, no
escalation, no stage) and after it ends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard.sender import encode
from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import AlertEvent, Decision
from detectors.contract.actions import (
    ActionError,
    Actor,
    allowed_silence_actions,
    build_action,
    build_silence_action,
    silence_of,
    validate_action,
)
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.places import Location
from detectors.contract.silences import Silence
from detectors.contract.tables import SILENCES
from streams.alert_rows import area_stages, event_rows, silence_rows, stage_rows
from streams.alerting import AlertingStage, StageOutput
from streams.notify_config import NotifyConfig, WebhookConfig, route

MIN = 60_000
HOUR = 60 * MIN
GRID = Location("CB", "D1", "D1-S2", "D1-S2-G03")
ELSEWHERE = Location("CB", "D2", "D2-S1", "D2-S1-G01")
COMMANDER = Actor("chen", "city_commander", "")
OPERATOR_D1 = Actor("li", "district_operator", "D1")


def silence(scope: str, value: str, start: int = 0, end: int = HOUR, **extra: Any) -> Silence:
    return Silence("s-1", scope, value, start, end, reason="works", author="li", **extra)


# -- matching ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "value"),
    [
        ("sensor", "WAT-0001"),
        ("cell", "D1-S2-G03"),
        ("street", "D1-S2"),
        ("district", "D1"),
        ("family", "water"),
        ("metric", "water_level"),
    ],
)
def test_each_scope_covers_its_alerts_and_not_others(scope: str, value: str) -> None:
    muting = silence(scope, value)
    assert muting.matches("WAT-0001", "water_level", GRID, 10)
    assert not muting.matches("ENV-0009", "pm25", ELSEWHERE, 10)


def test_the_window_includes_its_start_and_excludes_its_end() -> None:
    muting = silence("district", "D1", start=HOUR, end=2 * HOUR)
    at = [muting.matches("WAT-0001", "water_level", GRID, t) for t in (HOUR - 1, HOUR, 2 * HOUR)]
    assert at == [False, True, False]


def test_family_and_metric_filters_narrow_an_area_silence() -> None:
    water = silence("street", "D1-S2", family="water")
    assert water.matches("WAT-0001", "rainfall", GRID, 10)
    assert not water.matches("ENV-0001", "pm25", GRID, 10)
    level_only = silence("cell", "D1-S2-G03", metric="water_level")
    assert level_only.matches("WAT-0001", "water_level", GRID, 10)
    assert not level_only.matches("WAT-0001", "rainfall", GRID, 10)


def test_a_district_operators_silence_stays_in_their_district() -> None:
    mine = silence("family", "water", district="D1")
    assert mine.matches("WAT-0001", "water_level", GRID, 10)
    assert not mine.matches("WAT-0002", "water_level", ELSEWHERE, 10)


# -- the action contract ----------------------------------------------------------------
def create(actor: Actor, scope: str = "street", value: str = "D1-S2", **extra: Any) -> dict:
    window = Silence("s-1", scope, value, 1_000, 1_000 + HOUR, reason="pump works", **extra)
    return build_silence_action(
        "create_silence", "s-1", actor, now_ms=1_000, action_id="a-1", window=window
    )


def test_a_silence_action_round_trips_through_the_wire_and_the_worker_check() -> None:
    message = create(OPERATOR_D1, metric="water_level")
    key, value = encode(message)
    assert key == b"s-1"
    assert validate_action(json.loads(value)) == message
    made = silence_of(message)
    assert (made.scope, made.value, made.metric, made.district) == (
        "street", "D1-S2", "water_level", "D1"
    )  # fmt: skip
    assert (made.author, made.created_ms, made.reason) == ("li", 1_000, "pump works")
    assert silence_of(create(COMMANDER, "cell", "D2-S1-G01")).district == "D2"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("city_commander", ("create_silence", "expire_silence", "delete_silence")),
        ("district_operator", ("create_silence", "expire_silence", "delete_silence")),
        ("emergency_staff", ("create_silence", "expire_silence")),
        ("engineer", ()),
        ("wall_screen", ()),
    ],
)
def test_roles_may_take_their_silence_actions_only(role: str, allowed: tuple[str, ...]) -> None:
    assert allowed_silence_actions(role) == allowed
    actor = Actor("u", role, "")
    if "create_silence" not in allowed:
        with pytest.raises(ActionError, match=f"role {role} may not create silences"):
            create(actor)
    for action in ("expire_silence", "delete_silence"):
        if action in allowed:
            assert expire(actor, 5, action)["action"] == action
        else:
            with pytest.raises(ActionError, match="may not"):
                expire(actor, 5, action)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"scope": "planet"}, "scope must be one of"),
        ({"value": ""}, "needs the street"),
        ({"end_ms": 1_000}, "end after it starts"),
        ({"end_ms": 1_000 + 31 * 24 * HOUR}, "at most 30 days"),
        ({"reason": " "}, "needs a reason"),
        ({"metric": "mood"}, "unknown metric filter"),
        ({"value": "D2-S1"}, "outside your district D1"),
    ],
)
def test_a_bad_silence_is_refused_with_its_reason(change: dict, problem: str) -> None:
    message = {**create(OPERATOR_D1), **change}
    with pytest.raises(ActionError, match=problem):
        validate_action(message)


# -- the engine -------------------------------------------------------------------------
def decide(ts: int, score: float, where: Location = GRID, source: str = "WAT-0001") -> Decision:
    key = f"{source}:water_level:{Category.CONDITION}"
    return Decision(key, Category.CONDITION, source, "water_level", where, "static", score,
                    3.0, ts)  # fmt: skip


def kinds(events: list[AlertEvent]) -> list[str]:
    return [e.kind for e in events]


def test_a_silenced_alert_is_recorded_but_notifies_joins_and_escalates_nothing() -> None:
    engine = AlertEngine()
    engine.silence(silence("street", "D1-S2", end=4 * HOUR), now_ms=0)
    events = engine.step([decide(0, 0.78)], now_ms=0)
    assert kinds(events) == [AlertKind.RAISED]
    assert events[0].silence_id == "s-1" and events[0].notify is False
    assert not engine.incidents
    # two hours unacknowledged at level III would escalate an alert twice: not a muted one
    later = engine.step([decide(t * MIN, 0.78) for t in range(1, 120)], now_ms=2 * HOUR)
    assert later == []
    # a level change is recorded, muted
    rising = engine.step([decide(2 * HOUR + MIN, 0.99)], now_ms=2 * HOUR + MIN)
    assert kinds(rising) == [AlertKind.LEVEL_CHANGED] and not rising[0].notify


def test_when_the_silence_ends_the_alert_is_unmuted_and_behaves_as_any_other() -> None:
    engine = AlertEngine()
    engine.silence(silence("sensor", "WAT-0001", end=HOUR), now_ms=0)
    engine.step([decide(0, 0.78)], now_ms=0)
    events = engine.step([decide(HOUR, 0.78)], now_ms=HOUR)
    assert kinds(events)[:2] == [AlertKind.UNSILENCED, AlertKind.INCIDENT_OPENED]
    alert = next(iter(engine.active.values()))
    assert alert.silence_id == "" and alert.incident_id
    opened = events[1]
    assert opened.notify and opened.silence_id == ""
    assert engine.drop_ended_silences(HOUR) and not engine.silences


def test_a_silence_made_during_an_alert_mutes_it_and_takes_it_out_of_its_incident() -> None:
    engine = AlertEngine()
    engine.step([decide(0, 0.78)], now_ms=0)
    assert engine.incidents
    events = engine.silence(silence("district", "D1", start=MIN, end=HOUR), now_ms=MIN)
    assert kinds(events) == [AlertKind.SILENCED] and not events[0].notify
    assert next(iter(engine.active.values())).incident_id == ""
    unmuted = engine.unsilence("s-1", now_ms=2 * MIN)
    assert kinds(unmuted)[0] == AlertKind.UNSILENCED


def test_a_silence_that_starts_later_mutes_from_its_start() -> None:
    engine = AlertEngine()
    engine.silence(silence("metric", "water_level", start=HOUR, end=2 * HOUR), now_ms=0)
    raised = engine.step([decide(0, 0.78, source="WAT-0009")], now_ms=0)
    assert raised[0].silence_id == "" and AlertKind.INCIDENT_OPENED in kinds(raised)
    muted = engine.tick(HOUR)
    assert AlertKind.SILENCED in kinds(muted)


def test_silences_survive_a_snapshot() -> None:
    engine = AlertEngine()
    engine.silence(silence("family", "water", end=HOUR), now_ms=0)
    engine.step([decide(0, 0.78)], now_ms=0)
    again = AlertEngine.restore(json.loads(json.dumps(engine.snapshot())))
    assert again.silences == engine.silences
    assert next(iter(again.active.values())).silence_id == "s-1"


# -- the worker's stage -----------------------------------------------------------------
def act(stage: AlertingStage, message: dict) -> tuple[StageOutput, Any]:
    out = StageOutput()
    return out, stage.act(message, out)


def test_a_silenced_alert_changes_no_stage_and_notifies_no_webhook() -> None:
    stage = AlertingStage()
    made, refused = act(stage, create(COMMANDER, "cell", "D1-S2-G03"))
    assert refused is None
    raised = stage.engine.step([decide(2_000, 0.99)], now_ms=2_000)
    assert area_stages(stage) == {} and stage_rows(stage, 2_000) == []
    hook = WebhookConfig(name="all", url="http://127.0.0.1:1/hook")
    records = [e.record() for e in raised]
    assert records[0]["silence_id"] == "s-1"
    assert [route(NotifyConfig(webhooks=(hook,)), r) for r in records] == [[]]
    evidence = json.loads(event_rows(StageOutput(events=raised), 0)[0][-4])  # type: ignore[arg-type]
    assert evidence["silence_id"] == "s-1"
    # the silence ends: the alert counts again
    ended, _ = act(stage, expire(COMMANDER, now_ms=3_000))
    assert AlertKind.UNSILENCED in kinds(ended.events)
    assert area_stages(stage)["grid:D1-S2-G03"][0] == 5
    [row] = silence_rows(stage, ended)
    assert dict(zip(SILENCES.names, row, strict=True))["status"] == "expired"
    assert dict(zip(SILENCES.names, row, strict=True))["end_ms"] == 3_000


def expire(actor: Actor, now_ms: int, action: str = "expire_silence") -> dict:
    return build_silence_action(action, "s-1", actor, now_ms=now_ms, action_id=f"{action}-1")


def test_the_stage_writes_each_silence_change_and_refuses_what_cannot_be() -> None:
    stage = AlertingStage()
    made, _ = act(stage, create(OPERATOR_D1))
    row = dict(zip(SILENCES.names, silence_rows(stage, made)[0], strict=True))
    assert (row["status"], row["actor"], row["role"], row["district"]) == (
        "active", "li", "district_operator", "D1"
    )  # fmt: skip
    assert act(stage, create(OPERATOR_D1))[1].reason == "silence_exists"
    other = Actor("wang", "district_operator", "D2")
    assert act(stage, expire(other, 2_000))[1].reason == "not_permitted"
    deleted, refused = act(stage, expire(OPERATOR_D1, 2_000, "delete_silence"))
    assert refused is None and not stage.engine.silences
    assert dict(zip(SILENCES.names, silence_rows(stage, deleted)[0], strict=True))["status"] == (
        "deleted"
    )
    assert act(stage, expire(OPERATOR_D1, 3_000))[1].reason == "silence_ended"
    wall = {**expire(COMMANDER, 3_000), "role": "wall_screen"}
    assert act(stage, wall)[1].reason == "bad_action"


def test_a_silence_whose_end_passes_is_written_as_expired() -> None:
    stage = AlertingStage()
    act(stage, create(COMMANDER))
    out = StageOutput()
    stage.end_silences(1_000 + HOUR, out)
    [row] = silence_rows(stage, out)
    fields = dict(zip(SILENCES.names, row, strict=True))
    assert (fields["status"], fields["actor"]) == ("expired", "")


def test_an_operators_escalation_of_a_silenced_alert_is_recorded_but_not_notified() -> None:
    stage = AlertingStage()
    act(stage, create(COMMANDER, "cell", "D1-S2-G03"))
    [raised] = stage.engine.step([decide(2_000, 0.99)], now_ms=2_000)
    message = build_action("escalate", raised.alert_id, COMMANDER, now_ms=3_000, action_id="e-1")
    out, refused = act(stage, message)
    assert refused is None
    [escalated] = out.events
    assert (escalated.kind, escalated.notify, escalated.silence_id) == (
        AlertKind.ESCALATED, False, "s-1"
    )  # fmt: skip


def test_the_worker_stage_keeps_its_silences_across_a_restart() -> None:
    stage = AlertingStage()
    act(stage, create(OPERATOR_D1))
    again = AlertingStage.restore(json.loads(json.dumps(stage.snapshot())))
    assert list(again.engine.silences) == ["s-1"]
    assert act(again, create(OPERATOR_D1))[1].reason == "silence_exists"
    out, refused = act(again, expire(OPERATOR_D1, 2_000))
    assert refused is None and out.silences[0].status == "expired"
