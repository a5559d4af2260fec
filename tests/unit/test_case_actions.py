"""Case actions: the lifecycle (every allowed and refused transition), the message contract
(round trip, refusals, roles) and the worker's case step (applied in order, refused with a
reason, written as rows of the two case tables)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from dashboard.sender import encode
from detectors.contract.actions import (
    ROLE_ACTIONS,
    ActionError,
    Actor,
    allowed_case_actions,
    build_case_action,
    message_key,
    validate_action,
)
from detectors.contract.cases import (
    CASE_ACTIONS,
    DEPARTMENTS,
    possible_actions,
    refusal,
    status_after,
)
from detectors.contract.events import CASE_STEP_STATUSES, Location
from detectors.contract.tables import CASE_STEPS, CASES_RAW
from detectors.contract.validation import Invalid
from streams.alerting import AlertingStage
from streams.batch import Message
from streams.case_steps import CaseState, apply_case_action, cases_raw_rows, step_rows
from streams.intake import AlertIntake

OPERATOR = Actor("li", "district_operator", "D2")
T0 = 1_764_000_000_000

ALLOWED = {
    ("dispatch", "filed"): "dispatched",
    ("dispatch", "dispatched"): "dispatched",
    ("dispatch", "sent_back"): "dispatched",
    ("accept", "dispatched"): "accepted",
    ("handle", "accepted"): "handled",
    ("handle", "sent_back"): "handled",
    ("verify", "handled"): "verified",
    ("send_back", "handled"): "sent_back",
    ("close", "verified"): "closed",
    ("evaluate", "closed"): "evaluated",
}
"""Every transition the lifecycle allows; every other (action, status) pair is refused."""


@pytest.mark.parametrize("status", CASE_STEP_STATUSES)
@pytest.mark.parametrize("action", CASE_ACTIONS)
def test_every_transition_is_allowed_or_refused_as_the_table_says(action: str, status: str) -> None:
    assert status_after(action, status) == ALLOWED.get((action, status))
    if (action, status) not in ALLOWED:
        assert refusal(action, status).startswith(f"cannot {action.replace('_', ' ')} a case")


def test_the_actions_a_status_allows() -> None:
    assert possible_actions("filed") == ("dispatch",)
    assert possible_actions("handled") == ("verify", "send_back")
    assert possible_actions("sent_back") == ("dispatch", "handle")
    assert possible_actions("evaluated") == ()
    assert status_after("resolve", "filed") is None


def _case(action: str, actor: Actor = OPERATOR, **fields: Any) -> dict[str, Any]:
    return build_case_action(action, "CS-1", actor, now_ms=T0, action_id="id-1", **fields)


def test_the_message_round_trips_through_the_wire_and_the_workers_check() -> None:
    message = _case("dispatch", department="sanitation", comment="  清运  ")
    assert message == {
        "action_id": "id-1", "schema_version": 1, "ts": T0, "action": "dispatch",
        "case_id": "CS-1", "actor": "li", "role": "district_operator", "district": "D2",
        "comment": "清运", "department": "sanitation",
    }  # fmt: skip
    key, value = encode(message)
    assert key == b"CS-1" and message_key(message) == "CS-1"
    assert validate_action(json.loads(value)) == message
    evaluated = _case("evaluate", score=4)
    assert evaluated["score"] == 4 and "department" not in evaluated
    assert "score" not in _case("close") and "department" not in _case("accept")


@pytest.mark.parametrize(
    ("action", "fields", "says"),
    [
        ("dispatch", {}, "needs a department"),
        ("dispatch", {"department": "police"}, "needs a department"),
        ("evaluate", {}, "score from 1 to 5"),
        ("evaluate", {"score": 0}, "score from 1 to 5"),
        ("evaluate", {"score": 6}, "score from 1 to 5"),
        ("evaluate", {"score": True}, "score from 1 to 5"),
        ("send_back", {}, "needs a comment"),
        ("send_back", {"comment": "   "}, "needs a comment"),
        ("close", {"comment": "x" * 2001}, "at most 2000"),
        ("reopen", {}, "unknown case action"),
    ],
)
def test_a_bad_case_action_is_refused_with_its_reason(
    action: str, fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(ActionError, match=says):
        _case(action, **fields)


def test_the_worker_refuses_what_the_dashboard_would() -> None:
    message = _case("accept")
    for broken in ({"case_id": "bad id!"}, {"ts": 0}, {"schema_version": 2}, {"actor": ""}):
        with pytest.raises(ActionError):
            validate_action({**message, **broken})
    assert len(DEPARTMENTS) == 6 and all(len(names) == 2 for names in DEPARTMENTS.values())


@pytest.mark.parametrize("role", sorted(ROLE_ACTIONS))
def test_roles_may_take_only_their_case_actions(role: str) -> None:
    allowed = allowed_case_actions(role)
    if role in ("city_commander", "district_operator"):
        assert allowed == CASE_ACTIONS
    else:  # engineers and emergency staff do not run the case desk; walls never act
        assert allowed == ()
        with pytest.raises(ActionError, match=f"role {role} may not accept cases"):
            _case("accept", Actor("x", role, ""))


# -- the worker ------------------------------------------------------------------------
PLACE = Location("CB", "D2", "D2-S1", "D2-S1-G03")


def _state(status: str = "filed", ts_ms: int = T0) -> CaseState:
    return CaseState("CS-1", "garbage", status, ts_ms, "HOTLINE", PLACE, 120.1, 30.2)


def _msg(offset: int, action: str, actor: Actor = OPERATOR, **fields: Any) -> Message:
    doc = build_case_action(action, "CS-1", actor, now_ms=T0 + offset, action_id=f"a-{offset}",
                            **fields)  # fmt: skip
    return Message("cb.alert-actions", 0, offset, T0, b"CS-1", orjson.dumps(doc))


def test_a_batch_of_case_actions_is_applied_in_order_with_refusals() -> None:
    intake = AlertIntake("cb.alerting", "cb.alert-actions")
    stage = AlertingStage()
    batch = [
        _msg(1, "dispatch", department="sanitation"),
        _msg(2, "close"),  # before verification: refused
        _msg(3, "accept"),
        _msg(4, "handle", comment="清运完毕"),
        _msg(5, "send_back", comment="仍有垃圾"),
        _msg(6, "handle"),
        _msg(7, "verify"),
        _msg(8, "close"),
        _msg(9, "evaluate", score=5),
        _msg(10, "evaluate", score=3),  # evaluated already: refused
    ]
    assert intake.case_ids(stage, batch) == {"CS-1"}
    cases = {"CS-1": _state()}
    out, rejected, _ = intake.apply(stage, batch, cases)
    steps = [(s.action, s.previous, s.case.status) for s in out.case_steps]
    assert steps == [
        ("dispatch", "filed", "dispatched"), ("accept", "dispatched", "accepted"),
        ("handle", "accepted", "handled"), ("send_back", "handled", "sent_back"),
        ("handle", "sent_back", "handled"), ("verify", "handled", "verified"),
        ("close", "verified", "closed"), ("evaluate", "closed", "evaluated"),
    ]  # fmt: skip
    assert [(m.offset, inv.reason) for m, inv in rejected] == [
        (2, "case_state"),
        (10, "case_state"),
    ]
    assert "cannot close a case that is dispatched" in rejected[0][1].detail
    assert cases["CS-1"].status == "evaluated" and out.events == []
    assert out.case_steps[0].department == "sanitation" and out.case_steps[-1].score == 5
    dead = intake.dead_rows(rejected, "w")
    assert {row[4] for row in dead} == {"case_action"}
    # re-delivered (offsets already applied): nothing happens twice
    again, rejected_again, _ = intake.apply(stage, batch, cases)
    assert again.case_steps == [] and rejected_again == []
    assert intake.case_ids(stage, batch) == set()


def test_unknown_cases_foreign_districts_and_bad_messages_are_refused() -> None:
    assert apply_case_action(_case("accept"), {}) == Invalid("unknown_case", "no case 'CS-1'")
    foreign = build_case_action("accept", "CS-1", Actor("wu", "district_operator", "D1"),
                                now_ms=T0, action_id="x")  # fmt: skip
    refused = apply_case_action(foreign, {"CS-1": _state("dispatched")})
    assert isinstance(refused, Invalid) and refused.reason == "not_permitted"
    bad = apply_case_action({**_case("accept"), "role": "wall_screen"}, {"CS-1": _state()})
    assert isinstance(bad, Invalid) and bad.reason == "bad_action"
    commander = build_case_action("accept", "CS-1", Actor("zhao", "city_commander", ""),
                                  now_ms=T0, action_id="y")  # fmt: skip
    assert not isinstance(apply_case_action(commander, {"CS-1": _state("dispatched")}), Invalid)


def test_steps_never_sort_before_the_step_they_follow_and_rows_fit_their_tables() -> None:
    cases = {"CS-1": _state("filed", T0 + 60_000)}  # filed after the operator's clock says
    step = apply_case_action(_case("dispatch", department="water"), cases)
    assert not isinstance(step, Invalid)
    assert step.case.ts_ms == T0 + 60_001 and cases["CS-1"].ts_ms == T0 + 60_001
    again = apply_case_action(_case("dispatch", department="water"), {"CS-1": _state()})
    assert not isinstance(again, Invalid) and again.event_id == step.event_id  # idempotent id
    [raw] = cases_raw_rows([step], 5)
    [audit] = step_rows([step])
    assert len(raw) == len(CASES_RAW.names) and len(audit) == len(CASE_STEPS.names)
    assert dict(zip(CASES_RAW.names, raw, strict=True))["status"] == "dispatched"
    named = dict(zip(CASE_STEPS.names, audit, strict=True))
    assert (named["actor"], named["role"], named["department"], named["previous"]) == (
        "li", "district_operator", "water", "filed",
    )  # fmt: skip
