"""The callbacks of the command center: thin adapters from the page to :mod:`views`,
:mod:`router` and the overview's :func:`refresh_overview`.

Everything a callback shows comes from a plain function of the query provider and the
viewer's scope, so tests call those with FakeQueries; :func:`register` only wires them to
the page. The viewer's scope comes from the session (``scope_of``), never from the page.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import dash
from dash import ClientsideFunction, Input, Output, State, ctx, no_update

from dashboard import figures, ids, layout, router, views
from dashboard.i18n import normalise, t
from dashboard.pages import replay as replay_page
from dashboard.queries import Queries, QueryError
from dashboard.replay_queries import ReplayQueries
from dashboard.scope import Scope
from dashboard.sender import ActionSender


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
    except QueryError as exc:
        unchanged = Overview(*[no_update] * len(Overview._fields))
        text = t("data_unavailable", lang, error=exc)
        return unchanged._replace(status=layout.status_banner(text))
    return Overview(
        city_name=layout.city_title(shapes),
        city_map=figures.city_map(shapes, rollups, metric, lang),
        district_table=layout.district_table(shapes, rollups, metric, lang),
        event_rate=figures.event_rate_chart(rates, lang),
        dead_letters=figures.dead_letter_chart(dead, lang),
        events_per_second=layout.events_per_second_text(rates),
        dead_letter_total=f"{dead.total:,}",
        last_data=layout.last_data_text(rates),
        status=layout.status_banner(""),
    )


@dataclass(frozen=True)
class Wiring:
    """What the callbacks need besides the queries."""

    scope_of: Callable[[], Scope]
    sender: ActionSender
    pages: router.PageSettings = field(default_factory=router.PageSettings)
    tile_url: str = ""
    clock: Callable[[], float] = time.time
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    replays: ReplayQueries | None = None


def register(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    """Wire every page's refresh and action to the app."""
    _register_overview(app, queries, wiring)
    _register_shell(app, queries, wiring)
    _register_tier(app, queries, wiring)
    _register_console(app, queries, wiring)
    _register_other_pages(app, queries, wiring)
    _register_replay(app, wiring)


def _register_overview(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    @app.callback(
        *OUTPUTS,
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.METRIC, "value"),
        State(ids.LANG, "data"),
    )
    def refresh(_tick: int | None, metric: str | None, lang: str | None) -> tuple[Any, ...]:
        return tuple(refresh_overview(queries, wiring.scope_of(), metric, normalise(lang)))


