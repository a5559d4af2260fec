"""``citybrain-dashboard`` refuses bad settings with a message naming the variable, and
serves through gunicorn with the configured workers."""

from __future__ import annotations

import pytest

from dashboard import serve
from dashboard.__main__ import main
from infra.settings import DashboardSettings, load


def test_a_bad_environment_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITYBRAIN_DASHBOARD_REFRESH_MS", "10")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("citybrain-dashboard: bad setting: CITYBRAIN_DASHBOARD_REFRESH_MS=")


def test_a_bad_port_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0"]) == 2
    assert "CITYBRAIN_DASHBOARD_PORT" in capsys.readouterr().err


def test_a_bad_worker_count_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workers", "0"]) == 2
    assert "CITYBRAIN_DASHBOARD_WORKERS" in capsys.readouterr().err


def test_gunicorn_serves_threaded_workers_on_the_configured_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(serve.METRICS_DIR_ENV, raising=False)
    settings = load(DashboardSettings, dashboard_host="::1", dashboard_port=8060,
                    dashboard_workers=5, dashboard_threads=2)  # fmt: skip
    options = serve.gunicorn_options(settings)
    assert options["bind"] == "[::1]:8060"
    assert (options["workers"], options["threads"], options["worker_class"]) == (5, 2, "gthread")
    assert options["graceful_timeout"] < 10  # a stop under load ends within 10 s
    assert serve.needs_metrics_dir(settings, dev=False)
    assert not serve.needs_metrics_dir(settings, dev=True)  # one process: its own metrics
    one = load(DashboardSettings, dashboard_workers=1)
    assert not serve.needs_metrics_dir(one, dev=False)
    monkeypatch.setenv(serve.METRICS_DIR_ENV, "/tmp/somewhere")
    assert not serve.needs_metrics_dir(settings, dev=False)  # already set: no restart
    assert "child_exit" in serve.gunicorn_options(settings)  # dead workers' files dropped
