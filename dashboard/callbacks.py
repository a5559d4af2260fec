"""The callbacks of the command center: one table of thin adapters from the page to
:mod:`views`, :mod:`router`, the replay page and :func:`overview.refresh_overview`.

Everything a callback shows comes from a plain function of the query provider and the
viewer's scope, so tests call those with FakeQueries; the table only says which page
values each one reads and writes, and :func:`register` wires every row the same way. The
viewer's scope comes from the session (``scope_of``), never from the page.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, ctx, no_update
from dash.dependencies import DashDependency

from dashboard import ids, router, routes, views
from dashboard.i18n import normalise
from dashboard.overview import OUTPUTS, Overview, refresh_overview
from dashboard.pages import case_actions
from dashboard.pages import replay as replay_page
from dashboard.pages import sensor as sensor_page
from dashboard.pages import silences as silences_page
from dashboard.queries import Queries
from dashboard.replay_queries import ReplayQueries
from dashboard.scope import Scope
from dashboard.sender import ActionSender
from dashboard.sharing import SharedAnswers, encoded

__all__ = ["OUTPUTS", "Callback", "Overview", "Wiring", "refresh_overview", "register", "table"]


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
    shared_s: float = 0.0  # how long a refresh's answer serves every same viewer (0: never)


@dataclass(frozen=True)
class Callback:
    """One row of the table: what a callback writes, what it reads (in the order ``view``
    takes them; the language, wherever read, arrives normalised) and what computes the
    answer: a Python view, or a function of assets/citybrain.js run in the browser."""

    outputs: tuple[Output, ...]
    reads: tuple[DashDependency, ...]
    view: Callable[..., Any] | ClientsideFunction
    prevent_initial_call: bool | None = None
    shared: bool = False  # a periodic refresh: its answer is shared (see dashboard.sharing)
    # What of the viewer a shared answer depends on (None: all of the scope, the user too):
    # viewers alike in it share the answer.
    viewer: Callable[[Scope], Hashable] | None = None


def register(app: dash.Dash, queries: Queries, wiring: Wiring) -> None:
    """Wire every page's refresh and action to the app."""
    answers = SharedAnswers(wiring.shared_s)
    for index, callback in enumerate(table(queries, wiring)):
        dependencies = (*callback.outputs, *callback.reads)
        if isinstance(callback.view, ClientsideFunction):
            app.clientside_callback(  # type: ignore[no-untyped-call]
                callback.view, *dependencies, prevent_initial_call=callback.prevent_initial_call
            )
        else:
            answer = _answer(callback)
            if callback.shared:
                answer = encoded(answer, len(callback.outputs) > 1)
                answer = _shared(answer, index, callback, wiring.scope_of, answers)
            app.callback(*dependencies, prevent_initial_call=callback.prevent_initial_call)(answer)


def _shared(
    answer: Callable[..., Any], index: int, callback: Callback, scope_of: Callable[[], Scope],
    answers: SharedAnswers,
) -> Callable[..., Any]:  # fmt: skip
    """``answer``, shared by every request of the same viewer with the same page values
    (the refresh counter aside) for ``answers.ttl_s``."""
    counters = [d.component_property == "n_intervals" for d in callback.reads]
    viewer = callback.viewer or (lambda scope: scope)

    def shared_answer(*values: Any) -> Any:
        page = [v for v, counter in zip(values, counters, strict=True) if not counter]
        return answers.get((index, viewer(scope_of()), repr(page)), lambda: answer(*values))

    return shared_answer


def _answer(callback: Callback) -> Callable[..., Any]:
    """The function Dash calls: the page's values in, the view's answer out (a tuple when
    the callback writes several outputs)."""
    view = callback.view
    assert not isinstance(view, ClientsideFunction)
    is_lang = [dependency.component_id == ids.LANG for dependency in callback.reads]
    several = len(callback.outputs) > 1

    def answer(*values: Any) -> Any:
        page = [normalise(v) if lang else v for v, lang in zip(values, is_lang, strict=True)]
        found = view(*page)
        return tuple(found) if several and isinstance(found, tuple) else found

    return answer


