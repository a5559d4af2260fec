"""Operator actions on alerts, as the messages the command center sends to Kafka.

The command center never writes operational tables: an action is a JSON message on
``infra.topics.alert_actions_topic(prefix)``, keyed by the alert id, that the worker applies
(one write path, so every alert's audit trail is complete). This module is the contract:
plain Python that imports only the alert vocabulary, so the worker can mirror it.

Message (schema_version 1)::

    {"action_id": "<uuid4>", "schema_version": 1, "ts": <epoch ms>,
     "action": "acknowledge" | "assign" | "comment" | "escalate" | "resolve",
     "alert_id": "<id>", "actor": "<username>", "role": "<role>",
     "district": "<the actor's district, '' for the whole city>",
     "assignee": "<username>",          # assign only
     "comment": "<text>"}               # required for comment; optional otherwise

Silences (:mod:`detectors.contract.silences`) travel the same way, keyed by the silence id,
with ``silence_id`` in place of ``alert_id``::

    {..., "action": "create_silence" | "expire_silence" | "delete_silence",
     "silence_id": "<id>", "actor", "role", "district", "comment",
     "scope": "sensor" | "cell" | "street" | "district" | "family" | "metric",  # create only
     "value": "<what the scope names>", "family": "", "metric": "",          # create only
     "start_ms": <epoch ms>, "end_ms": <epoch ms>, "reason": "<text>"}       # create only

Case actions (:mod:`detectors.contract.cases`) too, keyed by the case id, with ``case_id``::

    {..., "action": "dispatch" | "accept" | "handle" | "verify" | "send_back" | "close"
                    | "evaluate",
     "case_id": "<id>", "actor", "role", "district", "comment",  # send_back: comment required
     "department": "<code of DEPARTMENTS>",                       # dispatch only
     "score": 1..5}                                               # evaluate only

>>> actor = Actor("li", "district_operator", "D2")
>>> msg = build_action("assign", "a-1", actor, assignee="wang", now_ms=5, action_id="x")
>>> msg["action"], msg["assignee"], msg["district"]
('assign', 'wang', 'D2')
>>> build_action("resolve", "a-1", Actor("tv", "wall_screen", ""), now_ms=5, action_id="x")
Traceback (most recent call last):
...
detectors.contract.actions.ActionError: role wall_screen may not resolve alerts
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detectors.contract.alerts import AlertStatus
from detectors.contract.cases import CASE_ACTIONS, DEPARTMENTS, SCORES
from detectors.contract.events import METRICS
from detectors.contract.silences import (
    MAX_SILENCE_MS,
    Silence,
    SilenceScope,
    district_of_scope,
)

SCHEMA_VERSION = 1
ACTIONS: tuple[str, ...] = ("acknowledge", "assign", "comment", "escalate", "resolve")
SILENCE_ACTIONS: tuple[str, ...] = ("create_silence", "expire_silence", "delete_silence")
"""Actions on silences rather than alerts: they carry a ``silence_id``."""

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    # The command centers run the grid-management desk: they dispatch, verify, close and
    # record the evaluation, and enter what a department reports (accepted, handled).
    "city_commander": frozenset(ACTIONS + SILENCE_ACTIONS + CASE_ACTIONS),
    "district_operator": frozenset(ACTIONS + SILENCE_ACTIONS + CASE_ACTIONS),
    # Emergency staff take and work alerts; dispatching them to others is a command task.
    # They may mute a known maintenance and end a silence, not withdraw one from the record.
    "emergency_staff": frozenset(
        {"acknowledge", "comment", "escalate", "resolve", "create_silence", "expire_silence"}
    ),
    "engineer": frozenset({"comment"}),
    "wall_screen": frozenset(),
}
"""Which role may do what."""

MAX_COMMENT = 2000
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_ALERT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
_STATUS_AFTER = {"acknowledge": AlertStatus.ACKNOWLEDGED, "resolve": AlertStatus.RESOLVED}


class ActionError(ValueError):
    """An action that must not be sent; the message tells the operator why."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: their username, role and district ('' = the whole city)."""

    username: str
    role: str
    district: str


