"""A tier's page (city, district, street, grid cell): its stage and reason, what it rolls
up from below, its map, its active alerts and its stage history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, kpi, level_badge, link, panel, stage_badge, table, when
from dashboard.figures import complete_minutes, empty_figure
from dashboard.i18n import t
from dashboard.maps import worst_levels
from dashboard.model import (
    AlertRow,
    AreaTree,
    CaseList,
    RatePoint,
    SensorCell,
    SensorInfo,
    StageChange,
)
from dashboard.routes import Route, area_href, child_level, href, scorecard_href, sensor_href
from dashboard.scope import Page, Scope
from dashboard.shell import breadcrumb
from dashboard.stages import hazard, stage_of
from detectors.alerting.reasons import stage_text
from detectors.alerting.stages import read_reason
from detectors.contract.alerts import AlertStatus
from detectors.contract.city import Area
from detectors.contract.levels import WarningLevel


def area_name(area: Area, lang: str) -> str:
    return (area.name_zh or area.name) if lang == "zh" else (area.name or area.code)


def area_title(level: str, area: Area, lang: str) -> str:
    """'district Riverside' / '区 滨江区': how a reason names the area."""
    return f"{t(level, lang)} {area_name(area, lang)}"


def area_chain(
    level: str, area: Area, tree: AreaTree, scope: Scope, lang: str
) -> list[tuple[str, str, str, bool]]:
    """The breadcrumb of an area: city to the area, each (level, code, name, may link)."""
    return [
        (a.level, a.code, area_name(a, lang), a.level != "city" or scope.city_wide)
        for a in tree.ancestors(area.code)
    ] or [(level, area.code, area_name(area, lang), False)]


def layout(
    level: str, area: Area, tree: AreaTree, scope: Scope, lang: str, refresh_ms: int, wall: bool
) -> html.Div:
    """The tier page's skeleton; its refresh fills every panel."""
    chain = area_chain(level, area, tree, scope, lang)
    below = child_level(level) or "sensor"
    return html.Div(
        [
            dcc.Interval(id=ids.TIER_REFRESH, interval=refresh_ms, n_intervals=0),
            breadcrumb(chain, wall),
            html.Div(id=ids.TIER_STATUS),
            html.Div(
                [
                    html.H2(f"{t(level, lang)} · {area_name(area, lang)}", className="tier-title"),
                    html.Div(id=ids.TIER_STAGE, className="tier-stage"),
                    link(
                        t("scorecard", lang), scorecard_href(level, area.code, wall), "score-link"
                    ),
                ],
                className="tier-head",
            ),
            html.Div(id=ids.TIER_KPIS, className="kpis"),
            html.Div(
                [
                    panel(
                        dcc.Graph(
                            id=ids.TIER_MAP,
                            figure=empty_figure(t("no_data", lang)),
                            config={"displaylogo": False, "displayModeBar": False},
                            className="map-graph",
                        ),
                        class_name="map-panel",
                    ),
                    panel(
                        html.Div(id=ids.TIER_CHILDREN),
                        t("below", lang, level=t(below, lang)),
                        class_name="scroll-panel",
                    ),
                ],
                className="row-2",
            ),
            html.Div(
                [
                    panel(
                        html.Div(id=ids.TIER_ALERTS),
                        t("active_alerts", lang),
                        class_name="scroll-panel",
                    ),
                    panel(
                        html.Div(id=ids.TIER_STAGE_HISTORY),
                        t("stage_history", lang),
                        class_name="scroll-panel",
                    ),
                    panel(
                        dcc.Graph(
                            id=ids.TIER_ACTIVITY,
                            figure=empty_figure(t("no_data", lang)),
                            config={"displaylogo": False, "displayModeBar": False},
                            className="small-graph",
                        )
                    ),
                ],
                className="row-3",
            ),
        ],
        className=f"tier-page tier-{level}",
    )


