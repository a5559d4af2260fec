"""``citybrain-dashboard``: serve the command center, or manage its users.

citybrain-dashboard [--host H] [--port P] [--workers N] [--dev] [--demo-users]
citybrain-dashboard users add|list|disable|demo ...   (see ``users --help``)

It serves through gunicorn (``CITYBRAIN_DASHBOARD_WORKERS`` processes of
``CITYBRAIN_DASHBOARD_THREADS`` threads; see :mod:`dashboard.serve`); ``--dev`` serves
through Werkzeug's development server, one process, for debugging only.
"""

from __future__ import annotations

import argparse
import os
import sys

from clickhouse_driver import Client

from dashboard import serve, users_cli
from dashboard.audit import ClickHouseAuditLog
from dashboard.users import ClickHouseUserStore
from infra.catalog import CatalogStore
from infra.clickhouse import connect, ensure_schema
from infra.settings import DashboardSettings, SettingsError, load


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="citybrain-dashboard", description=main.__doc__)
    parser.add_argument("--host", help="address to serve on (default CITYBRAIN_DASHBOARD_HOST)")
    parser.add_argument(
        "--port", type=int, help="port to serve on (default CITYBRAIN_DASHBOARD_PORT)"
    )
    parser.add_argument(
        "--workers", type=int, help="server processes (default CITYBRAIN_DASHBOARD_WORKERS)"
    )
    parser.add_argument(
        "--dev", action="store_true",
        help="Werkzeug's development server, one process (debugging only; not for screens)",
    )  # fmt: skip
    parser.add_argument(
        "--demo-users", action="store_true",
        help="create one user per role with the documented demo passwords first (local runs)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve the command center, reading ClickHouse; metrics on the dashboard metrics port."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["users"]:
        return _users(argv[1:])
    args = _parse(argv)
    overrides = {
        "dashboard_host": args.host, "dashboard_port": args.port,
        "dashboard_workers": args.workers,
    }  # fmt: skip
    try:
        settings = load(DashboardSettings, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        print(f"citybrain-dashboard: {exc}", file=sys.stderr)
        return 2
    if serve.needs_metrics_dir(settings, args.dev):
        # prometheus-client picks its multiprocess mode when first imported: start again
        os.environ[serve.METRICS_DIR_ENV] = serve.fresh_metrics_dir()
        os.execv(sys.executable, [sys.executable, "-m", "dashboard", *argv])
    if os.environ.get(serve.METRICS_DIR_ENV):
        serve.clear_metrics_dir(os.environ[serve.METRICS_DIR_ENV])
    if args.demo_users:
        ensure_schema(settings)
        _users_run(["demo"], settings)
    from dashboard.app import create_app  # after the metrics mode is settled

    app = create_app(settings)
    serve.preload(app)
    serve.start_metrics(settings)
    url = f"http://{settings.dashboard_host}:{settings.dashboard_port}/"
    if args.dev:
        print(f"citybrain-dashboard: serving {url} (development server)", flush=True)
        app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
        return 0
    workers = f"{settings.dashboard_workers} workers x {settings.dashboard_threads} threads"
    print(f"citybrain-dashboard: serving {url} ({workers})", flush=True)
    serve.CommandCenter(app.server, serve.gunicorn_options(settings)).run()
    return 0


def _users(argv: list[str]) -> int:
    try:
        settings = load(DashboardSettings)
    except SettingsError as exc:
        print(f"citybrain-dashboard: {exc}", file=sys.stderr)
        return 2
    ensure_schema(settings)
    return _users_run(argv, settings)


def _users_run(argv: list[str], settings: DashboardSettings) -> int:
    def client() -> Client:
        return connect(settings)

    catalog = CatalogStore(client, settings.clickhouse_database)
    return users_cli.run(argv, ClickHouseUserStore(client), ClickHouseAuditLog(client),
                         departments=lambda: catalog.departments().keys())  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
