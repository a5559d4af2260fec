"""What each webhook format sends for an alert and for an incident: golden bodies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from detectors.alerting.types import AlertEvent
from detectors.contract.events import Location
from detectors.contract.levels import WarningLevel
from streams.alerting import notice
from streams.notify_format import (
    FORMATS,
    RecordError,
    clip_utf8,
    dingtalk_signed_url,
    explanation_text,
    level_text,
    local_time,
    parse_record,
    record_problem,
    render,
    summary,
    title,
)

TS = 1_714_543_385_000  # 2024-05-01 06:03:05 UTC = 14:03:05 in Beijing
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
NAMES = {"CB": ("Citybrain City", "城市大脑示范市"), "D1": ("Riverside", "滨江区"),
         "D1-S1": ("Changhe", "长河街道"), "D1-S1-G01": ("Changhe grid 01", "长河街道第01网格"),
         "D2": ("West Lake", "西湖区")}  # fmt: skip


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
        opened_ms=TS,
    )  # fmt: skip
    return {**notice(event, NAMES), **changes}


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
        evidence={"alerts": 3, "metrics": ["water_level", "rainfall"], "lead": {
            "source_id": "WAT-0007", "metric": "water_level", "detector": "static",
            "value": 4.6, "threshold": 4.0, "category": "condition", "level": 4}},
        opened_ms=TS - 45 * 60_000,
    )  # fmt: skip
    return {**notice(event, NAMES), **changes}


def test_level_text_is_bilingual() -> None:
    assert level_text(WarningLevel.II) == "II 橙色 重大 / orange major"
    assert level_text(WarningLevel.I) == "I 红色 特别重大 / red especially major"
    assert level_text(WarningLevel.III) == "III 黄色 较大 / yellow large"
    assert level_text(WarningLevel.IV) == "IV 蓝色 一般 / blue general"


def test_time_is_shown_in_china_standard_time() -> None:
    assert local_time(TS) == "2024-05-01 14:03:05 UTC+8"
    assert local_time(1_714_580_000_000) == "2024-05-02 00:13:20 UTC+8"  # past midnight


ALERT_ZH = (
    "滨江区长河街道第01网格空气污染：PM2.5 182.4 μg/m³，超过限值 150 μg/m³ 22%。"
    "自2024-05-01 14:03 UTC+8起。"
    "首要处置：排查周边排放源（工地扬尘、交通、工业），通报生态环境部门，提醒敏感人群减少户外活动。"
)
ALERT_EN = (
    "Air pollution at Changhe grid 01, Riverside district: PM2.5 182.4 μg/m³, 22 % over the "
    "limit 150 μg/m³. Since 2024-05-01 14:03 UTC+8. First action: Check nearby emission "
    "sources (construction dust, traffic, industry), tell the environment bureau and advise "
    "sensitive groups to stay indoors."
)
INCIDENT_ZH = (
    "滨江区内涝风险：3条活动预警（水位、降雨量）；最严重：水位 4.6 m，超过限值 4 m 15%。"
    "自2024-05-01 13:18 UTC+8起。"
    "首要处置：查看河道和排水监控，通知防汛办，在低洼路段和下穿通道预置泵车和抢险人员。"
)
INCIDENT_EN = (
    "Flood risk in Riverside district: 3 active alerts (water level, rainfall); the gravest: "
    "water level 4.6 m, 15 % over the limit 4 m. Since 2024-05-01 13:18 UTC+8. First action: "
    "Check the river and drainage cameras, alert the flood-control office and get pumps and "
    "crews to low-lying roads and underpasses."
)


def test_generic_is_the_record_and_a_summary() -> None:
    record = alert_record()
    assert render("generic", record) == {
        "summary": "II 橙色 重大 / orange major · 新预警 alert raised · "
        "滨江区长河街道第01网格空气污染：PM2.5 182.4 μg/m³，超过限值 150 μg/m³ 22%。 · "
        "Air pollution at Changhe grid 01, Riverside district: PM2.5 182.4 μg/m³, 22 % over "
        "the limit 150 μg/m³. · 2024-05-01 14:03:05 UTC+8 · alert a-1",
        "explanation": {"zh": ALERT_ZH, "en": ALERT_EN},
        "event": record,
    }


def test_dingtalk_alert() -> None:
    assert render("dingtalk", alert_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[II 橙色预警] 新预警 滨江区长河街道第01网格空气污染",
            "text": '#### <font color="#FA6400">II 橙色 重大 / orange major</font> '
            "新预警 alert raised\n\n"
            f"**说明**: {ALERT_ZH}\n\n"
            f"**explanation**: {ALERT_EN}\n\n"
            "**内容 what**: pm25 182.4 ug/m3 (threshold 150) by static at sensor ENV-0003\n\n"
            "**地点 where**: CB / D1 / D1-S1 / D1-S1-G01\n\n"
            "**时间 when**: 2024-05-01 14:03:05 UTC+8\n\n"
            "**响应层级 tier**: 区 district\n\n"
            "**原因 reason**: 限值规则评分 0.90 / limit rule scored 0.90\n\n"
            "**预警编号 alert id**: a-1",
        },
    }


def test_wecom_alert() -> None:
    assert render("wecom", alert_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "content": '### <font color="warning">II 橙色 重大 / orange major</font> '
            "新预警 alert raised\n"
            f"> 说明: {ALERT_ZH}\n"
            f"> explanation: {ALERT_EN}\n"
            "> 内容 what: pm25 182.4 ug/m3 (threshold 150) by static at sensor ENV-0003\n"
            "> 地点 where: CB / D1 / D1-S1 / D1-S1-G01\n"
            "> 时间 when: 2024-05-01 14:03:05 UTC+8\n"
            "> 响应层级 tier: 区 district\n"
            "> 原因 reason: 限值规则评分 0.90 / limit rule scored 0.90\n"
            "> 预警编号 alert id: a-1",
        },
    }


def test_dingtalk_incident_shows_its_area_down_to_its_scope() -> None:
    assert render("dingtalk", incident_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[I 红色预警] 事件升级 滨江区内涝风险",
            "text": '#### <font color="#E02020">I 红色 特别重大 / red especially major</font> '
            "事件升级 incident escalated\n\n"
            f"**说明**: {INCIDENT_ZH}\n\n"
            f"**explanation**: {INCIDENT_EN}\n\n"
            "**内容 what**: 3 条预警 active alerts: water_level, rainfall\n\n"
            "**地点 where**: CB / D1 (范围 scope: 区 district)\n\n"
            "**时间 when**: 2024-05-01 14:03:05 UTC+8\n\n"
            "**响应层级 tier**: 市 city\n\n"
            "**原因 reason**: 范围扩大：升至市级响应 / spread wider: up to the city tier\n\n"
            "**事件编号 incident id**: i-1",
        },
    }


def test_wecom_incident() -> None:
    assert render("wecom", incident_record()) == {
        "msgtype": "markdown",
        "markdown": {
            "content": '### <font color="warning">I 红色 特别重大 / red especially major</font> '
            "事件升级 incident escalated\n"
            f"> 说明: {INCIDENT_ZH}\n"
            f"> explanation: {INCIDENT_EN}\n"
            "> 内容 what: 3 条预警 active alerts: water_level, rainfall\n"
            "> 地点 where: CB / D1 (范围 scope: 区 district)\n"
            "> 时间 when: 2024-05-01 14:03:05 UTC+8\n"
            "> 响应层级 tier: 市 city\n"
            "> 原因 reason: 范围扩大：升至市级响应 / spread wider: up to the city tier\n"
            "> 事件编号 incident id: i-1",
        },
    }


def test_an_all_clear_says_what_is_over_not_its_old_readings() -> None:
    record = alert_record(kind="cleared")
    assert "滨江区长河街道第01网格空气污染已解除。" in summary(record)
    assert "Air pollution at Changhe grid 01, Riverside district: over." in summary(record)
    assert "182.4" not in summary(record)


def test_a_record_without_place_names_still_explains_by_codes() -> None:
    """From a worker that had not loaded the city model yet (or an older one)."""
    record = {k: v for k, v in alert_record().items() if k not in ("places", "opened")}
    line = summary(record)
    assert "Air pollution at grid cell D1-S1-G01, district D1: PM2.5 182.4" in line
    assert "D1区D1-S1-G01网格空气污染" in line


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["raised", "level_changed", "escalated", "cleared"])
def test_no_id_in_any_explanation_sentence(fmt: str, kind: str) -> None:
    for record in (alert_record(kind=kind), incident_record()):
        zh, en = explanation_text(record, "zh"), explanation_text(record, "en")
        for text in (zh, en, title(record)):
            assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)
            assert not any(i in text for i in ("ENV-0003", "WAT-0007", "a-1", "i-1", "D1-S1"))
        body = json.dumps(render(fmt, record), ensure_ascii=False)
        assert zh in body and en in body  # both languages in every message


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
    record = alert_record(evidence=evidence)
    line = summary(record)
    assert (
        "Flood risk at Changhe grid 01, Riverside district: water level 3.42 m, the limit is "
        "3.7 m. Forecast: reaches the limit 3.7 m at 2024-05-01 14:27 UTC+8."
    ) in line
    assert "预测：将于2024-05-01 14:27 UTC+8达到限值 3.7 m。" in line
    text = render("dingtalk", record)["markdown"]["text"]
    assert (  # the evidence itself stays, as a reference under the explanation
        "water_level 3.42 m (threshold 3.7) (expected 2.9) forecast to cross it at "
        "2024-05-01 14:27 UTC+8 预计越限 by forecast at sensor WAT-0007"
    ) in text


def test_a_silent_sensor_has_no_value() -> None:
    silent = {"metric": "pm25", "value": float("nan"), "detector": "silent", "threshold": 600_000}
    raw = json.dumps(alert_record(category="fault", evidence=silent)).encode()
    record = parse_record(raw)  # NaN, as json.dumps writes it, is read as None
    assert record["evidence"]["value"] is None
    assert "the PM2.5 sensor has sent nothing for over 10 min" in summary(record)
    assert "PM2.5传感器超过10分钟无数据" in summary(record)
    assert "pm25 n/a" in render("wecom", record)["markdown"]["content"]
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


@pytest.mark.parametrize(
    ("reason", "row"),
    [
        ("unacknowledged for 30 min: to district",
         "30分钟未确认：升至区级响应 / unacknowledged for 30 min: up to the district tier"),
        ("area alert on signal_fault", "交通信号灯区域异常预警 / area alert on traffic signal"),
        ("below 0.35", "评分持续低于 0.35 / scores stayed below 0.35"),
        ("a reason from a newer worker", "a reason from a newer worker"),  # once, as it is
    ],
)  # fmt: skip
def test_the_reason_row_says_the_workers_reason_in_both_languages(reason: str, row: str) -> None:
    body = render("wecom", alert_record(reason=reason))["markdown"]["content"]
    assert f"> 原因 reason: {row}\n" in body
