"""``citybrain-dashboard``: serve the command center."""

from __future__ import annotations

import argparse
import sys

from prometheus_client import start_http_server

from dashboard.app import create_app
from infra.settings import DashboardSettings, SettingsError, load


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="citybrain-dashboard", description=main.__doc__)
    parser.add_argument("--host", help="address to serve on (default CITYBRAIN_DASHBOARD_HOST)")
    parser.add_argument(
        "--port", type=int, help="port to serve on (default CITYBRAIN_DASHBOARD_PORT)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve the city overview, reading ClickHouse; metrics on the dashboard metrics port."""
    args = _parse(argv)
    overrides = {"dashboard_host": args.host, "dashboard_port": args.port}
    try:
        settings = load(DashboardSettings, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        print(f"citybrain-dashboard: {exc}", file=sys.stderr)
        return 2
    if settings.dashboard_metrics_port:
        start_http_server(settings.dashboard_metrics_port, addr=settings.metrics_addr)
    app = create_app(settings)
    print(
        f"citybrain-dashboard: serving http://{settings.dashboard_host}:{settings.dashboard_port}/",
        flush=True,
    )
    app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
