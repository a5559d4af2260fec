"""The operator-action contract (dashboard/actions.py), the one the worker mirrors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard.scope import Role
from dashboard.sender import encode
from detectors.contract.actions import (
    ACTIONS,
    ROLE_ACTIONS,
    ActionError,
    Actor,
    Target,
    allowed_actions,
    build_action,
    check_target,
    status_after,
    validate_action,
)

OPERATOR = Actor("li", "district_operator", "D2")


def _build(action: str, actor: Actor = OPERATOR, **fields: str) -> dict[str, Any]:
    return build_action(
        action, "alert-1", actor, now_ms=1_764_000_000_000, action_id="id-1", **fields
    )


def test_the_message_has_every_field_of_the_contract() -> None:
    message = _build("assign", assignee="wang", comment="  take it  ")
    assert message == {
        "action_id": "id-1",
        "schema_version": 1,
        "ts": 1_764_000_000_000,
        "action": "assign",
        "alert_id": "alert-1",
        "actor": "li",
        "role": "district_operator",
        "district": "D2",
        "comment": "take it",
        "assignee": "wang",
    }
    assert "assignee" not in _build("acknowledge")
    key, value = encode(message)
    assert key == b"alert-1" and json.loads(value) == message


def test_the_roles_are_the_dashboards_roles() -> None:
    assert set(ROLE_ACTIONS) == {r.value for r in Role}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("city_commander", ACTIONS),
        ("district_operator", ACTIONS),
        ("emergency_staff", ("acknowledge", "comment", "escalate", "resolve")),
        ("engineer", ("comment",)),
        ("wall_screen", ()),
        ("nobody", ()),
    ],
)
def test_each_role_may_take_its_actions_only(role: str, allowed: tuple[str, ...]) -> None:
    assert allowed_actions(role) == allowed
    actor = Actor("u", role, "")
    for action in ACTIONS:
        fields = {"assignee": "wang"} if action == "assign" else {}
        fields |= {"comment": "note"}
        if action in allowed:
            assert _build(action, actor, **fields)["action"] == action
        else:
            with pytest.raises(ActionError, match=f"may not {action} alerts"):
                _build(action, actor, **fields)


@pytest.mark.parametrize(
    ("action", "fields", "error"),
    [
        ("delete", {}, "unknown action 'delete'"),
        ("comment", {"comment": "   "}, "a comment needs text"),
        ("comment", {"comment": "x" * 2001}, "at most 2000 characters"),
        ("assign", {}, "assign needs an assignee"),
        ("assign", {"assignee": "bad name;"}, "assign needs an assignee"),
    ],
)
def test_bad_actions_are_refused_with_a_reason(
    action: str, fields: dict[str, str], error: str
) -> None:
    with pytest.raises(ActionError, match=error):
        _build(action, **fields)


def test_the_worker_side_check_refuses_malformed_messages() -> None:
    good = _build("resolve", comment="fixed")
    assert validate_action(good) == good
    for change, error in [
        ({"schema_version": 2}, "unsupported schema_version 2"),
        ({"alert_id": ""}, "alert_id is required"),
        ({"alert_id": "a b"}, "bad alert id"),
        ({"ts": "now"}, "ts must be epoch milliseconds"),
        ({"actor": None}, "actor is required"),
    ]:
        with pytest.raises(ActionError, match=error):
            validate_action({**good, **change})


def test_an_action_needs_a_live_alert_in_the_actors_district() -> None:
    ack = _build("acknowledge")
    with pytest.raises(ActionError, match="unknown alert alert-1 .*nothing sent"):
        check_target(ack, None)
    with pytest.raises(ActionError, match="in district D3, outside your scope"):
        check_target(ack, Target("alert-1", "active", "D3"))
    with pytest.raises(ActionError, match="already resolved: nothing sent"):
        check_target(_build("comment", comment="x"), Target("alert-1", "resolved", "D2"))
    with pytest.raises(ActionError, match="already acknowledged by zhao: nothing sent"):
        check_target(ack, Target("alert-1", "acknowledged", "D2", "zhao"))
    check_target(ack, Target("alert-1", "active", "D2"))
    check_target(_build("resolve"), Target("alert-1", "cleared", "D2"))
    city_wide = build_action(
        "acknowledge", "alert-1", Actor("w", "city_commander", ""), now_ms=1, action_id="x"
    )
    check_target(city_wide, Target("alert-1", "active", "D5"))


def test_the_status_an_action_leads_to() -> None:
    assert [status_after(a, "active") for a in ACTIONS] == [
        "acknowledged",
        "active",
        "active",
        "active",
        "resolved",
    ]
