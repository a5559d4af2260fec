"""Silences and maintenance windows: the list (latest state of each, newest first), a form
to make one and the controls to expire or delete one, for the roles that may.

Like every operator action, a silence is a message to the alert-actions topic
(:func:`detectors.contract.actions.build_silence_action` checks it, the worker applies and
records it): the page never writes a table. The list is read back from ``silences``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dash import dcc, html, no_update

from dashboard import ids
from dashboard.components import NO_VALUE, panel, table, when
from dashboard.i18n import t
from dashboard.model import NotFound, QueryError, SilenceRow
from dashboard.queries import Queries
from dashboard.scope import Scope, ScopeError
from dashboard.sender import ActionSender, SendError
from detectors.contract.actions import (
    ActionError,
    Actor,
    allowed_silence_actions,
    build_silence_action,
)
from detectors.contract.events import METRICS, SENSOR_FAMILIES
from detectors.contract.silences import Silence, SilenceScope

HOUR_MS = 3_600_000
LATE_MS = 5 * 60_000
"""A silence "from now" starts this much earlier: the worker judges readings by their event
time, which trails the wall clock, and a reading taken just before the click must not page
anyone once the operator has muted its sensor."""


def layout(scope: Scope, lang: str, refresh_ms: int, wall: bool) -> html.Div:
    allowed = () if wall else allowed_silence_actions(scope.role.value)
    return html.Div(
        [
            dcc.Interval(id=ids.SILENCE_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2(t("silences", lang)),
            html.P(t("silences_note", lang), className="muted"),
            html.Div(id=ids.SILENCE_STATUS),
            html.Div(
                [
                    panel(
                        html.Div(id=ids.SILENCE_LIST),
                        t("silences", lang),
                        class_name="scroll-panel tall",
                    ),  # fmt: skip
                    panel(_controls(allowed, lang), t("silence_new", lang)),
                ],
                className="row-2",
            ),
        ],
        className="silences-page",
    )


def _controls(allowed: Sequence[str], lang: str) -> html.Div:
    """The form and the expire/delete controls. Every component is always in the page (the
    callbacks name them); what the role may not use is hidden and disabled."""
    can_create, can_end = "create_silence" in allowed, bool(set(allowed) - {"create_silence"})
    note = [] if allowed else [html.P(t("silence_read_only", lang), className="muted")]
    scopes = [{"label": t(f"scope_{s.value}", lang), "value": s.value} for s in SilenceScope]
    families = [{"label": f.value, "value": f.value} for f in SENSOR_FAMILIES]
    metrics = [{"label": m, "value": m} for m in METRICS]
    create = html.Div(
        [
            dcc.Dropdown(
                id=ids.SILENCE_SCOPE,
                options=scopes,
                value=SilenceScope.SENSOR.value,
                clearable=False,
                className="dropdown",
            ),  # fmt: skip
            dcc.Input(
                id=ids.SILENCE_VALUE,
                type="text",
                placeholder=t("silence_value", lang),
                className="text-input",
            ),  # fmt: skip
            dcc.Dropdown(
                id=ids.SILENCE_FAMILY,
                options=families,
                placeholder=t("silence_family", lang),
                className="dropdown",
            ),  # fmt: skip
            dcc.Dropdown(
                id=ids.SILENCE_METRIC,
                options=metrics,
                placeholder=t("silence_metric", lang),
                className="dropdown",
            ),  # fmt: skip
            dcc.Input(
                id=ids.SILENCE_START,
                type="text",
                placeholder=t("silence_start", lang),
                className="text-input",
            ),  # fmt: skip
            html.Label(
                [
                    t("silence_hours", lang),
                    " ",
                    dcc.Input(
                        id=ids.SILENCE_HOURS,
                        type="number",
                        value=2,
                        min=0,
                        step="any",
                        className="number-input",
                    ),
                ]
            ),  # fmt: skip
            dcc.Textarea(
                id=ids.SILENCE_REASON, placeholder=t("silence_reason", lang), className="text-area"
            ),  # fmt: skip
            html.Button(
                t("silence_create", lang),
                id=ids.SILENCE_CREATE,
                n_clicks=0,
                className="primary",
                disabled=not can_create,
            ),  # fmt: skip
        ],
        className="action-form",
        hidden=not can_create,
    )
    end = html.Div(
        [
            dcc.Dropdown(
                id=ids.SILENCE_PICK,
                options=[],
                placeholder=t("silence_pick", lang),
                className="dropdown",
            ),  # fmt: skip
            html.Button(
                t("silence_expire", lang),
                id=ids.SILENCE_EXPIRE,
                n_clicks=0,
                disabled="expire_silence" not in allowed,
                hidden="expire_silence" not in allowed,
            ),  # fmt: skip
            html.Button(
                t("silence_delete", lang),
                id=ids.SILENCE_DELETE,
                n_clicks=0,
                disabled="delete_silence" not in allowed,
                hidden="delete_silence" not in allowed,
            ),  # fmt: skip
        ],
        className="action-form",
        hidden=not can_end,
    )
    result = html.Div(id=ids.SILENCE_RESULT, className="action-result", role="status")
    return html.Div([*note, create, end, result])


def silence_table(silences: Sequence[SilenceRow], now_ms: int, lang: str) -> html.Table | html.P:
    """One row per silence; those in force now are marked."""
    rows = [
        [
            html.Code(s.silence_id[:8], title=s.silence_id),
            t(f"silence_status_{s.state(now_ms)}", lang),
            f"{t(f'scope_{s.scope}', lang)} {s.value}",
            " · ".join(f for f in (s.family, s.metric) if f) or NO_VALUE,
            f"{when(s.start_ms)} – {when(s.end_ms)}",
            s.reason,
            s.author,
            s.actor or NO_VALUE,
        ]
        for s in silences
    ]
    classes = [f"silence-{s.state(now_ms)}" for s in silences]
    headers = [
        "id", t("status", lang), t("silence_scope", lang), t("silence_filters", lang),
        t("silence_window", lang), t("silence_reason", lang), t("silence_author", lang),
        t("silence_by", lang),
    ]  # fmt: skip
    return table(headers, rows, classes, t("no_silences", lang), "silence-table")


def refresh(queries: Queries, scope: Scope, lang: str, now_ms: int) -> tuple[Any, Any, Any]:
    """(status, list, the options of the expire/delete picker: silences not yet over)."""
    try:
        found = queries.silences(scope)
    except (QueryError, ScopeError, NotFound) as exc:
        return [html.Div(str(exc), className="status-line")], no_update, no_update
    live = [s for s in found if s.state(now_ms) in ("active", "pending")]
    options = [
        {"label": f"{s.silence_id[:8]} · {t(f'scope_{s.scope}', lang)} {s.value} · {s.reason}",
         "value": s.silence_id}
        for s in live
    ]  # fmt: skip
    return [], silence_table(found, now_ms, lang), options


@dataclass(frozen=True, slots=True)
class SilenceForm:
    """What the operator typed (None for a field left empty)."""

    scope: str | None = None
    value: str | None = None
    family: str | None = None
    metric: str | None = None
    start: str | None = None
    hours: float | None = None
    reason: str | None = None


def submit(
    queries: Queries,
    sender: ActionSender,
    scope: Scope,
    trigger: str | None,
    form: SilenceForm,
    pick: str | None,
    lang: str,
    now_ms: int,
    new_id: Callable[[], str],
) -> list[Any]:
    """Check a silence action (create from the form; expire or delete the picked one) and
    send it; the answer says what happened. Nothing is sent when it is not allowed."""
    actor = Actor(scope.username, scope.role.value, scope.district)
    try:
        if trigger == ids.SILENCE_CREATE:
            action, silence_id = "create_silence", new_id()
            window = _window(form, now_ms, lang)
        elif trigger in (ids.SILENCE_EXPIRE, ids.SILENCE_DELETE):
            action = "expire_silence" if trigger == ids.SILENCE_EXPIRE else "delete_silence"
            silence_id, window = pick or "", None
            if not silence_id:
                raise ActionError(t("silence_pick", lang) + ": " + NO_VALUE)
        else:
            return [no_update]
        message = build_silence_action(
            action, silence_id, actor, now_ms=now_ms, action_id=new_id(), window=window
        )
        if window is None:
            _check_target(queries.silences(scope), message, now_ms)
        sender.send(message)
    except (ActionError, SendError, QueryError) as exc:
        return [html.Div(str(exc), className="action-refused", role="alert", id="silence-message")]
    text = t("silence_sent", lang, action=t(f"action_{action}", lang), silence=silence_id[:8],
             id=message["action_id"][:8])  # fmt: skip
    return [html.Div(text, className="action-sent", id="silence-message")]


def _check_target(known: Sequence[SilenceRow], message: dict[str, Any], now_ms: int) -> None:
    """Refuse to expire or delete a silence that is unknown, already over, or not the
    actor's district's (the worker would refuse it too, only later and out of sight)."""
    silence_id = message["silence_id"]
    found = next((s for s in known if s.silence_id == silence_id), None)
    if found is None:
        raise ActionError(f"unknown silence {silence_id} (or not in your scope): nothing sent")
    state = found.state(now_ms)
    if state not in ("active", "pending"):
        raise ActionError(f"silence {silence_id[:8]} is already {state}: nothing sent")
    if message["district"] and found.district != message["district"]:
        raise ActionError(
            f"silence {silence_id[:8]} covers more than your district "
            f"{message['district']}: nothing sent"
        )


def _window(form: SilenceForm, now_ms: int, lang: str) -> Silence:
    start_ms = now_ms - LATE_MS
    if form.start and form.start.strip():
        try:
            moment = datetime.strptime(form.start.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            raise ActionError(t("silence_bad_start", lang)) from None
        start_ms = int(moment.timestamp() * 1000)
    try:
        hours = float(form.hours if form.hours is not None else "")
    except ValueError:
        raise ActionError(t("silence_bad_hours", lang)) from None
    if not 0 < hours < 10_000:  # NaN and infinity too; the contract caps the length
        raise ActionError(t("silence_bad_hours", lang))
    return Silence(
        silence_id="", scope=form.scope or "", value=(form.value or "").strip(),
        start_ms=start_ms, end_ms=start_ms + int(hours * HOUR_MS), family=form.family or "",
        metric=form.metric or "", reason=(form.reason or "").strip(),
    )  # fmt: skip
