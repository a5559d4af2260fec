"""The callbacks of the city overview: thin adapters from queries to figures and layout.

:func:`refresh_overview` is a plain function of a query provider, so tests call it with
FakeQueries; :func:`register` only wires it to the page.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import dash
from dash import Input, Output, no_update

from dashboard import figures, ids, layout
from dashboard.queries import Queries, QueryError


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
    status=Output(ids.STATUS, "children"),
)


def refresh_overview(queries: Queries, metric: str | None) -> Overview:
    """Read the newest state and render it; when the data source fails, keep what the page
    shows and say so in the status banner."""
    metric = metric or layout.DEFAULT_METRIC
    try:
        shapes = queries.district_shapes()
        rollups = queries.latest_district_rollups()
        rates = queries.event_rate()
        dead = queries.dead_letter_counts()
    except QueryError as exc:
        unchanged = Overview(*[no_update] * len(Overview._fields))
        return unchanged._replace(status=layout.status_banner(f"data source unavailable: {exc}"))
    return Overview(
        city_name=layout.city_title(shapes),
        city_map=figures.city_map(shapes, rollups, metric),
        district_table=layout.district_table(shapes, rollups, metric),
        event_rate=figures.event_rate_chart(rates),
        dead_letters=figures.dead_letter_chart(dead),
        events_per_second=layout.events_per_second_text(rates),
        dead_letter_total=f"{dead.total:,}",
        last_data=layout.last_data_text(rates),
        status=layout.status_banner(""),
    )


def register(app: dash.Dash, queries: Queries) -> None:
    """Wire the overview's refresh to the page: every tick of the interval and every
    change of the metric selector."""

    @app.callback(*OUTPUTS, Input(ids.REFRESH, "n_intervals"), Input(ids.METRIC, "value"))
    def refresh(_tick: int | None, metric: str | None) -> tuple[Any, ...]:
        return tuple(refresh_overview(queries, metric))
