"""The controls that move a grid-management case along: dispatch to a department, accept,
mark handled, verify (pass) or send back, close, evaluate with a score.

Like every operator action, a case action is a message to the alert-actions topic
(:func:`detectors.contract.actions.build_case_action` checks it; the worker applies it in
order and records the step with who did it): the page never writes a table. An action the
case's current status does not allow is refused here already, with the reason.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import t
from dashboard.model import NotFound, QueryError
from dashboard.queries import Queries
from dashboard.scope import Scope, ScopeError
from dashboard.sender import ActionSender, SendError
from detectors.contract.actions import ActionError, Actor, allowed_case_actions, build_case_action
from detectors.contract.cases import DEPARTMENTS, SCORES, refusal, status_after


def department_name(code: str, lang: str) -> str:
    """A department in ``lang`` (its code when unknown)."""
    en, zh = DEPARTMENTS.get(code, (code, code))
    return zh if lang == "zh" else en


def action_form(scope: Scope, lang: str, wall: bool) -> html.Div:
    """The form for the case actions the viewer's role may take; read-only on a wall."""
    actions = allowed_case_actions(scope.role.value)
    if not actions or wall or scope.read_only:
        return html.Div(
            [html.P(t("case_read_only", lang), className="muted"), html.Div(id=ids.CASE_RESULT)]
        )
    options = [{"label": t(f"case_action_{a}", lang), "value": a} for a in actions]
    departments = [{"label": department_name(d, lang), "value": d} for d in DEPARTMENTS]
    scores = [{"label": str(s), "value": s} for s in SCORES]
    return html.Div(
        [
            dcc.Dropdown(id=ids.CASE_ACTION, options=options, value=actions[0],
                         clearable=False, className="dropdown"),
            dcc.Dropdown(id=ids.CASE_DEPARTMENT, options=departments,
                         placeholder=t("department", lang), className="dropdown"),
            dcc.Dropdown(id=ids.CASE_SCORE, options=scores, placeholder=t("score", lang),
                         className="dropdown"),
            dcc.Textarea(id=ids.CASE_COMMENT, placeholder=t("comment", lang),
                         className="text-area"),
            html.Button(t("send", lang), id=ids.CASE_SUBMIT, n_clicks=0, className="primary"),
            html.Div(id=ids.CASE_RESULT, className="action-result", role="status"),
        ],
        className="action-form case-action-form",
    )  # fmt: skip


def submit(
    queries: Queries,
    sender: ActionSender,
    scope: Scope,
    case_id: str,
    form: tuple[str | None, str | None, int | None, str | None],
    lang: str,
    now_ms: int,
    action_id: str,
) -> list[Any]:
    """Check a case action (``form``: action, department, score, comment) against the
    contract and the case's current status, and send it; the answer says what happened."""
    action, department, score, comment = form
    actor = Actor(scope.username, scope.role.value, scope.district)
    try:
        message = build_case_action(
            action or "", case_id, actor, now_ms=now_ms, action_id=action_id,
            department=department or "", score=score, comment=comment or "",
        )  # fmt: skip
        try:
            current = queries.case(scope, case_id)
        except (ScopeError, NotFound):
            current = None
        if current is None:
            raise ActionError(t("unknown_case", lang, case=case_id))
        if status_after(message["action"], current.last_status) is None:
            raise ActionError(refusal(message["action"], current.last_status) + ": nothing sent")
        sender.send(message)
    except (ActionError, SendError, QueryError) as exc:
        return [html.Div(str(exc), className="action-refused", role="alert", id="case-message")]
    text = t("case_action_sent", lang, action=t(f"case_action_{message['action']}", lang),
             case=case_id, id=action_id[:8])  # fmt: skip
    return [html.Div(text, className="action-sent", id="case-message")]
