"""The overview's callback, called directly with FakeQueries, and once through Dash (logged
in: every callback needs a session and its CSRF token)."""

from __future__ import annotations

import json
import socket

import dash
import plotly.graph_objects as go
import pytest
from dash import ClientsideFunction, no_update
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry

from dashboard import callbacks, ids
from dashboard.app import create_app
from dashboard.audit import MemoryAuditLog
from dashboard.metrics import DashboardMetrics, InstrumentedQueries
from dashboard.queries import QueryError
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from dashboard.users import demo_store
from infra.settings import DashboardSettings, load
from tests.dashboard_fake import FakeQueries

COMMANDER = Scope(Role.CITY_COMMANDER, "", "commander")


def test_refresh_renders_every_panel_from_the_queries() -> None:
    overview = callbacks.refresh_overview(FakeQueries(), COMMANDER, "pm25")
    assert overview.city_name == "Citybrain 城脑市"
    assert isinstance(overview.city_map, go.Figure)
    assert "pm25" in overview.city_map.layout.title.text
    assert len(overview.event_rate.data[0].x) == 29
    assert list(overview.dead_letters.data[0].x) == ["out_of_range", "bad_json", "unknown_source"]
    # The fake's newest minute is 08:29 with 6870 events; the last full one is 08:28, and
    # the rate chart stops there too (no dip at its right edge). The page says so.
    assert overview.events_per_second == "114.0 (08:28)"
    assert overview.minute == "last complete minute 08:28 UTC"
    assert list(overview.event_rate.data[0].y)[-1] == 6840 / 60
    # The roll-up query gives complete minutes only: the map says which one it shows.
    assert "last complete minute 08:29 UTC" in overview.city_map.layout.title.text
    assert overview.dead_letter_total == "7"
    assert overview.last_data == "2025-11-26 08:29 UTC"
    assert overview.status == []


def test_refresh_follows_the_metric_selector() -> None:
    overview = callbacks.refresh_overview(FakeQueries(), COMMANDER, "water_level")
    assert "water_level (m)" in overview.city_map.layout.title.text
    assert overview.district_table.children[0].children == "water_level (m)"


def test_refresh_speaks_chinese() -> None:
    overview = callbacks.refresh_overview(FakeQueries(), COMMANDER, "pm25", "zh")
    assert (
        overview.city_map.layout.title.text
        == "pm25 (ug/m3)：最新1分钟均值 · 最近完整分钟 08:29 UTC"
    )
    assert overview.minute == "最近完整分钟 08:28 UTC"
    assert overview.event_rate.layout.title.text == "每秒事件数（全市，按分钟）"
    assert overview.district_table.children[1].children.children[2].children == "时间窗（UTC）"
    failing = callbacks.refresh_overview(FakeQueries(error=QueryError("x")), COMMANDER, None, "zh")
    assert failing.status[0].children == "数据源不可用：x"


def test_refresh_without_a_metric_uses_the_default() -> None:
    overview = callbacks.refresh_overview(FakeQueries(), COMMANDER, None)
    assert "pm25" in overview.city_map.layout.title.text


def test_refresh_of_an_empty_database_says_no_data_yet() -> None:
    overview = callbacks.refresh_overview(FakeQueries.empty(), COMMANDER, "pm25")
    assert overview.city_map.layout.annotations[0].text == "no district map yet"
    assert overview.event_rate.layout.annotations[0].text == "no data yet"
    assert overview.dead_letters.layout.annotations[0].text == "no dead letters"
    assert overview.district_table.children == "no data yet"
    assert (overview.events_per_second, overview.dead_letter_total, overview.last_data) == (
        "—",
        "0",
        "—",
    )


def test_refresh_when_the_data_source_fails_keeps_the_page_and_says_so() -> None:
    overview = callbacks.refresh_overview(
        FakeQueries(error=QueryError("connection refused")), COMMANDER, "pm25"
    )
    (banner,) = overview.status
    assert banner.children == "data source unavailable: connection refused"
    assert all(value is no_update for value in overview[:-1])


def test_a_bug_is_not_dressed_up_as_an_unavailable_source() -> None:
    with pytest.raises(ZeroDivisionError):
        callbacks.refresh_overview(FakeQueries(error=ZeroDivisionError()), COMMANDER, "pm25")


def test_instrumented_queries_time_every_query_and_count_failures() -> None:
    registry = CollectorRegistry()
    metrics = DashboardMetrics(registry)
    InstrumentedQueries(FakeQueries(), metrics).event_rate(COMMANDER)
    failing = InstrumentedQueries(FakeQueries(error=QueryError("down")), metrics)
    with pytest.raises(QueryError):
        failing.dead_letter_counts(COMMANDER)
    sample = registry.get_sample_value
    assert sample("citybrain_dashboard_query_seconds_count", {"query": "event_rate"}) == 1
    assert sample("citybrain_dashboard_query_seconds_count", {"query": "dead_letter_counts"}) == 1
    assert sample("citybrain_dashboard_query_errors_total", {"query": "dead_letter_counts"}) == 1
    assert sample("citybrain_dashboard_query_errors_total", {"query": "event_rate"}) is None


