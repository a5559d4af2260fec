"""The notifier's entry point: a bad config stops it with exit 2 and names the webhook and
field; a missing config means no webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.notifier import main


def test_a_bad_config_exits_2_naming_webhook_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "webhooks:\n"
        "  - {name: ok, url: 'http://127.0.0.1:1/a'}\n"
        "  - {name: district-ding, url: 'http://127.0.0.1:1/b', format: dingtalk,"
        " min_level: V}\n"
    )
    monkeypatch.setenv("CITYBRAIN_NOTIFY_CONFIG", str(path))
    assert main(["--check"]) == 2
    err = capsys.readouterr().err
    assert "bad notify config" in err
    assert "webhook 'district-ding' (#2): field min_level: unknown warning level 'V'" in err


def test_check_lists_the_webhooks_without_their_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "webhooks:\n"
        "  - name: city\n"
        "    url: https://oapi.dingtalk.com/robot/send?access_token=${TOKEN}\n"
        "    format: dingtalk\n"
        "    secret: SEC123\n"
        "    tiers: [district, city]\n"
        "    min_level: II\n"
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TOKEN", "TOPSECRET")
        assert main(["--check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "city: dingtalk, tiers district,city, level II and up, signed" in out
    assert "TOPSECRET" not in out and "SEC123" not in out


def test_a_missing_config_means_no_webhooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["--check", "--config", str(tmp_path / "absent.yaml")]) == 0
    assert "0 webhook(s)" in capsys.readouterr().out
    assert "no webhooks" in caplog.text


def test_a_bad_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITYBRAIN_NOTIFIER_METRICS_PORT", "99999")
    assert main(["--check"]) == 2
    assert "CITYBRAIN_NOTIFIER_METRICS_PORT" in capsys.readouterr().err
