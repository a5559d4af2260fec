"""The notify config: what a bad one says, and which webhooks each alert event goes to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import Decision
from detectors.contract.events import Location
from streams.notify_config import (
    ConfigError,
    NotifyConfig,
    load_config,
    parse_config,
    route,
)
from tests.unit.test_notify_format import alert_record, incident_record

ROOT = Path(__file__).resolve().parents[2]


def config(*hooks: dict[str, Any], environ: dict[str, str] | None = None) -> NotifyConfig:
    return parse_config({"webhooks": list(hooks)}, environ or {})


def hook(name: str, /, **fields: Any) -> dict[str, Any]:
    return {"name": name, "url": f"http://127.0.0.1:1/{name}", **fields}


# -- validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"min_level": "V"}, "webhook 'w' (#1): field min_level: unknown warning level 'V'"),
        ({"min_level": 3}, "webhook 'w' (#1): field min_level: give a level as IV, III, II or I"),
        ({"format": "slack"}, "webhook 'w' (#1): field format: Input should be 'generic'"),
        ({"tiers": ["grid", "town"]}, "webhook 'w' (#1): field tiers.1: Input should be"),
        ({"tiers": []}, "webhook 'w' (#1): field tiers: "),
        ({"districts": []}, "webhook 'w' (#1): field districts: "),
        ({"timeout_s": 0}, "webhook 'w' (#1): field timeout_s: Input should be greater than 0"),
        ({"kinds": ["raised", "exploded"]}, "webhook 'w' (#1): field kinds: unknown kinds"),
        ({"secret": "SEC1"}, "webhook 'w' (#1): field secret: only a dingtalk webhook"),
        ({"tierz": ["grid"]}, "webhook 'w' (#1): field tierz: Extra inputs are not permitted"),
        ({"url": "ftp://x/y"}, "webhook 'w' (#1): field url: must be an http:// or https://"),
        ({"url": "https://x/${TOKEN}"}, "webhook 'w' (#1): field url: environment variable TOKEN"),
        ({"name": "has space"}, "webhook 'has space' (#1): field name: String should match"),
    ],
)
def test_a_bad_webhook_is_named_with_its_field(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(hook("w", **bad))
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_missing_url_is_named_without_echoing_the_webhook() -> None:
    with pytest.raises(ConfigError, match=r"^webhook 'w' \(#2\): field url: Field required$"):
        config(hook("ok"), {"name": "w", "format": "wecom"})


def test_secrets_are_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        config(hook("w", url="ftp://robot/send?access_token=TOPSECRET"))
    assert "TOPSECRET" not in str(caught.value)


def test_names_are_unique() -> None:
    with pytest.raises(ConfigError, match=r"webhook 'a' \(#2\): field name: used by another"):
        config(hook("a"), hook("a"))


def test_not_a_list_of_webhooks() -> None:
    with pytest.raises(ConfigError, match="a list under 'webhooks'"):
        parse_config({"webhooks": {"name": "a"}}, {})
    with pytest.raises(ConfigError, match=r"webhook #1: Input should be a valid dictionary"):
        parse_config({"webhooks": ["a"]}, {})
    with pytest.raises(ConfigError, match="config: field hooks: Extra inputs"):
        parse_config({"hooks": []}, {})


def test_an_empty_file_means_no_webhooks(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("")
    assert load_config(path, {}) == NotifyConfig()


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("webhooks: [\n")
    with pytest.raises(ConfigError, match="notify.yaml: not valid YAML"):
        load_config(path, {})


def test_defaults_and_environment_references() -> None:
    parsed = config(
        hook("d", format="dingtalk", url="https://ding/send?access_token=${T}", secret="${S}",
             min_level="orange"),
        environ={"T": "tok", "S": "SEC9"},
    )  # fmt: skip
    only = parsed.webhooks[0]
    assert only.url.get_secret_value() == "https://ding/send?access_token=tok"
    assert only.secret is not None and only.secret.get_secret_value() == "SEC9"
    assert only.min_level.roman == "II"
    assert only.tiers == ("grid", "street", "district", "city") and only.districts is None
    assert "tok" not in repr(parsed) and "SEC9" not in repr(parsed)


def test_the_example_config_is_valid() -> None:
    environ = {"DINGTALK_CITY_TOKEN": "t", "DINGTALK_CITY_SECRET": "s", "WECOM_D1_KEY": "k"}
    example = load_config(ROOT / "deploy" / "notify.example.yaml", environ)
    assert [h.format for h in example.webhooks] == ["generic", "dingtalk", "wecom", "generic"]
    assert example.webhooks[-1].departments == ("water",)


# -- routing -----------------------------------------------------------------------------
ROUTES = config(
    hook("all"),
    hook("city", tiers=["district", "city"], min_level="II"),
    hook("d2", districts=["D2"], min_level="III"),
    hook("clears", kinds=["cleared", "incident_closed"]),
)


def names(record: dict[str, Any]) -> list[str]:
    return [h.name for h in route(ROUTES, record)]


def test_routing_by_tier_and_level() -> None:
    assert names(alert_record(level="II", tier="district")) == ["all", "city"]
    assert names(alert_record(level="III", tier="district")) == ["all"]  # below II
    assert names(alert_record(level="I", tier="street")) == ["all"]  # tier not taken


def test_routing_by_district() -> None:
    assert names(alert_record(level="III", tier="street", district="D2")) == ["all", "d2"]
    assert names(alert_record(level="IV", tier="grid", district="D2")) == ["all"]  # below III
    # a city-wide incident concerns every district
    assert names(incident_record(scope="city", district="D1")) == ["all", "city", "d2"]
    assert names(incident_record(scope="district", district="D1")) == ["all", "city"]


def test_notify_false_goes_nowhere() -> None:
    assert names(alert_record(notify=False)) == []


def test_only_notifiable_kinds_by_default() -> None:
    for kind in ("raised", "level_changed", "escalated", "incident_opened",
                 "incident_widened", "incident_level_changed", "incident_escalated"):  # fmt: skip
        assert "all" in names(alert_record(kind=kind)), kind
    for kind in ("cleared", "acknowledged", "grouped", "incident_closed"):
        assert "all" not in names(alert_record(kind=kind)), kind
    assert names(alert_record(kind="cleared")) == ["clears"]


def test_an_engine_alert_inside_an_incident_is_spoken_for_by_the_incident() -> None:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    decision = Decision("S1:pm25:condition", "condition", "S1", "pm25", where, "static",
                        0.9, 120.0, 0, threshold=115.0)  # fmt: skip
    events = [e.record() for e in AlertEngine().step([decision], now_ms=0)]
    assert [e["kind"] for e in events] == ["raised", "incident_opened", "grouped"]
    assert [e["kind"] for e in events if names(e)] == ["incident_opened"]
