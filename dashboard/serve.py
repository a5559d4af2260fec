"""Serving the command center: gunicorn by default, Werkzeug only for development.

Wall screens refresh every few seconds and operators act at the same time, so the
dashboard runs as several gunicorn worker processes, each with a few threads. The app is
built once in the master and the workers are forked from it (gunicorn's ``preload``), so
every worker signs sessions with the same key: a login made on one is valid on all, even
when ``CITYBRAIN_DASHBOARD_SECRET_KEY`` is empty. ClickHouse clients and the Kafka
producer are opened lazily, in the worker that uses them, never shared across a fork.

Prometheus metrics of several processes need prometheus-client's multiprocess mode, which
must be chosen before the library is first imported: :func:`needs_metrics_dir` tells the
command line to start itself again with ``PROMETHEUS_MULTIPROC_DIR`` set; the master then
serves the sum over its workers.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from infra.settings import DashboardSettings

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
GRACEFUL_S = 8
"""A stop waits this long for requests in flight, within ``scripts/up stop``'s limit."""


PRELOADED = ("numpy", "orjson")
"""Modules plotly imports on first use: imported lazily by several threads of a worker at
once, numpy fails half-initialised ("partially initialized module 'numpy'": HTTP 500 on
the first refreshes), so the master imports them before it forks."""


def preload(app: Any) -> None:
    """Import :data:`PRELOADED` and run Dash's first-request setup now, in this (the
    master) process, so every forked worker starts with both done.

    Dash registers the script paths it will serve (``registered_paths``) on a worker's
    first request, and marks the setup done before it has finished. A browser asks one
    worker for a dozen scripts at once: the threads behind the first one found the setup
    "done" and the paths still empty, and answered HTTP 500 ("dash" is not a registered
    library), so the page never started (a CI failure at login)."""
    for name in PRELOADED:
        importlib.import_module(name)
    with app.server.test_request_context("/"):
        app._setup_server()  # noqa: SLF001  # Dash has no public hook for it


class CommandCenter(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn running an already built WSGI app with options given as a dict."""

    def __init__(self, wsgi: Any, options: dict[str, Any]) -> None:
        self.application, self.options = wsgi, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def bind_address(host: str, port: int) -> str:
    """gunicorn's ``bind`` for a host and port (an IPv6 literal in brackets).

    >>> bind_address("127.0.0.1", 8050), bind_address("::1", 8050)
    ('127.0.0.1:8050', '[::1]:8050')
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_options(settings: DashboardSettings) -> dict[str, Any]:
    """The server's settings: threaded workers, quiet access log (Prometheus counts the
    requests), a graceful stop shorter than the stop scripts' patience."""
    options: dict[str, Any] = {
        "bind": bind_address(settings.dashboard_host, settings.dashboard_port),
        "workers": settings.dashboard_workers,
        "worker_class": "gthread",
        "threads": settings.dashboard_threads,
        "timeout": 60,
        "graceful_timeout": GRACEFUL_S,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "citybrain-dashboard",
    }
    if os.environ.get(METRICS_DIR_ENV):
        options["child_exit"] = _forget_worker
    return options


def _forget_worker(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def needs_metrics_dir(settings: DashboardSettings, dev: bool) -> bool:
    """Whether metrics from several processes are wanted but the multiprocess directory
    is not set yet (the caller then sets it and starts again)."""
    several = not dev and settings.dashboard_workers > 1
    return several and bool(settings.dashboard_metrics_port) and not os.environ.get(METRICS_DIR_ENV)


def fresh_metrics_dir() -> str:
    """A new, empty directory for the workers' metric files."""
    return tempfile.mkdtemp(prefix="citybrain-dashboard-metrics-")


def clear_metrics_dir(path: str) -> None:
    """Remove a previous run's metric files (the library's rule: wipe between runs)."""
    for stale in Path(path).glob("*.db"):
        stale.unlink(missing_ok=True)


def start_metrics(settings: DashboardSettings) -> None:
    """Serve Prometheus metrics: the sum over the workers in multiprocess mode, else this
    process's own."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    if not settings.dashboard_metrics_port:
        return
    if os.environ.get(METRICS_DIR_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        start_http_server(settings.dashboard_metrics_port, settings.metrics_addr, registry)
    else:
        start_http_server(settings.dashboard_metrics_port, addr=settings.metrics_addr)