def _register_shell(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    @app.callback(
        Output(ids.HEADER, "children"),
        Output(ids.PAGE, "children"),
        Output(ids.ROOT, "className"),
        Input(ids.URL, "pathname"),
        Input(ids.LANG, "data"),
        State(ids.URL, "search"),
    )
    def route(pathname: str | None, lang: str | None, search: str | None) -> tuple[Any, ...]:
        return router.render(
            queries, wiring.scope_of(), pathname, search, normalise(lang), wiring.pages
        )

    @app.callback(
        Output(ids.LANG, "data"),
        Input(ids.LANG_EN, "n_clicks"),
        Input(ids.LANG_ZH, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose_language(_en: int | None, _zh: int | None) -> str:
        return "zh" if ctx.triggered_id == ids.LANG_ZH else "en"

    @app.callback(
        Output(ids.ALARM_IDS, "data"),
        Output(ids.ALARM_BANNER, "children"),
        Input(ids.SHELL_REFRESH, "n_intervals"),
        Input(ids.LANG, "data"),
    )
    def alarm(_tick: int | None, lang: str | None) -> tuple[Any, Any]:
        return views.refresh_alarm(queries, wiring.scope_of(), normalise(lang))

    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("citybrain", "alarm"),
        Output(ids.ALARM_SOUND, "children"),
        Input(ids.ALARM_IDS, "data"),
        State(ids.ALARM_SOUND, "children"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("citybrain", "toggleSound"),
        Output(ids.SOUND_TOGGLE, "className"),
        Input(ids.SOUND_TOGGLE, "n_clicks"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("citybrain", "fullScreen"),
        Output(ids.FULL_SCREEN, "className"),
        Input(ids.FULL_SCREEN, "n_clicks"),
        prevent_initial_call=True,
    )


def _register_tier(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    outputs = views.TierView(
        status=Output(ids.TIER_STATUS, "children"),
        stage=Output(ids.TIER_STAGE, "children"),
        kpis=Output(ids.TIER_KPIS, "children"),
        map=Output(ids.TIER_MAP, "figure"),
        children=Output(ids.TIER_CHILDREN, "children"),
        alerts=Output(ids.TIER_ALERTS, "children"),
        history=Output(ids.TIER_STAGE_HISTORY, "children"),
        activity=Output(ids.TIER_ACTIVITY, "figure"),
    )

    @app.callback(
        *outputs,
        Input(ids.TIER_REFRESH, "n_intervals"),
        State(ids.URL, "pathname"),
        State(ids.URL, "search"),
        State(ids.LANG, "data"),
    )
    def refresh(
        _tick: int | None, pathname: str | None, search: str | None, lang: str | None
    ) -> tuple[Any, ...]:
        return tuple(
            views.refresh_tier(
                queries, wiring.scope_of(), pathname, search, normalise(lang), wiring.tile_url
            )
        )

    @app.callback(
        Output(ids.URL, "href"), Input(ids.TIER_MAP, "clickData"), prevent_initial_call=True
    )
    def drill_down(click: dict[str, Any] | None) -> Any:
        target = views.drill_target(click)
        return target if target else no_update


def _register_console(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    @app.callback(
        Output(ids.CONSOLE_STATUS, "children"),
        Output(ids.CONSOLE_LIST, "children"),
        Output(ids.CONSOLE_DETAIL, "children"),
        Output(ids.CONSOLE_TRAIL, "children"),
        Input(ids.CONSOLE_REFRESH, "n_intervals"),
        Input(ids.CONSOLE_FILTER, "value"),
        Input(ids.CONSOLE_URL, "search"),
        State(ids.LANG, "data"),
    )
    def refresh(
        _tick: int | None, show: str | None, search: str | None, lang: str | None
    ) -> tuple[Any, ...]:
        return tuple(
            views.refresh_console(queries, wiring.scope_of(), search, show, normalise(lang))
        )

    @app.callback(
        Output(ids.ACTION_RESULT, "children"),
        Input(ids.ACTION_SUBMIT, "n_clicks"),
        State(ids.CONSOLE_URL, "search"),
        State(ids.ACTION_KIND, "value"),
        State(ids.ACTION_ASSIGNEE, "value"),
        State(ids.ACTION_COMMENT, "value"),
        State(ids.LANG, "data"),
        prevent_initial_call=True,
    )
    def act(
        clicks: int | None,
        search: str | None,
        action: str | None,
        assignee: str | None,
        comment: str | None,
        lang: str | None,
    ) -> Any:
        if not clicks:
            return no_update
        return views.submit_action(
            queries,
            wiring.sender,
            wiring.scope_of(),
            search,
            action,
            assignee,
            comment,
            normalise(lang),
            int(wiring.clock() * 1000),
            wiring.new_id(),
        )


def _register_other_pages(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    @app.callback(
        Output(ids.CASES_STATUS, "children"),
        Output(ids.CASES_LIST, "children"),
        Input(ids.CASES_REFRESH, "n_intervals"),
        Input(ids.CASES_FILTER, "value"),
        State(ids.LANG, "data"),
    )
    def cases(_tick: int | None, show: str | None, lang: str | None) -> tuple[Any, Any]:
        return views.refresh_cases(queries, wiring.scope_of(), show, normalise(lang))

    @app.callback(
        Output(ids.CASE_TIMELINE, "children"),
        Input(ids.CASE_REFRESH, "n_intervals"),
        State(ids.URL, "pathname"),
        State(ids.LANG, "data"),
    )
    def case(_tick: int | None, pathname: str | None, lang: str | None) -> Any:
        return views.refresh_case(queries, wiring.scope_of(), pathname, normalise(lang))

    @app.callback(
        Output(ids.SENSOR_STATUS, "children"),
        Output(ids.SENSOR_CHART, "figure"),
        Output(ids.SENSOR_ALERTS, "children"),
        Input(ids.SENSOR_REFRESH, "n_intervals"),
        Input(ids.SENSOR_METRIC, "value"),
        State(ids.URL, "pathname"),
        State(ids.LANG, "data"),
    )
    def sensor(
        _tick: int | None, metric: str | None, pathname: str | None, lang: str | None
    ) -> tuple[Any, ...]:
        return tuple(
            views.refresh_sensor(queries, wiring.scope_of(), pathname, metric, normalise(lang))
        )

    @app.callback(
        Output(ids.QUALITY_STATUS, "children"),
        Output(ids.QUALITY_TABLE, "children"),
        Input(ids.QUALITY_REFRESH, "n_intervals"),
        State(ids.LANG, "data"),
    )
    def data_quality(_tick: int | None, lang: str | None) -> tuple[Any, Any]:
        now_ms = int(wiring.clock() * 1000)
        return views.refresh_quality(
            queries, wiring.scope_of(), normalise(lang), now_ms, wiring.pages.quality_minutes
        )


def _register_replay(app: dash.Dash, wiring: Wiring) -> None:
    @app.callback(
        Output(ids.REPLAY_LIST, "children"),
        Input(ids.REPLAY_LIST_LOAD, "data"),
        State(ids.LANG, "data"),
    )
    def replay_list(_load: Any, lang: str | None) -> Any:
        return replay_page.list_view(wiring.replays, wiring.scope_of(), normalise(lang))

    @app.callback(
        Output(ids.REPLAY_SLIDER, "min"),
        Output(ids.REPLAY_SLIDER, "max"),
        Output(ids.REPLAY_SLIDER, "value"),
        Output(ids.REPLAY_STATUS, "children"),
        Input(ids.REPLAY_NAME, "data"),
        State(ids.LANG, "data"),
    )
    def replay_setup(name: str | None, lang: str | None) -> tuple[Any, ...]:
        return replay_page.setup(wiring.replays, wiring.scope_of(), name, normalise(lang))

    @app.callback(
        Output(ids.REPLAY_SLIDER, "value", allow_duplicate=True),
        Output(ids.REPLAY_TICK, "disabled"),
        Input(ids.REPLAY_PLAY, "n_clicks"),
        Input(ids.REPLAY_PAUSE, "n_clicks"),
        Input(ids.REPLAY_TICK, "n_intervals"),
        State(ids.REPLAY_SLIDER, "value"),
        State(ids.REPLAY_SLIDER, "min"),
        State(ids.REPLAY_SLIDER, "max"),
        prevent_initial_call=True,
    )
    def replay_play(
        _play: int | None, _pause: int | None, _tick: int | None,
        value: int | None, low: int | None, high: int | None,
    ) -> tuple[Any, bool]:  # fmt: skip
        trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
        moved, stopped = replay_page.play(trigger, value, int(low or 0), int(high or 1))
        return (no_update if moved is None else moved), stopped

    @app.callback(
        Output(ids.REPLAY_MAP, "figure"),
        Output(ids.REPLAY_ALERTS, "children"),
        Output(ids.REPLAY_STAGES, "children"),
        Output(ids.REPLAY_MOMENT, "children"),
        Input(ids.REPLAY_SLIDER, "value"),
        State(ids.REPLAY_NAME, "data"),
        State(ids.LANG, "data"),
    )
    def replay_moment(value: int | None, name: str | None, lang: str | None) -> tuple[Any, ...]:
        return replay_page.moment(wiring.replays, wiring.scope_of(), name, value, normalise(lang))