def table(queries: Queries, wiring: Wiring) -> list[Callback]:
    """Every callback of the command center, page by page."""
    return [
        *_overview(queries, wiring),
        *_shell(queries, wiring),
        *_tier(queries, wiring),
        *_console(queries, wiring),
        *_other_pages(queries, wiring),
        *_replay(wiring),
        *_silences(queries, wiring),
        *_scorecard(queries, wiring),
    ]


LANG = State(ids.LANG, "data")


def _overview(queries: Queries, wiring: Wiring) -> list[Callback]:
    return [
        Callback(
            tuple(OUTPUTS),
            (Input(ids.REFRESH, "n_intervals"), Input(ids.METRIC, "value"), LANG),
            lambda _tick, metric, lang: refresh_overview(queries, wiring.scope_of(), metric, lang),
            shared=True,
        )
    ]


def _shell(queries: Queries, wiring: Wiring) -> list[Callback]:
    scope_of, pages = wiring.scope_of, wiring.pages
    return [
        Callback(
            (Output(ids.HEADER, "children"), Output(ids.PAGE, "children"),
             Output(ids.ROOT, "className")),
            (Input(ids.URL, "pathname"), Input(ids.LANG, "data"), State(ids.URL, "search")),
            lambda path, lang, search: router.render(
                queries, scope_of(), path, search, lang, pages
            ),
        ),
        Callback(
            (Output(ids.LANG, "data"),),
            (Input(ids.LANG_EN, "n_clicks"), Input(ids.LANG_ZH, "n_clicks"),
             Input(ids.URL, "search")),
            lambda _en, _zh, search: views.choose_language(
                ctx.triggered_id if isinstance(ctx.triggered_id, str) else None, search
            ),
        ),
        Callback(
            (Output(ids.ALARM_IDS, "data"), Output(ids.ALARM_BANNER, "children")),
            (Input(ids.SHELL_REFRESH, "n_intervals"), Input(ids.LANG, "data")),
            lambda _tick, lang: views.refresh_alarm(queries, scope_of(), lang),
            shared=True,
        ),
        Callback(
            (Output(ids.DRILL_BANNER, "children"),),
            (Input(ids.SHELL_REFRESH, "n_intervals"), Input(ids.LANG, "data")),
            lambda _tick, lang: views.refresh_drills(
                queries, scope_of(), lang, int(wiring.clock() * 1000)
            ),
            shared=True,
        ),
        Callback(
            (Output(ids.ALARM_SOUND, "children"),),
            (Input(ids.ALARM_IDS, "data"), State(ids.ALARM_SOUND, "children")),
            ClientsideFunction("citybrain", "alarm"),
        ),
        Callback(
            (Output(ids.SOUND_TOGGLE, "className"),),
            (Input(ids.SOUND_TOGGLE, "n_clicks"),),
            ClientsideFunction("citybrain", "toggleSound"),
        ),
        Callback(
            (Output(ids.FULL_SCREEN, "className"),),
            (Input(ids.FULL_SCREEN, "n_clicks"),),
            ClientsideFunction("citybrain", "fullScreen"),
            prevent_initial_call=True,
        ),
    ]  # fmt: skip


def _tier(queries: Queries, wiring: Wiring) -> list[Callback]:
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
    return [
        Callback(
            tuple(outputs),
            (Input(ids.TIER_REFRESH, "n_intervals"), State(ids.URL, "pathname"),
             State(ids.URL, "search"), LANG),
            lambda _tick, path, search, lang: views.refresh_tier(
                queries, wiring.scope_of(), path, search, lang, wiring.tile_url
            ),
            shared=True,
        ),
        Callback(
            (Output(ids.URL, "href"),),
            (Input(ids.TIER_MAP, "clickData"),),
            lambda click: views.drill_target(click) or no_update,
            prevent_initial_call=True,
        ),
    ]  # fmt: skip


