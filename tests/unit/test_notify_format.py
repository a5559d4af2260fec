"""What each webhook format sends for an alert and for an incident: golden bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detectors.alerting.types import AlertEvent
from detectors.contract.events import Location
from detectors.contract.levels import WarningLevel
from streams.notify_format import (
    RecordError,
    clip_utf8,
    dingtalk_signed_url,
    level_text,
    local_time,
    parse_record,
    record_problem,
    render,
    summary,
)

TS = 1_714_543_385_000  # 2024-05-01 06:03:05 UTC = 14:03:05 in Beijing
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")


def alert_record(**changes: Any) -> dict[str, Any]:
    """A 'raised' event as the engine writes it to the alerts topic."""
    event = AlertEvent(
        event_id="e-1",
        kind="raised",
        ts_ms=TS,
        alert_id="a-1",
        incident_id="",
        key="ENV-0003:pm25:condition",
        category="condition",
        level=WarningLevel.II,
        tier="district",
        notify=True,
        reason="static scored 0.90",
        location=WHERE,
        evidence={
            "source_id": "ENV-0003", "metric": "pm25", "detector": "static", "value": 182.4,
            "score": 0.9, "threshold": 150.0, "forecast_ts_ms": None, "expected": None,
            "ts_ms": TS,
        },
    )  # fmt: skip
    return {**event.record(), **changes}


def incident_record(**changes: Any) -> dict[str, Any]:
    event = AlertEvent(
        event_id="e-2",
        kind="incident_escalated",
        ts_ms=TS,
        alert_id="",
        incident_id="i-1",
        key="",
        category="incident",
        level=WarningLevel.I,
        tier="city",
        notify=True,
        reason="spread: to city",
        location=WHERE,
        scope="district",
        evidence={"alerts": 3, "metrics": ["water_level", "rainfall"]},
    )
    return {**event.record(), **changes}


def test_level_text_is_bilingual() -> None:
    assert level_text(WarningLevel.II) == "II 橙色 重大 / orange major"
    assert level_text(WarningLevel.I) == "I 红色 特别重大 / red especially major"
    assert level_text(WarningLevel.III) == "III 黄色 较大 / yellow large"
    assert level_text(WarningLevel.IV) == "IV 蓝色 一般 / blue general"


def test_time_is_shown_in_china_standard_time() -> None:
    assert local_time(TS) == "2024-05-01 14:03:05 UTC+8"
    assert local_time(1_714_580_000_000) == "2024-05-02 00:13:20 UTC+8"  # past midnight


def test_generic_is_the_record_and_a_summary() -> None:
    record = alert_record()
    assert render("generic", record) == {
        "summary": "II 橙色 重大 / orange major · 新预警 alert raised · pm25 182.4 ug/m3 "
        "(threshold 150) by static at sensor ENV-0003 · CB / D1 / D1-S1 / D1-S1-G01 · "
        "2024-05-01 14:03:05 UTC+8 · alert a-1",
        "event": record,
    }


def test_dingtalk_alert() -> None:
    assert render("dingtalk", alert_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[II 橙色预警] 新预警 pm25 · D1-S1-G01",
            "text": '#### <font color="#FA6400">II 橙色 重大 / orange major</font> '
            "新预警 alert raised\n\n"
            "**内容 what**: pm25 182.4 ug/m3 (threshold 150) by static at sensor ENV-0003\n\n"
            "**地点 where**: CB / D1 / D1-S1 / D1-S1-G01\n\n"
            "**时间 when**: 2024-05-01 14:03:05 UTC+8\n\n"
            "**响应层级 tier**: 区 district\n\n"
            "**原因 reason**: static scored 0.90\n\n"
            "**预警编号 alert id**: a-1",
        },
    }


def test_wecom_alert() -> None:
    assert render("wecom", alert_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "content": '### <font color="warning">II 橙色 重大 / orange major</font> '
            "新预警 alert raised\n"
            "> 内容 what: pm25 182.4 ug/m3 (threshold 150) by static at sensor ENV-0003\n"
            "> 地点 where: CB / D1 / D1-S1 / D1-S1-G01\n"
            "> 时间 when: 2024-05-01 14:03:05 UTC+8\n"
            "> 响应层级 tier: 区 district\n"
            "> 原因 reason: static scored 0.90\n"
            "> 预警编号 alert id: a-1",
        },
    }


def test_dingtalk_incident_shows_its_area_down_to_its_scope() -> None:
    assert render("dingtalk", incident_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[I 红色预警] 事件升级 water_level, rainfall · D1",
            "text": '#### <font color="#E02020">I 红色 特别重大 / red especially major</font> '
            "事件升级 incident escalated\n\n"
            "**内容 what**: 3 条预警 active alerts: water_level, rainfall\n\n"
            "**地点 where**: CB / D1 (范围 scope: 区 district)\n\n"
            "**时间 when**: 2024-05-01 14:03:05 UTC+8\n\n"
            "**响应层级 tier**: 市 city\n\n"
            "**原因 reason**: spread: to city\n\n"
            "**事件编号 incident id**: i-1",
        },
    }


def test_wecom_incident() -> None:
    assert render("wecom", incident_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "content": '### <font color="warning">I 红色 特别重大 / red especially major</font> '
            "事件升级 incident escalated\n"
            "> 内容 what: 3 条预警 active alerts: water_level, rainfall\n"
            "> 地点 where: CB / D1 (范围 scope: 区 district)\n"
            "> 时间 when: 2024-05-01 14:03:05 UTC+8\n"
            "> 响应层级 tier: 市 city\n"
            "> 原因 reason: spread: to city\n"
            "> 事件编号 incident id: i-1",
        },
    }


@pytest.mark.parametrize(
    ("level", "kind", "colour"),
    [("I", "raised", "warning"), ("III", "raised", "comment"), ("IV", "raised", "comment"),
     ("II", "cleared", "info")],
)  # fmt: skip
def test_wecom_colours(level: str, kind: str, colour: str) -> None:
    content = render("wecom", alert_record(level=level, kind=kind))["markdown"]["content"]
    assert content.startswith(f'### <font color="{colour}">{level} ')


def test_forecast_and_expected_values_are_shown() -> None:
    evidence = {
        "metric": "water_level", "value": 3.42, "threshold": 3.7, "expected": 2.9,
        "forecast_ts_ms": TS + 24 * 60_000, "detector": "forecast", "source_id": "WAT-0007",
    }  # fmt: skip
    line = summary(alert_record(evidence=evidence))
    assert (
        "water_level 3.42 m (threshold 3.7) (expected 2.9) forecast to cross it at "
        "2024-05-01 14:27 UTC+8 预计越限 by forecast at sensor WAT-0007"
    ) in line


def test_a_silent_sensor_has_no_value() -> None:
    raw = json.dumps(alert_record(evidence={"metric": "pm25", "value": float("nan")})).encode()
    record = parse_record(raw)  # NaN, as json.dumps writes it, is read as None
    assert record["evidence"]["value"] is None
    assert "pm25 n/a ·" in summary(record)
    json.dumps(render("generic", record), allow_nan=False)  # valid JSON out


def test_wecom_content_is_clipped_to_4096_bytes() -> None:
    content = render("wecom", alert_record(reason="很长" * 3000))["markdown"]["content"]
    assert len(content.encode()) <= 4096 and content.endswith("...")
    assert clip_utf8("预警" * 10, 10) == "预警..."  # never half a character


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({**alert_record(), "level": "V"}).encode(), "unknown warning level"),
        (json.dumps({**alert_record(), "tier": "town"}).encode(), "unknown tier"),
        (json.dumps({**alert_record(), "notify": "yes"}).encode(), "notify"),
        (json.dumps({k: v for k, v in alert_record().items() if k != "ts"}).encode(), "ts"),
    ],
)
def test_unusable_messages_are_named(raw: bytes, problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        parse_record(raw)


def test_a_real_record_has_no_problem() -> None:
    assert record_problem(alert_record()) == "" and record_problem(incident_record()) == ""


def test_dingtalk_signature_matches_the_documented_scheme() -> None:
    # Reference value: printf '1700000000000\nSEC1' | openssl dgst -sha256 -hmac SEC1 -binary
    # | base64  ->  ukR4+WoOOBTGaOauYqugxVrMSFyr92q4hPxJxuOkiio=
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "SEC1",
                              1_700_000_000_000)  # fmt: skip
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000"
        "&sign=ukR4%2BWoOOBTGaOauYqugxVrMSFyr92q4hPxJxuOkiio%3D"
    )
    assert dingtalk_signed_url("http://h/x", "SEC1", 1).startswith("http://h/x?timestamp=1&")