@dataclass(frozen=True, slots=True)
class Target:
    """What the dashboard knows of an alert before acting on it (alerts_current, FINAL)."""

    alert_id: str
    status: str
    district: str
    acknowledged_by: str = ""


def allowed_actions(role: str) -> tuple[str, ...]:
    """The actions a role may take, in display order."""
    permitted = ROLE_ACTIONS.get(role, frozenset())
    return tuple(a for a in ACTIONS if a in permitted)


def allowed_silence_actions(role: str) -> tuple[str, ...]:
    """The silence actions a role may take, in display order."""
    permitted = ROLE_ACTIONS.get(role, frozenset())
    return tuple(a for a in SILENCE_ACTIONS if a in permitted)


def build_action(
    action: str,
    alert_id: str,
    actor: Actor,
    *,
    assignee: str = "",
    comment: str = "",
    now_ms: int,
    action_id: str,
) -> dict[str, Any]:
    """The message for ``action``, or ActionError saying what is wrong with it."""
    message: dict[str, Any] = {
        "action_id": action_id,
        "schema_version": SCHEMA_VERSION,
        "ts": int(now_ms),
        "action": action,
        "alert_id": (alert_id or "").strip(),
        "actor": actor.username,
        "role": actor.role,
        "district": actor.district,
        "comment": (comment or "").strip(),
    }
    if action == "assign":
        message["assignee"] = (assignee or "").strip()
    return validate_action(message)


def validate_action(message: Mapping[str, Any]) -> dict[str, Any]:
    """Check a message as the worker must before applying it; returns a clean copy."""
    action = message.get("action")
    if action in SILENCE_ACTIONS:
        return validate_silence_action(message)
    if action in CASE_ACTIONS:
        return validate_case_action(message)
    if action not in ACTIONS:
        known = ", ".join(ACTIONS + SILENCE_ACTIONS + CASE_ACTIONS)
        raise ActionError(f"unknown action {action!r} (one of {known})")
    _check_envelope(message, "alert", _ALERT_ID)
    if action not in ROLE_ACTIONS.get(message["role"], frozenset()):
        raise ActionError(f"role {message['role']} may not {action} alerts")
    _check_texts(message)
    clean = _clean(message, "alert", str(message.get("comment") or ""))
    if action == "assign":
        clean["assignee"] = message["assignee"]
    return clean


def _check_envelope(message: Mapping[str, Any], target: str, pattern: re.Pattern[str]) -> None:
    """What every action carries, whatever it acts on: the schema version, who sent it
    (action id, actor, role), the id of its ``target`` (alert, silence or case) matching
    ``pattern``, and its time."""
    if message.get("schema_version") != SCHEMA_VERSION:
        raise ActionError(f"unsupported schema_version {message.get('schema_version')!r}")
    for name in ("action_id", f"{target}_id", "actor", "role"):
        if not isinstance(message.get(name), str) or not message[name]:
            raise ActionError(f"{name} is required")
    if not pattern.match(message[f"{target}_id"]):
        raise ActionError(f"bad {target} id {message[f'{target}_id'][:80]!r}")
    ts = message.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
        raise ActionError("ts must be epoch milliseconds")


def _comment(message: Mapping[str, Any]) -> str:
    """The action's comment ('' when none), checked to be text of a bounded length."""
    comment = message.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ActionError(f"a comment is text of at most {MAX_COMMENT} characters")
    return comment


def _clean(message: Mapping[str, Any], target: str, comment: str) -> dict[str, Any]:
    """The fields every checked action keeps, with its district and comment."""
    keep = ("action_id", "schema_version", "ts", "action", f"{target}_id", "actor", "role")
    clean = {k: message[k] for k in keep}
    clean["district"] = str(message.get("district") or "")
    clean["comment"] = comment
    return clean


def _check_texts(message: Mapping[str, Any]) -> None:
    comment = _comment(message)
    if message["action"] == "comment" and not comment.strip():
        raise ActionError("a comment needs text")
    if message["action"] == "assign":
        assignee = message.get("assignee")
        if not isinstance(assignee, str) or not _NAME.match(assignee):
            raise ActionError("assign needs an assignee (a username: letters, digits, ._@-)")