def _scorecard(queries: Queries, wiring: Wiring) -> list[Callback]:
    outputs = views.ScorecardView(
        status=Output(ids.SCORE_STATUS, "children"),
        minute=Output(ids.SCORE_MINUTE, "children"),
        cards=Output(ids.SCORE_CARDS, "children"),
        day=Output(ids.SCORE_DAY, "figure"),
        month=Output(ids.SCORE_MONTH, "figure"),
        children=Output(ids.SCORE_CHILDREN, "children"),
        worst=Output(ids.SCORE_WORST, "children"),
    )
    return [
        Callback(
            tuple(outputs),
            (Input(ids.SCORE_REFRESH, "n_intervals"), State(ids.URL, "pathname"),
             State(ids.URL, "search"), LANG),
            lambda _tick, path, search, lang: views.refresh_scorecard(
                queries, wiring.scope_of(), path, search, lang
            ),
            shared=True,
        )
    ]  # fmt: skip


def _console(queries: Queries, wiring: Wiring) -> list[Callback]:
    return [
        Callback(
            (Output(ids.CONSOLE_STATUS, "children"), Output(ids.CONSOLE_LIST, "children"),
             Output(ids.CONSOLE_DETAIL, "children"), Output(ids.CONSOLE_TRAIL, "children")),
            (Input(ids.CONSOLE_REFRESH, "n_intervals"), Input(ids.CONSOLE_FILTER, "value"),
             Input(ids.CONSOLE_URL, "search"), LANG),
            lambda _tick, show, search, lang: views.refresh_console(
                queries, wiring.scope_of(), search, show, lang, int(wiring.clock() * 1000)
            ),
            shared=True,
        ),
        Callback(
            (Output(ids.ACTION_RESULT, "children"),),
            (Input(ids.ACTION_SUBMIT, "n_clicks"), State(ids.CONSOLE_URL, "search"),
             State(ids.ACTION_KIND, "value"), State(ids.ACTION_ASSIGNEE, "value"),
             State(ids.ACTION_COMMENT, "value"), LANG),
            partial(_act, queries, wiring),
            prevent_initial_call=True,
        ),
    ]  # fmt: skip


def _act(
    queries: Queries, wiring: Wiring, clicks: int | None, search: str | None,
    action: str | None, assignee: str | None, comment: str | None, lang: str,
) -> Any:  # fmt: skip
    """Send an operator's action (only on a real click of the submit button)."""
    if not clicks:
        return no_update
    now_ms, action_id = int(wiring.clock() * 1000), wiring.new_id()
    return views.submit_action(
        queries, wiring.sender, wiring.scope_of(), search, action, assignee, comment, lang,
        now_ms, action_id,
    )  # fmt: skip


def _other_pages(queries: Queries, wiring: Wiring) -> list[Callback]:
    scope_of = wiring.scope_of
    return [
        Callback(
            (Output(ids.CASES_STATUS, "children"), Output(ids.CASES_LIST, "children")),
            (Input(ids.CASES_REFRESH, "n_intervals"), Input(ids.CASES_FILTER, "value"), LANG),
            lambda _tick, show, lang: views.refresh_cases(queries, scope_of(), show, lang),
            shared=True,
            viewer=views.cases_viewer,
        ),
        Callback(
            (Output(ids.CASE_TIMELINE, "children"),),
            (Input(ids.CASE_REFRESH, "n_intervals"), State(ids.URL, "pathname"), LANG),
            lambda _tick, path, lang: views.refresh_case(queries, scope_of(), path, lang),
            shared=True,
        ),
        Callback(
            (Output(ids.CASE_RESULT, "children"),),
            (Input(ids.CASE_SUBMIT, "n_clicks"), State(ids.URL, "pathname"),
             State(ids.CASE_ACTION, "value"), State(ids.CASE_DEPARTMENT, "value"),
             State(ids.CASE_SCORE, "value"), State(ids.CASE_COMMENT, "value"), LANG),
            partial(_case_act, queries, wiring),
            prevent_initial_call=True,
        ),
        Callback(
            (Output(ids.SENSOR_STATUS, "children"), Output(ids.SENSOR_CHART, "figure"),
             Output(ids.SENSOR_ALERTS, "children"), Output(ids.SENSOR_ALERTING, "children"),
             Output(ids.SENSOR_METRIC, "options")),
            (Input(ids.SENSOR_REFRESH, "n_intervals"), Input(ids.SENSOR_METRIC, "value"),
             State(ids.URL, "pathname"), LANG),
            lambda _tick, metric, path, lang: views.refresh_sensor(
                queries, scope_of(), path, metric, lang
            ),
            shared=True,
        ),
        Callback(
            (Output(ids.SENSOR_METRIC, "value"),),
            (Input(ids.URL, "search"), State(ids.SENSOR_METRIC, "options")),
            lambda search, options: sensor_page.metric_of_address(
                search, [o["value"] for o in options or []]
            ) or no_update,
            prevent_initial_call=True,
        ),
        _quality_refresh(
            (ids.QUALITY_STATUS, ids.QUALITY_TABLE, ids.QUALITY_REFRESH), views.refresh_quality,
            queries, wiring,
        ),
        _quality_refresh(
            (ids.CATALOG_STATUS, ids.CATALOG_TABLE, ids.CATALOG_REFRESH), views.refresh_catalog,
            queries, wiring,
        ),
    ]  # fmt: skip


