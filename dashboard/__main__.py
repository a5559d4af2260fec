"""``citybrain-dashboard``: serve the command center, or manage its users.

citybrain-dashboard [--host H] [--port P] [--demo-users]
citybrain-dashboard users add|list|disable|demo ...   (see ``users --help``)
"""

from __future__ import annotations

import argparse
import sys

from clickhouse_driver import Client
from prometheus_client import start_http_server

from dashboard import users_cli
from dashboard.app import create_app
from dashboard.audit import ClickHouseAuditLog
from dashboard.users import ClickHouseUserStore
from infra.clickhouse import connect, ensure_schema
from infra.settings import DashboardSettings, SettingsError, load


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="citybrain-dashboard", description=main.__doc__)
    parser.add_argument("--host", help="address to serve on (default CITYBRAIN_DASHBOARD_HOST)")
    parser.add_argument(
        "--port", type=int, help="port to serve on (default CITYBRAIN_DASHBOARD_PORT)"
    )
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
    overrides = {"dashboard_host": args.host, "dashboard_port": args.port}
    try:
        settings = load(DashboardSettings, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        print(f"citybrain-dashboard: {exc}", file=sys.stderr)
        return 2
    if args.demo_users:
        ensure_schema(settings)
        _users_run(["demo"], settings)
    if settings.dashboard_metrics_port:
        start_http_server(settings.dashboard_metrics_port, addr=settings.metrics_addr)
    app = create_app(settings)
    print(
        f"citybrain-dashboard: serving http://{settings.dashboard_host}:{settings.dashboard_port}/",
        flush=True,
    )
    app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
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

    return users_cli.run(argv, ClickHouseUserStore(client), ClickHouseAuditLog(client))


if __name__ == "__main__":
    raise SystemExit(main())