def check_target(message: Mapping[str, Any], target: Target | None) -> None:
    """Refuse an action on an alert that is unknown, outside the actor's district,
    already resolved, or (for acknowledge) already acknowledged."""
    alert_id = message["alert_id"]
    if target is None:
        raise ActionError(f"unknown alert {alert_id} (or not in your scope): nothing sent")
    district = message.get("district") or ""
    if district and target.district != district:
        raise ActionError(
            f"alert {alert_id} is in district {target.district}, outside your scope "
            f"(district {district}): nothing sent"
        )
    if target.status == AlertStatus.RESOLVED:
        raise ActionError(f"alert {alert_id} is already resolved: nothing sent")
    if message["action"] == "acknowledge" and target.status == AlertStatus.ACKNOWLEDGED:
        by = f" by {target.acknowledged_by}" if target.acknowledged_by else ""
        raise ActionError(f"alert {alert_id} is already acknowledged{by}: nothing sent")


def status_after(action: str, status: str) -> str:
    """The alert's status once the worker applied ``action`` (acknowledge and resolve
    change it; assign, comment and escalate keep it)."""
    return _STATUS_AFTER.get(action, status)


# -- silences ---------------------------------------------------------------------------
MAX_REASON = 500
_SILENCE_ID = _ALERT_ID
_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def build_silence_action(
    action: str,
    silence_id: str,
    actor: Actor,
    *,
    now_ms: int,
    action_id: str,
    window: Silence | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """The message for a silence action (``window``: what to create, for create_silence),
    or ActionError saying what is wrong with it."""
    message: dict[str, Any] = {
        "action_id": action_id, "schema_version": SCHEMA_VERSION, "ts": int(now_ms),
        "action": action, "silence_id": (silence_id or "").strip(), "actor": actor.username,
        "role": actor.role, "district": actor.district, "comment": (comment or "").strip(),
    }  # fmt: skip
    if action == "create_silence":
        if window is None:
            raise ActionError("a silence needs its scope, window and reason")
        message |= {
            "scope": window.scope, "value": window.value.strip(), "family": window.family,
            "metric": window.metric, "start_ms": int(window.start_ms),
            "end_ms": int(window.end_ms), "reason": window.reason.strip(),
        }  # fmt: skip
    return validate_silence_action(message)


def validate_silence_action(message: Mapping[str, Any]) -> dict[str, Any]:
    """Check a silence action as the worker must before applying it; a clean copy."""
    action = message.get("action")
    if action not in SILENCE_ACTIONS:
        raise ActionError(f"unknown silence action {action!r}")
    _check_envelope(message, "silence", _SILENCE_ID)
    if action not in ROLE_ACTIONS.get(message["role"], frozenset()):
        raise ActionError(f"role {message['role']} may not {action.replace('_', ' ')}s")
    clean = _clean(message, "silence", _comment(message))
    if action == "create_silence":
        clean |= _check_window(message, clean["district"])
    return clean


def _check_window(message: Mapping[str, Any], district: str) -> dict[str, Any]:
    scope, value = message.get("scope"), message.get("value")
    if scope not in tuple(SilenceScope):
        raise ActionError(f"scope must be one of {', '.join(SilenceScope)}")
    if not isinstance(value, str) or not _VALUE.match(value):
        raise ActionError(f"a {scope} silence needs the {scope} it covers (a code or name)")
    window = {"scope": scope, "value": value, **_filters(message, scope, value)}
    start, end = message.get("start_ms"), message.get("end_ms")
    if not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in (start, end)):
        raise ActionError("start_ms and end_ms must be epoch milliseconds")
    assert isinstance(start, int) and isinstance(end, int)
    if end <= start or end <= message["ts"]:
        raise ActionError("a silence must end after it starts, and in the future")
    if end - start > MAX_SILENCE_MS:
        raise ActionError(f"a silence lasts at most {MAX_SILENCE_MS // 86_400_000} days")
    reason = message.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise ActionError(f"a silence needs a reason (at most {MAX_REASON} characters)")
    area_district = district_of_scope(scope, value)
    if district and area_district and area_district != district:
        raise ActionError(f"{scope} {value} is outside your district {district}")
    return window | {"start_ms": start, "end_ms": end, "reason": reason.strip()}