def _app(queries: FakeQueries | None = None, **kwargs: object) -> dash.Dash:
    """The app with the demo users in memory and actions kept, not sent."""
    settings = load(DashboardSettings, dashboard_secret_key="test-secret", **kwargs)
    return create_app(
        settings,
        queries,
        CollectorRegistry(),
        users=demo_store(),
        sender=RecordingSender(),
        audit=MemoryAuditLog(),
    )


def _logged_in(app: dash.Dash) -> FlaskClient:
    """A test client logged in as the demo city commander."""
    client = app.server.test_client()
    client.post("/login", data={"username": "commander", "password": "commander-demo"})
    return client


def _update(app: dash.Dash, metric: str) -> dict[str, object]:
    """POST one refresh to Dash as the browser would, and return the outputs by id."""
    outputs = [{"id": o.component_id, "property": o.component_property} for o in callbacks.OUTPUTS]
    (callback_key,) = [key for key in app.callback_map if f"{ids.CITY_NAME}.children" in key]
    body = {
        "output": callback_key,
        "outputs": outputs,
        "inputs": [
            {"id": ids.REFRESH, "property": "n_intervals", "value": 1},
            {"id": ids.METRIC, "property": "value", "value": metric},
        ],
        "state": [{"id": ids.LANG, "property": "data", "value": "en"}],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"],
    }
    client = _logged_in(app)
    token = client.get_cookie("_csrf_token")
    assert token is not None
    response = client.post(
        "/_dash-update-component", json=body, headers={"X-CSRFToken": token.value}
    )
    assert response.status_code == 200, response.data
    return json.loads(response.data)["response"]  # type: ignore[no-any-return]


def test_the_registered_callback_serves_the_overview_through_dash() -> None:
    app = _app(FakeQueries())
    response = _update(app, "pm25")
    assert response[ids.CITY_NAME] == {"children": "Citybrain 城脑市"}
    assert response[ids.KPI_DEAD_LETTERS] == {"children": "7"}
    assert response[ids.STATUS] == {"children": []}


def test_a_failing_data_source_shows_in_the_page_and_is_counted() -> None:
    registry = CollectorRegistry()
    settings = load(DashboardSettings, dashboard_secret_key="test-secret")
    app = create_app(
        settings,
        FakeQueries(error=QueryError("down")),
        registry,
        users=demo_store(),
        sender=RecordingSender(),
        audit=MemoryAuditLog(),
    )
    response = _update(app, "pm25")
    assert set(response) == {ids.STATUS}
    assert "data source unavailable: down" in json.dumps(response[ids.STATUS])
    errors = registry.get_sample_value(
        "citybrain_dashboard_query_errors_total", {"query": "district_shapes"}
    )
    assert errors == 1


def test_the_page_is_served_with_local_assets() -> None:
    app = _app(FakeQueries.empty())
    client = _logged_in(app)
    page = client.get("/")
    assert page.status_code == 200
    assert b"unpkg.com" not in page.data and b"cdn" not in page.data.lower()
    assert client.get("/_dash-layout").status_code == 200


def test_an_unreachable_clickhouse_shows_as_unavailable_not_as_a_crash() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = int(sock.getsockname()[1])
    registry = CollectorRegistry()
    settings = load(DashboardSettings, clickhouse_port=closed_port, dashboard_secret_key="s")
    app = create_app(
        settings,
        registry=registry,
        users=demo_store(),
        sender=RecordingSender(),
        audit=MemoryAuditLog(),
    )
    response = _update(app, "pm25")
    assert "data source unavailable: " in json.dumps(response[ids.STATUS])
    assert "Connection refused" in json.dumps(response[ids.STATUS])
    assert (
        registry.get_sample_value(
            "citybrain_dashboard_query_errors_total", {"query": "district_shapes"}
        )
        == 1
    )


def test_every_row_of_the_callback_table_is_registered_once() -> None:
    wiring = callbacks.Wiring(scope_of=lambda: COMMANDER, sender=RecordingSender())
    rows = callbacks.table(FakeQueries(), wiring)
    app = _app(FakeQueries())
    assert len(app._callback_list) == len(app.callback_map) == len(rows)


# These two read which button fired (dash.ctx): the browser tests drive them.
_TRIGGERED = {ids.LANG, ids.REPLAY_TICK}


def test_every_view_of_the_table_answers_each_output_it_writes() -> None:
    wiring = callbacks.Wiring(scope_of=lambda: COMMANDER, sender=RecordingSender())
    for row in callbacks.table(FakeQueries(), wiring):
        written = {output.component_id for output in row.outputs}
        if isinstance(row.view, ClientsideFunction) or written & _TRIGGERED:
            continue
        found = callbacks._answer(row)(*[None] * len(row.reads))
        if len(row.outputs) > 1:
            assert isinstance(found, tuple) and len(found) == len(row.outputs), written