def current_stage(
    alerts: Sequence[AlertRow],
    history: Sequence[StageChange],
    title: str,
    lang: str,
    names: Mapping[str, str],
) -> tuple[int, str, bool]:
    """(stage, reason, derived): the worker's newest stage row, its reason said in ``lang``
    with the area names of ``names``, or derived from the active alerts when it has written
    none yet. A row whose reason the stage rule did not write (an older worker's) is shown
    as it is, or, in another language than English, the same rule's reason when it agrees."""
    if history:
        newest = history[0]
        if read_reason(newest.reason) is not None:
            reason = stage_text(newest.reason, newest.level, newest.code, lang, names)
            return newest.stage, reason, False
        if lang != "en":
            stage, reason = stage_of(alerts, title, lang)
            if stage == newest.stage:
                return stage, reason, False
        return newest.stage, newest.reason, False
    stage, reason = stage_of(alerts, title, lang)
    return stage, reason, True


def stage_view(stage: int, reason: str, derived: bool, lang: str) -> list[Any]:
    note = [html.Span(t("stage_derived", lang), className="muted")] if derived else []
    return [
        stage_badge(stage, lang),
        html.Span(reason, className="stage-reason", id="stage-reason"),
        *note,
    ]


def overdue_cases(cases: CaseList) -> frozenset[str]:
    """The ids of the cases past a step's limit, judged once per list of cases."""
    return cases.overdue


def kpis(
    alerts: Sequence[AlertRow],
    cases: CaseList,
    overdue: frozenset[str],
    sensors: int,
    rate: Sequence[RatePoint],
    lang: str,
) -> list[html.Div]:
    active = [a for a in alerts if a.active]
    counts = [
        html.Span(f"{lv.roman} {sum(1 for a in active if a.level == lv)}",
                  className=f"level-badge level-{int(lv)}")
        for lv in reversed(WarningLevel)
    ]  # fmt: skip
    complete = complete_minutes(rate)  # the newest minute may still be filling up
    newest = complete[-1] if complete else None
    per_min = newest.count if newest else None
    minute = (
        t("last_complete_minute", lang, minute=f"{newest.window_start:%H:%M}")
        if newest
        else t("no_complete_minute", lang)
    )
    unacknowledged = sum(1 for a in active if a.status == AlertStatus.ACTIVE)
    return [
        kpi(t("active_alerts", lang), [str(len(active)), html.Div(counts, className="kpi-levels")],
            "kpi-active-alerts"),
        kpi(t("unacknowledged", lang), str(unacknowledged)),
        kpi(t("open_cases", lang), str(len(cases.cases))),
        kpi(t("overdue_cases", lang), str(len(overdue)), class_name="overdue" if overdue else ""),
        kpi(t("sensors", lang), f"{sensors:,}"),
        kpi(t("events_per_min", lang),
            [NO_VALUE if per_min is None else f"{per_min:,}",
             html.Div(minute, className="kpi-note", id="tier-minute")]),
    ]  # fmt: skip


def children_table(
    level: str,
    area: Area,
    tree: AreaTree,
    alerts: Sequence[AlertRow],
    cells: Sequence[SensorCell],
    cases: CaseList,
    overdue: frozenset[str],
    stages: dict[str, StageChange],
    lang: str,
    wall: bool,
) -> html.Table | html.P:
    """One row per area below: its stage, highest level, alerts, sensors and cases, each
    rolled up from everything under it."""
    below = child_level(level)
    children = tree.children(area.code)
    worst = worst_levels(alerts, below)
    sensors_of = _sum_by(below, tree, {c.grid: c.sensors for c in cells})
    rows, classes = [], []
    for child in children:
        mine = [a for a in alerts if a.active and a.place.code(below) == child.code]
        stage = stages[child.code].stage if child.code in stages else stage_of(mine)[0]
        open_cases = [c for c in cases.cases if c.place.code(below) == child.code]
        late = sum(1 for c in open_cases if c.case_id in overdue)
        rank = worst.get(child.code, 0)
        unacknowledged = sum(1 for a in mine if a.status == AlertStatus.ACTIVE)
        rows.append([
            link(area_name(child, lang), area_href(below, child.code, wall), "drill"),
            child.code, stage_badge(stage, lang),
            level_badge(WarningLevel(rank) if rank else None, lang),
            f"{len(mine)} ({unacknowledged})", str(sensors_of.get(child.code, 0)),
            f"{len(open_cases)} ({late})",
        ])  # fmt: skip
        classes.append(f"level-row-{rank}")
    headers = [t("name", lang), t("code", lang), t("stage", lang), t("worst_level", lang),
               f"{t('active_alerts', lang)} ({t('unacknowledged', lang)})", t("sensors", lang),
               f"{t('open_cases', lang)} ({t('overdue_cases', lang)})"]  # fmt: skip
    return table(headers, rows, classes, t("no_data", lang), "children-table")