def _filters(message: Mapping[str, Any], scope: str, value: str) -> dict[str, str]:
    family, metric = message.get("family") or "", message.get("metric") or ""
    families = {m.family.value for m in METRICS.values()}
    if scope == SilenceScope.FAMILY and value not in families:
        raise ActionError(f"unknown family {value!r} (one of {', '.join(sorted(families))})")
    if scope == SilenceScope.METRIC and value not in METRICS:
        raise ActionError(f"unknown metric {value!r}")
    if family and family not in families:
        raise ActionError(f"unknown family filter {family!r}")
    if metric and metric not in METRICS:
        raise ActionError(f"unknown metric filter {metric!r}")
    return {"family": str(family), "metric": str(metric)}


def silence_of(message: Mapping[str, Any]) -> Silence:
    """The silence a validated create_silence message makes: confined to the actor's
    district when they have one, and carrying the district of the area it covers."""
    district = message.get("district") or district_of_scope(message["scope"], message["value"])
    return Silence(
        silence_id=message["silence_id"], scope=message["scope"], value=message["value"],
        start_ms=message["start_ms"], end_ms=message["end_ms"], family=message["family"],
        metric=message["metric"], district=district,
        reason=message["reason"], author=message["actor"], created_ms=message["ts"],
    )  # fmt: skip


def message_key(message: Mapping[str, Any]) -> str:
    """What an action message is keyed by on Kafka: its alert, silence or case."""
    return str(message.get("alert_id") or message.get("silence_id") or message.get("case_id") or "")


# -- cases ------------------------------------------------------------------------------
_CASE_ID = _ALERT_ID


def allowed_case_actions(role: str) -> tuple[str, ...]:
    """The case actions a role may take, in lifecycle order."""
    permitted = ROLE_ACTIONS.get(role, frozenset())
    return tuple(a for a in CASE_ACTIONS if a in permitted)


def build_case_action(
    action: str,
    case_id: str,
    actor: Actor,
    *,
    now_ms: int,
    action_id: str,
    department: str = "",
    score: int | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """The message for a case action, or ActionError saying what is wrong with it."""
    message: dict[str, Any] = {
        "action_id": action_id, "schema_version": SCHEMA_VERSION, "ts": int(now_ms),
        "action": action, "case_id": (case_id or "").strip(), "actor": actor.username,
        "role": actor.role, "district": actor.district, "comment": (comment or "").strip(),
    }  # fmt: skip
    if action == "dispatch":
        message["department"] = (department or "").strip()
    if action == "evaluate":
        message["score"] = score
    return validate_case_action(message)


def validate_case_action(message: Mapping[str, Any]) -> dict[str, Any]:
    """Check a case action as the worker must before applying it; a clean copy. Whether
    the case's status allows it is the worker's check (:mod:`detectors.contract.cases`)."""
    action = message.get("action")
    if action not in CASE_ACTIONS:
        raise ActionError(f"unknown case action {action!r}")
    _check_envelope(message, "case", _CASE_ID)
    if action not in ROLE_ACTIONS.get(message["role"], frozenset()):
        raise ActionError(f"role {message['role']} may not {action.replace('_', ' ')} cases")
    comment = _comment(message)
    if action == "send_back" and not comment.strip():
        raise ActionError("sending a case back needs a comment saying why")
    clean = _clean(message, "case", comment)
    if action == "dispatch":
        if message.get("department") not in DEPARTMENTS:
            raise ActionError(f"dispatch needs a department (one of {', '.join(DEPARTMENTS)})")
        clean["department"] = message["department"]
    if action == "evaluate":
        score = message.get("score")
        if isinstance(score, bool) or score not in SCORES:
            raise ActionError("an evaluation needs a score from 1 to 5")
        clean["score"] = int(score)
    return clean
