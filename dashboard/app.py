"""Builds the Dash app of the command center from settings, a query provider, a user
store and an action sender (each defaults to the configured service)."""

from __future__ import annotations

import time
from collections.abc import Callable

import dash
from prometheus_client import REGISTRY, CollectorRegistry

from dashboard import callbacks, headers, shell
from dashboard.audit import AuditLog, ClickHouseAuditLog
from dashboard.auth import Auth
from dashboard.metrics import DashboardMetrics, instrumented
from dashboard.queries import ClickHouseQueries, Queries
from dashboard.replay_queries import ReplayQueries
from dashboard.router import PageSettings
from dashboard.sender import ActionSender, KafkaActionSender
from dashboard.users import ClickHouseUserStore, UserStore
from infra.clickhouse import connect
from infra.settings import DashboardSettings


def create_app(
    settings: DashboardSettings,
    queries: Queries | None = None,
    registry: CollectorRegistry = REGISTRY,
    users: UserStore | None = None,
    sender: ActionSender | None = None,
    clock: Callable[[], float] = time.time,
    audit: AuditLog | None = None,
) -> dash.Dash:
    """The command center. ``queries`` defaults to the configured ClickHouse (every query
    timed and its failures counted in ``registry``), ``users`` to its users table,
    ``sender`` to the alert-actions Kafka topic and ``audit`` to the access audit table."""
    shared_s = settings.dashboard_refresh_ms / 2000  # half a refresh: at most that old
    source = queries or ClickHouseQueries(lambda: connect(settings), cases_ttl_s=shared_s)
    timed = instrumented(source, DashboardMetrics(registry))
    auth = Auth(
        users or ClickHouseUserStore(lambda: connect(settings)),
        settings,
        audit or ClickHouseAuditLog(lambda: connect(settings)),
        clock,
    )
    # Command centers run on closed networks: the JS and CSS come from this server, and
    # the page title stays put instead of flashing "Updating..." on every refresh.
    app = dash.Dash(
        __name__,
        title="citybrain",
        update_title="",
        serve_locally=True,
        suppress_callback_exceptions=True,  # each page brings its own components
    )
    auth.install(app.server)
    app.layout = shell.build_shell(settings.dashboard_refresh_ms, settings.dashboard_language)
    wiring = callbacks.Wiring(
        scope_of=auth.current_scope,
        sender=sender or KafkaActionSender(settings),
        pages=PageSettings(refresh_ms=settings.dashboard_refresh_ms),
        tile_url=settings.dashboard_tile_url,
        clock=clock,
        replays=ReplayQueries(lambda: connect(settings)),
        shared_s=shared_s,
    )
    callbacks.register(app, timed, wiring)
    headers.install(app, settings.dashboard_tile_url, settings.dashboard_secure_cookies)
    return app