def _sum_by(level: str, tree: AreaTree, per_grid: dict[str, int]) -> dict[str, int]:
    """Per-grid counts summed up to the areas of ``level``."""
    totals: dict[str, int] = {}
    for grid, n in per_grid.items():
        code = next((a.code for a in tree.ancestors(grid) if a.level == level), "")
        totals[code] = totals.get(code, 0) + n
    return totals


def sensors_table(
    sensors: Sequence[SensorInfo], alerts: Sequence[AlertRow], lang: str, wall: bool
) -> html.Table | html.P:
    """A grid cell's sensors, each with the highest level of its active alerts; a sensor
    with alerts opens on the metric of its gravest one."""
    worst: dict[str, int] = {}
    gravest: dict[str, str] = {}
    for a in alerts:  # gravest first: the first alert of a sensor names its metric
        if a.active and a.level is not None:
            worst[a.source_id] = max(worst.get(a.source_id, 0), int(a.level))
            gravest.setdefault(a.source_id, a.metric)
    rows = [
        [
            link(
                s.source_id, sensor_href(s.source_id, gravest.get(s.source_id, ""), wall), "drill"
            ),
            s.kind,
            s.family,
            ", ".join(s.metrics),
            level_badge(WarningLevel(worst[s.source_id]) if s.source_id in worst else None, lang),
        ]
        for s in sensors
    ]
    headers = [
        t("sensor", lang),
        t("kind", lang),
        t("family", lang),
        t("metrics", lang),
        t("worst_level", lang),
    ]
    return table(headers, rows, None, t("no_data", lang), "sensors-table")


def alerts_table(
    alerts: Sequence[AlertRow], lang: str, wall: bool, limit: int = 15
) -> html.Table | html.P:
    """The gravest, newest active alerts; each opens in the console."""
    shown = [a for a in alerts if a.active][:limit]
    rows = [
        [
            level_badge(a.level, lang),
            t(f"status_{a.status}", lang),
            link(
                f"{hazard(a, lang)} · {a.metric or a.category}",
                href(Route(Page.ALERTS, alert=a.alert_id, wall=wall)),
                "alert-link",
            ),
            a.place.grid or a.place.street or a.place.district,
            link(a.source_id, sensor_href(a.source_id, a.metric, wall), "sensor-link")
            if a.source_id
            else NO_VALUE,
            when(a.opened_ms),
        ]
        for a in shown
    ]
    classes = ["alarm" if a.alarming else "" for a in shown]
    headers = [
        t("level", lang),
        t("status", lang),
        t("alerts", lang),
        t("where", lang),
        t("sensor", lang),
        t("opened", lang),
    ]
    return table(headers, rows, classes, t("no_alerts", lang), "alerts-table")


def stage_history_table(
    changes: Sequence[StageChange], lang: str, names: Mapping[str, str]
) -> html.Table | html.P:
    rows = [
        [
            when(c.ts_ms),
            stage_badge(c.stage, lang),
            t("stage_n", lang, n=c.previous),
            stage_text(c.reason, c.level, c.code, lang, names),
        ]
        for c in changes
    ]
    headers = [t("time", lang), t("stage", lang), t("previous", lang), t("reason", lang)]
    return table(headers, rows, None, t("no_stage_changes", lang), "stage-table")
