"""An area's scorecard: the five city indicators (data, governance, service, economy,
environment) in its latest complete minute, each with its components (what was measured,
its score and weight) and their documented formulas, the trends over 24 hours and 30
days, the areas below it and its lowest-scored grid cells. Every score drills down a tier;
a grid cell's scorecard lists the sensors and cases behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, link, panel, table, when
from dashboard.figures import small_graph
from dashboard.i18n import LABELS, t
from dashboard.model import AreaTree
from dashboard.pages.tier import area_chain, area_name
from dashboard.routes import Route, area_href, child_level, scorecard_href
from dashboard.scope import Scope
from dashboard.shell import breadcrumb
from detectors.contract.city import Area
from detectors.contract.indicators import INDICATORS, Component, Indicator, Score, specs_of
from detectors.contract.places import AreaLevel

GOOD, FAIR = 80.0, 60.0
"""A score from GOOD up is good, from FAIR up fair, under FAIR poor."""


def area_of(route: Route, scope: Scope) -> tuple[str, str]:
    """The (level, code) a scorecard address asks for; ``/scorecard`` is the viewer's own
    area (the city, or a district operator's district).

    >>> from dashboard.scope import Page, Role
    >>> area_of(Route(Page.SCORECARD), Scope(Role.DISTRICT_OPERATOR, "D2"))
    ('district', 'D2')
    """
    if route.level:
        return route.level, route.code
    if scope.city_wide:
        return AreaLevel.CITY.value, ""
    return AreaLevel.DISTRICT.value, scope.district


def band(score: float | None) -> str:
    """'good', 'fair', 'poor', or 'none' for a score not judged."""
    if score is None:
        return "none"
    return "good" if score >= GOOD else "fair" if score >= FAIR else "poor"


def score_text(score: float | None) -> str:
    return NO_VALUE if score is None else f"{score:.0f}"


def indicator_name(indicator: Indicator | str, lang: str) -> str:
    return t(f"ind_{indicator}", lang)


def component_name(name: str, lang: str) -> str:
    key = f"comp_{name}"
    return t(key, lang) if key in LABELS else name


def layout(
    level: str, area: Area, tree: AreaTree, scope: Scope, lang: str, refresh_ms: int, wall: bool
) -> html.Div:
    """The scorecard's skeleton; its refresh fills every panel."""
    chain = area_chain(level, area, tree, scope, lang)
    below = child_level(level)
    return html.Div(
        [
            dcc.Interval(id=ids.SCORE_REFRESH, interval=refresh_ms, n_intervals=0),
            breadcrumb(chain, wall, scorecard_href),
            html.Div(id=ids.SCORE_STATUS),
            html.Div(
                [
                    html.H2(
                        f"{t('scorecard', lang)} · {t(level, lang)} · {area_name(area, lang)}",
                        className="tier-title",
                    ),
                    html.Span(id=ids.SCORE_MINUTE, className="muted"),
                    link(t("area_page", lang), area_href(level, area.code, wall), "area-page"),
                ],
                className="tier-head",
            ),
            html.Div(id=ids.SCORE_CARDS, className="score-cards"),
            html.Div(
                [
                    panel(small_graph(ids.SCORE_DAY, lang)),
                    panel(small_graph(ids.SCORE_MONTH, lang)),
                ],
                className="row-2",
            ),
            html.Div(
                [
                    panel(
                        html.Div(id=ids.SCORE_CHILDREN),
                        t("below", lang, level=t(below, lang)) if below
                        else t("sensors_behind", lang),
                        class_name="scroll-panel",
                    ),
                    panel(
                        html.Div(id=ids.SCORE_WORST),
                        t("worst_cells", lang) if below else t("cases_behind", lang),
                        class_name="scroll-panel",
                    ),
                ],
                className="row-2",
            ),
        ],
        className=f"scorecard-page tier-{level}",
    )  # fmt: skip


def minute_text(minute: int, lang: str) -> str:
    if not minute:
        return t("no_scores", lang)
    return t("score_minute", lang, minute=when(minute * 1000)[:16])


def cards(now: Sequence[Score], lang: str) -> list[html.Div]:
    """One card per indicator: its score and a table of its components with formulas."""
    by_indicator = {s.indicator: s for s in now}
    return [_card(indicator, by_indicator.get(indicator), lang) for indicator in INDICATORS]


def _card(indicator: Indicator, found: Score | None, lang: str) -> html.Div:
    value = found.score if found else None
    shown = {c.name: c for c in found.components} if found else {}
    rows, classes = [], []
    for spec in specs_of(indicator):
        part = shown.pop(spec.name, None)
        rows.append(_component_row(spec.name, part, spec.unit, spec.weight, spec.zh if lang == "zh"
                                   else spec.en, lang))  # fmt: skip
        classes.append(f"score-{band(part.score if part else None)}")
    for part in shown.values():  # a component the contract does not document (yet)
        rows.append(_component_row(part.name, part, part.unit, part.weight, "", lang))
        classes.append(f"score-{band(part.score)}")
    headers = [f"{t('component', lang)} · {t('formula', lang)}", t("measured", lang),
               t("points", lang), t("weight", lang)]  # fmt: skip
    return html.Div(
        [
            html.Div(indicator_name(indicator, lang), className="score-name"),
            html.Div(
                score_text(value) if found else NO_VALUE,
                className=f"score-value score-{band(value)}",
                id=f"score-{indicator.value}",
                title=t("not_judged", lang) if value is None else "",
            ),
            table(headers, rows, classes, t("no_data", lang), "components-table"),
        ],
        className="score-card panel",
        id=f"card-{indicator.value}",
    )


def _component_row(
    name: str, part: Component | None, unit: str, weight: float, formula: str, lang: str
) -> list[Any]:
    measured = NO_VALUE if part is None or part.value is None else f"{part.value:g} {unit}"
    points = t("not_judged", lang) if part is None or part.score is None else f"{part.score:.0f}"
    weight = part.weight if part else weight
    what = [html.Span(component_name(name, lang)), html.Div(formula, className="formula")]
    return [what, measured, points, f"{weight:g}"]


def children_table(
    level: str, area: Area, tree: AreaTree, children: Sequence[Score], lang: str, wall: bool
) -> html.Table | html.P:
    """One row per area below: its five scores, each a link down to its scorecard."""
    below = child_level(level)
    scores = {(s.code, s.indicator): s.score for s in children}
    rows, classes = [], []
    for child in tree.children(area.code):
        target = scorecard_href(below, child.code, wall)
        mine = [scores.get((child.code, i)) for i in INDICATORS]
        rows.append([
            link(area_name(child, lang), target, "drill"), child.code,
            *[html.Span(link(score_text(s), target, "score-link"), className=f"score-{band(s)}")
              for s in mine],
        ])  # fmt: skip
        judged = [s for s in mine if s is not None]
        classes.append(f"score-row-{band(min(judged))}" if judged else "")
    headers = [t("name", lang), t("code", lang), *[indicator_name(i, lang) for i in INDICATORS]]
    return table(headers, rows, classes, t("no_data", lang), "score-children-table")


def worst_table(
    worst: Sequence[Score], tree: AreaTree, lang: str, wall: bool
) -> html.Table | html.P:
    """Per indicator, the grid cells scored lowest (lowest first), each with its weakest
    judged component, a link to its scorecard (the sensors and cases behind it) and to
    its area page."""
    names = tree.names(lang)
    rows, classes = [], []
    for s in sorted(worst, key=lambda s: (INDICATORS.index(s.indicator), s.score or 0.0, s.code)):
        judged = [c for c in s.components if c.score is not None]
        weakest = min(judged, key=lambda c: c.score or 0.0) if judged else None
        rows.append([
            indicator_name(s.indicator, lang),
            link(names.get(s.code, s.code), scorecard_href(AreaLevel.GRID, s.code, wall), "drill"),
            s.code,
            score_text(s.score),
            f"{component_name(weakest.name, lang)} {score_text(weakest.score)}" if weakest
            else NO_VALUE,
            link(t("area_page", lang), area_href(AreaLevel.GRID, s.code, wall), "area-link"),
        ])  # fmt: skip
        classes.append(f"score-row-{band(s.score)}")
    headers = [t("indicator", lang), t("grid", lang), t("code", lang), t("points", lang),
               t("weakest", lang), ""]  # fmt: skip
    return table(headers, rows, classes, t("no_data", lang), "worst-table")
