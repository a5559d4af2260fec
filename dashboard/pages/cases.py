"""Grid-management cases: the list of the viewer's scope with where each case stands in
its lifecycle and its next deadline (overdue ones stand out), and one case's lifecycle
step by step against its time limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, ago, link, panel, table, when
from dashboard.i18n import LABELS, t
from dashboard.model import CaseList, CaseRow, CaseStepRow
from dashboard.pages.case_actions import action_form, department_name
from dashboard.routes import Route, area_href, href
from dashboard.scope import Page, Scope
from detectors.contract.case_limits import (
    CATEGORY_LIMITS_MIN,
    OVERDUE,
    STEP_LIMITS_MIN,
    current_step,
    due_next,
    escalation,
    timeline,
)
from detectors.contract.cases import case_department, possible_actions
from detectors.contract.events import CASE_SENT_BACK


def list_layout(lang: str, refresh_ms: int) -> html.Div:
    filters = [
        {"label": t("filter_open_cases", lang), "value": "open"},
        {"label": t("filter_overdue", lang), "value": "overdue"},
        {"label": t("filter_my_department", lang), "value": "mine"},
        {"label": t("filter_all_cases", lang), "value": "all"},
    ]
    return html.Div(
        [
            dcc.Interval(id=ids.CASES_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2(t("cases", lang)),
            html.Div(id=ids.CASES_STATUS),
            dcc.RadioItems(
                id=ids.CASES_FILTER, options=filters, value="open", inline=True, className="filter"
            ),
            panel(html.Div(id=ids.CASES_LIST), class_name="scroll-panel tall"),
            panel(limits_table(lang), t("limits_note", lang)),
        ],
        className="cases-page",
    )


def case_list(
    cases: CaseList, show: str, lang: str, limit: int = 300, department: str = ""
) -> list[Any]:
    """Overdue cases first, then the newest; ``show`` is open, overdue, mine (the open
    cases of the viewer's ``department``) or all."""
    overdue = cases.overdue
    flagged = [(c, c.case_id in overdue) for c in cases.cases]
    if show == "overdue":
        flagged = [(c, late) for c, late in flagged if late]
    elif show == "mine":
        flagged = [(c, late) for c, late in flagged if department and c.department == department]
    flagged.sort(key=lambda pair: (not pair[1], -pair[0].last_ms))
    rows, classes = [], []
    for case, late in flagged[:limit]:
        step = _step(case)
        nxt = due_next(case.category, case.steps)
        tier = escalation(case.category, case.steps, cases.now_ms) if late else ""
        rows.append(
            [
                link(case.case_id, href(Route(Page.CASE, code=case.case_id)), "case-link"),
                case.category,
                department_name(case.department, lang),
                t(f"step_{step}", lang) if step else NO_VALUE,
                link(case.place.grid, area_href("grid", case.place.grid))
                if case.place.grid
                else NO_VALUE,
                when(case.steps.get("filed")),
                f"{t(f'step_{nxt[0]}', lang)} {when(nxt[1])}" if nxt else NO_VALUE,
                ago(case.last_ms, cases.now_ms, lang),
                t("escalated_to", lang, tier=t(tier, lang)) if tier else "",
            ]
        )
        classes.append("overdue" if late else "")
    headers = [
        t("case", lang),
        t("category", lang),
        t("department", lang),
        t("step", lang),
        t("grid", lang),
        t("step_filed", lang),
        t("due", lang),
        t("updated", lang),
        t("state_overdue", lang),
    ]
    clock = html.Div(t("cases_clock", lang, t=when(cases.now_ms)), className="muted")
    return [clock, table(headers, rows, classes, t("no_cases", lang), "cases-table")]


def _step(case: CaseRow) -> str:
    """Where a case stands: its furthest step, or sent back when it was."""
    return CASE_SENT_BACK if case.last_status == CASE_SENT_BACK else current_step(case.steps)


def limits_table(lang: str) -> html.Table | html.P:
    """The time limits per step, and the categories that tighten them."""
    steps = list(STEP_LIMITS_MIN)
    rows = [[t("filter_all_cases", lang), *[str(STEP_LIMITS_MIN[s]) for s in steps]]]
    rows += [
        [category, *[str(tighter.get(s, NO_VALUE)) for s in steps]]
        for category, tighter in CATEGORY_LIMITS_MIN.items()
    ]
    return table([t("category", lang), *[t(f"step_{s}", lang) for s in steps]], rows)


def case_layout(
    case_id: str, lang: str, refresh_ms: int, scope: Scope | None = None, wall: bool = True
) -> html.Div:
    """One case: its lifecycle and, for a role that may act, the case actions."""
    acting = [panel(action_form(scope, lang, wall), t("case_act", lang))] if scope else []
    return html.Div(
        [
            dcc.Interval(id=ids.CASE_REFRESH, interval=refresh_ms, n_intervals=0),
            dcc.Link(f"‹ {t('cases', lang)}", href=href(Route(Page.CASES))),
            html.H2(f"{t('case', lang)} {case_id}"),
            panel(html.Div(id=ids.CASE_TIMELINE), t("lifecycle", lang)),
            *acting,
        ],
        className="case-page",
    )


def case_timeline(
    case: CaseRow, now_ms: int, lang: str, trail: Sequence[CaseStepRow] = ()
) -> list[Any]:
    """A case's facts, where it stands, its lifecycle against the limits and the actions
    applied to it (who, in what role, with what comment)."""
    steps = timeline(case.category, case.steps, now_ms)
    rows = [
        [
            t(f"step_{s.status}", lang),
            when(s.at_ms),
            when(s.due_ms),
            str(s.limit_min) if s.limit_min else NO_VALUE,
            t(f"state_{s.state}", lang),
        ]
        for s in steps
    ]
    classes = [f"step-{s.state}" + (" overdue" if s.state == OVERDUE else "") for s in steps]
    facts = html.Dl(
        [
            html.Dt(t("category", lang)),
            html.Dd(case.category),
            html.Dt(t("department", lang)),
            html.Dd(department_name(_department(case, trail), lang), id=ids.CASE_OWNER),
            html.Dt(t("where", lang)),
            html.Dd(link(case.place.grid, area_href("grid", case.place.grid))),
            html.Dt(t("case_text", lang)),
            html.Dd(case.text or NO_VALUE),
        ],
        className="facts",
    )
    headers = [t("step", lang), t("time", lang), t("due", lang), t("limit", lang), t("state", lang)]
    actions = ", ".join(t(f"case_action_{a}", lang) for a in possible_actions(case.last_status))
    tier = escalation(case.category, case.steps, now_ms)
    where = [
        html.Div(t("step", lang) + ": " + t(f"step_{_step(case)}", lang), id="case-step"),
        html.Div(t("case_next", lang, actions=actions or NO_VALUE), className="muted"),
    ]
    if tier:
        where.append(html.Div(t("escalated_to", lang, tier=t(tier, lang)), className="overdue"))
    return [
        facts,
        *where,
        table(headers, rows, classes, NO_VALUE, "timeline-table"),
        case_trail(trail, lang),
        html.Div(t("cases_clock", lang, t=when(now_ms)), className="muted"),
    ]


def case_trail(trail: Sequence[CaseStepRow], lang: str) -> html.Div:
    """The case's audit trail: each applied action with its actor, role and comment."""
    rows = [
        [
            when(step.ts_ms),
            t(f"case_action_{step.action}", lang),
            t(f"step_{step.status}", lang),
            department_name(step.department, lang) if step.department else NO_VALUE,
            str(step.score) if step.score else NO_VALUE,
            f"{step.actor} ({_role(step.role, lang)})",
            step.comment or NO_VALUE,
        ]
        for step in trail
    ]
    headers = [t("time", lang), t("action", lang), t("step", lang), t("department", lang),
               t("score", lang), t("actor", lang), t("comment", lang)]  # fmt: skip
    return html.Div(
        [html.H4(t("case_trail", lang)), table(headers, rows, None, NO_VALUE, "case-trail")],
        id="case-trail",
    )


def _department(case: CaseRow, trail: Sequence[CaseStepRow]) -> str:
    """The case's department: its last dispatch's (in the trail), else its category's."""
    sent = [step.department for step in trail if step.action == "dispatch" and step.department]
    return case_department(case.category, sent[-1] if sent else case.dispatched)


def _role(role: str, lang: str) -> str:
    return t(f"role_{role}", lang) if f"role_{role}" in LABELS else role
