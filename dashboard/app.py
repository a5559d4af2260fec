"""Builds the Dash app of the command center from settings and a query provider."""

from __future__ import annotations

import dash
from prometheus_client import REGISTRY, CollectorRegistry

from dashboard import callbacks, layout
from dashboard.metrics import DashboardMetrics, InstrumentedQueries
from dashboard.queries import ClickHouseQueries, Queries
from infra.clickhouse import connect
from infra.settings import DashboardSettings


def create_app(
    settings: DashboardSettings,
    queries: Queries | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> dash.Dash:
    """The city overview app. ``queries`` defaults to the configured ClickHouse; every
    query is timed and its failures counted in ``registry``."""
    source = queries or ClickHouseQueries(lambda: connect(settings))
    instrumented = InstrumentedQueries(source, DashboardMetrics(registry))
    # Command centers run on closed networks: the JS and CSS come from this server, and
    # the page title stays put instead of flashing "Updating..." on every refresh.
    app = dash.Dash(__name__, title="citybrain", update_title="", serve_locally=True)
    app.layout = layout.build_layout(settings.dashboard_refresh_ms)
    callbacks.register(app, instrumented)
    return app