def _quality_refresh(
    page_ids: tuple[str, str, str], view: Callable[..., Any], queries: Queries, wiring: Wiring
) -> Callback:
    """The periodic refresh of a page judged on the data-quality figures (the quality and
    catalog pages): its (status, table) written on each tick of its (refresh) interval."""
    status, table, refresh = page_ids
    return Callback(
        (Output(status, "children"), Output(table, "children")),
        (Input(refresh, "n_intervals"), LANG),
        lambda _tick, lang: view(
            queries, wiring.scope_of(), lang, int(wiring.clock() * 1000),
            wiring.pages.quality_minutes,
        ),
        shared=True,
    )  # fmt: skip


def _replay(wiring: Wiring) -> list[Callback]:
    replays, scope_of = wiring.replays, wiring.scope_of
    return [
        Callback(
            (Output(ids.REPLAY_LIST, "children"),),
            (Input(ids.REPLAY_LIST_LOAD, "data"), LANG),
            lambda _load, lang: replay_page.list_view(replays, scope_of(), lang),
        ),
        Callback(
            (Output(ids.REPLAY_SLIDER, "min"), Output(ids.REPLAY_SLIDER, "max"),
             Output(ids.REPLAY_SLIDER, "value"), Output(ids.REPLAY_STATUS, "children")),
            (Input(ids.REPLAY_NAME, "data"), LANG),
            lambda name, lang: replay_page.setup(replays, scope_of(), name, lang),
        ),
        # The buttons and the clock's ticks are two callbacks: Dash drops the answer to a
        # call that a newer call of the same callback overtook, so a tick must not be able
        # to overtake (and undo) a pause.
        Callback(
            (Output(ids.REPLAY_SLIDER, "value", allow_duplicate=True),
             Output(ids.REPLAY_TICK, "disabled")),
            (Input(ids.REPLAY_PLAY, "n_clicks"), Input(ids.REPLAY_PAUSE, "n_clicks"), *_RANGE),
            _play,
            prevent_initial_call=True,
        ),
        Callback(
            (Output(ids.REPLAY_SLIDER, "value", allow_duplicate=True),
             Output(ids.REPLAY_TICK, "disabled", allow_duplicate=True)),
            (Input(ids.REPLAY_TICK, "n_intervals"), *_RANGE),
            lambda _tick, value, low, high: _play(None, None, value, low, high),
            prevent_initial_call=True,
        ),
        Callback(
            (Output(ids.REPLAY_MAP, "figure"), Output(ids.REPLAY_ALERTS, "children"),
             Output(ids.REPLAY_STAGES, "children"), Output(ids.REPLAY_MOMENT, "children")),
            (Input(ids.REPLAY_SLIDER, "value"), State(ids.REPLAY_NAME, "data"), LANG),
            lambda value, name, lang: replay_page.moment(replays, scope_of(), name, value, lang),
        ),
        Callback(
            (Output(ids.REPLAY_ACTIVITY, "figure"), Output(ids.REPLAY_ROLLUP, "figure"),
             Output(ids.REPLAY_METRIC, "options"), Output(ids.REPLAY_METRIC, "value")),
            (Input(ids.REPLAY_NAME, "data"), Input(ids.REPLAY_METRIC, "value"),
             State(ids.REPLAY_SLIDER, "value"), LANG),
            lambda name, metric, value, lang: replay_page.charts(
                replays, scope_of(), name, metric, value, lang),
        ),
        Callback(
            (Output(ids.REPLAY_ACTIVITY, "figure", allow_duplicate=True),
             Output(ids.REPLAY_ROLLUP, "figure", allow_duplicate=True)),
            (Input(ids.REPLAY_SLIDER, "value"), State(ids.REPLAY_METRIC, "options"), LANG),
            replay_page.move_moment,
            prevent_initial_call=True,
        ),
    ]  # fmt: skip


