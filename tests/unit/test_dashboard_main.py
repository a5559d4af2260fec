"""``citybrain-dashboard`` refuses bad settings with a message naming the variable."""

from __future__ import annotations

import pytest

from dashboard.__main__ import main


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
