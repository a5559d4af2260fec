"""The city overview's refresh: the newest roll-ups, event rate and dead letters, rendered
for the overview page in the order its callback writes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from dash import Output, no_update

from dashboard import figures, ids, layout
from dashboard.i18n import t
from dashboard.marks import chart_start_ms
from dashboard.model import AlertRow, RatePoint
from dashboard.queries import Queries, QueryError
from dashboard.scope import Scope


class Overview(NamedTuple):
    """Everything one refresh of the overview shows, in callback output order."""

    city_name: Any
    city_map: Any
    district_table: Any
    event_rate: Any
    dead_letters: Any
    events_per_second: Any
    dead_letter_total: Any
    last_data: Any
    minute: Any  # which complete minute the current values are of
    status: Any


OUTPUTS = Overview(
    city_name=Output(ids.CITY_NAME, "children"),
    city_map=Output(ids.CITY_MAP, "figure"),
    district_table=Output(ids.DISTRICT_TABLE, "children"),
    event_rate=Output(ids.EVENT_RATE, "figure"),
    dead_letters=Output(ids.DEAD_LETTERS, "figure"),
    events_per_second=Output(ids.KPI_EVENTS_PER_S, "children"),
    dead_letter_total=Output(ids.KPI_DEAD_LETTERS, "children"),
    last_data=Output(ids.KPI_LAST_DATA, "children"),
    minute=Output(ids.COMPLETE_MINUTE, "children"),
    status=Output(ids.STATUS, "children"),
)


def refresh_overview(
    queries: Queries, scope: Scope, metric: str | None, lang: str = "en"
) -> Overview:
    """Read the newest state and render it; when the data source fails, keep what the page
    shows and say so in the status banner."""
    metric = metric or layout.DEFAULT_METRIC
    try:
        shapes = queries.district_shapes(scope)
        rollups = queries.latest_district_rollups(scope)
        rates = queries.event_rate(scope)
        dead = queries.dead_letter_counts(scope)
        marks = _marks(queries, scope, rates)
    except QueryError as exc:
        unchanged = Overview(*[no_update] * len(Overview._fields))
        text = t("data_unavailable", lang, error=exc)
        return unchanged._replace(status=layout.status_banner(text))
    return Overview(
        city_name=layout.city_title(shapes),
        city_map=figures.city_map(shapes, rollups, metric, lang),
        district_table=layout.district_table(shapes, rollups, metric, lang),
        event_rate=figures.event_rate_chart(rates, lang, marks),
        dead_letters=figures.dead_letter_chart(dead, lang),
        events_per_second=layout.events_per_second_text(rates),
        dead_letter_total=f"{dead.total:,}",
        last_data=layout.last_data_text(rates),
        minute=layout.complete_minute_text(rates, lang),
        status=layout.status_banner(""),
    )


def _marks(queries: Queries, scope: Scope, rates: Sequence[RatePoint]) -> list[AlertRow]:
    """The alerts and incidents of the viewer's area raised since the rate chart begins."""
    if not rates:
        return []
    level, code = ("city", "") if scope.city_wide else ("district", scope.district)
    return queries.area_marks(scope, level, code, chart_start_ms(rates))