_RANGE = (State(ids.REPLAY_SLIDER, "value"), State(ids.REPLAY_SLIDER, "min"),
          State(ids.REPLAY_SLIDER, "max"))  # fmt: skip


def _play(
    _play: int | None, _pause: int | None, value: int | None, low: int | None, high: int | None
) -> tuple[Any, Any]:
    """Move the replay's slider after a button or a tick of its clock."""
    trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
    moved, stopped = replay_page.play(trigger, value, int(low or 0), int(high or 1))
    return (no_update if moved is None else moved), (no_update if stopped is None else stopped)


def _silences(queries: Queries, wiring: Wiring) -> list[Callback]:
    return [
        Callback(
            (Output(ids.SILENCE_STATUS, "children"), Output(ids.SILENCE_LIST, "children"),
             Output(ids.SILENCE_PICK, "options")),
            (Input(ids.SILENCE_REFRESH, "n_intervals"), LANG),
            lambda _tick, lang: silences_page.refresh(
                queries, wiring.scope_of(), lang, int(wiring.clock() * 1000)
            ),
            shared=True,
        ),
        Callback(
            (Output(ids.SILENCE_RESULT, "children"),),
            (Input(ids.SILENCE_CREATE, "n_clicks"), Input(ids.SILENCE_EXPIRE, "n_clicks"),
             Input(ids.SILENCE_DELETE, "n_clicks"), State(ids.SILENCE_SCOPE, "value"),
             State(ids.SILENCE_VALUE, "value"), State(ids.SILENCE_FAMILY, "value"),
             State(ids.SILENCE_METRIC, "value"), State(ids.SILENCE_START, "value"),
             State(ids.SILENCE_HOURS, "value"), State(ids.SILENCE_REASON, "value"),
             State(ids.SILENCE_PICK, "value"), LANG),
            partial(_silence_act, queries, wiring),
            prevent_initial_call=True,
        ),
    ]  # fmt: skip


def _case_act(
    queries: Queries, wiring: Wiring, clicks: int | None, path: str | None,
    action: str | None, department: str | None, score: int | None, comment: str | None,
    lang: str,
) -> Any:  # fmt: skip
    """Send a case action (only on a real click of its button)."""
    if not clicks:
        return no_update
    route = routes.parse(path, "")
    return case_actions.submit(
        queries, wiring.sender, wiring.scope_of(), route.code,
        (action, department, score, comment), lang, int(wiring.clock() * 1000), wiring.new_id(),
    )  # fmt: skip


def _silence_act(queries: Queries, wiring: Wiring, *values: Any) -> Any:
    """Send a silence action (only on a real click of one of its buttons)."""
    *clicks, scope_kind, value, family, metric, start, hours, reason, pick, lang = values
    if not any(clicks):
        return no_update
    trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
    form = silences_page.SilenceForm(scope_kind, value, family, metric, start, hours, reason)
    return silences_page.submit(
        queries, wiring.sender, wiring.scope_of(), trigger, form, pick, lang,
        int(wiring.clock() * 1000), wiring.new_id,
    )  # fmt: skip
