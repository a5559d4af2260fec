"""What a webhook receives for one alert event: generic JSON, or a DingTalk or WeCom robot
markdown message. Pure: a record (``AlertEvent.record()`` with the place names the worker
adds, as read from the alerts topic) in, a JSON-able dict out. Every message explains the
alert in Chinese and English (:mod:`detectors.alerting.explain`); ids are reference labels.

>>> record = {"kind": "raised", "ts": 1_714_543_385_000, "level": "II", "tier": "district",
...           "alert_id": "a1", "incident_id": "", "category": "condition", "city": "CB",
...           "district": "D1", "street": "D1-S1", "grid": "D1-S1-G01", "scope": "",
...           "reason": "static scored 0.90", "evidence": {"metric": "pm25", "value": 182.4,
...           "threshold": 150.0, "detector": "static", "source_id": "ENV-0003"},
...           "opened": 1_714_543_385_000, "places": {"D1": ["Riverside", "滨江区"],
...           "D1-S1-G01": ["Changhe 01", "长河01网格"]}}
>>> print(summary(record).replace(" · ", "\\n"))
II 橙色 重大 / orange major
新预警 alert raised
滨江区长河01网格空气污染：PM2.5 182.4 μg/m³，超过限值 150 μg/m³ 22%。
Air pollution at Changhe 01, Riverside district: PM2.5 182.4 μg/m³, 22 % over the limit 150 μg/m³.
2024-05-01 14:03:05 UTC+8
alert a1
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from detectors.alerting.escalation import TIERS
from detectors.alerting.explain import CHINA_TIME as CHINA_TIME
from detectors.alerting.explain import Explanation, explain, facts_of
from detectors.alerting.reasons import reason_text
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.events import METRICS
from detectors.contract.levels import WarningLevel, parse_level
from detectors.contract.places import AreaLevel, Location

WECOM_MAX_BYTES = 4096  # a WeCom robot rejects longer markdown content
FORMATS = ("generic", "dingtalk", "wecom")

COLOUR_ZH = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
TIER_ZH: dict[str, str] = {
    AreaLevel.GRID: "网格", AreaLevel.STREET: "街道", AreaLevel.DISTRICT: "区", AreaLevel.CITY: "市"
}  # fmt: skip
KIND_TEXT: dict[str, tuple[str, str]] = {
    AlertKind.RAISED: ("新预警", "alert raised"),
    AlertKind.LEVEL_CHANGED: ("预警等级变化", "alert level changed"),
    AlertKind.ESCALATED: ("预警升级", "alert escalated"),
    AlertKind.CLEARED: ("预警解除", "alert cleared"),
    AlertKind.ACKNOWLEDGED: ("已确认", "acknowledged"),
    AlertKind.GROUPED: ("并入事件", "grouped into incident"),
    AlertKind.INCIDENT_OPENED: ("新事件", "incident opened"),
    AlertKind.INCIDENT_WIDENED: ("事件范围扩大", "incident widened"),
    AlertKind.INCIDENT_LEVEL_CHANGED: ("事件等级变化", "incident level changed"),
    AlertKind.INCIDENT_ESCALATED: ("事件升级", "incident escalated"),
    AlertKind.INCIDENT_CLOSED: ("事件结束", "incident closed"),
    AlertKind.SILENCED: ("已静默", "silenced"),
    AlertKind.UNSILENCED: ("静默结束", "silence ended"),
}
ALL_CLEAR = (AlertKind.CLEARED, AlertKind.INCIDENT_CLOSED)
# DingTalk renders an HTML colour; yellow is darkened to stay readable on white.
DINGTALK_COLOUR = {"red": "#E02020", "orange": "#FA6400", "yellow": "#D4A000", "blue": "#1E6FD9"}
# WeCom has three colours only: orange-red for the two gravest levels, grey for the others,
# green for an all-clear.
WECOM_COLOUR = {
    WarningLevel.I: "warning",
    WarningLevel.II: "warning",
    WarningLevel.III: "comment",
    WarningLevel.IV: "comment",
}


class RecordError(ValueError):
    """An alerts-topic message that is not an alert event record."""


# -- the record --------------------------------------------------------------------------
def parse_record(raw: bytes | None) -> dict[str, Any]:
    """An alert event record from a message value; non-finite numbers become None."""
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise RecordError("not JSON") from None
    if not isinstance(data, dict):
        raise RecordError("not a JSON object")
    problem = record_problem(data)
    if problem:
        raise RecordError(problem)
    return dict(_finite(data))


def record_problem(record: Mapping[str, Any]) -> str:
    """What makes ``record`` unusable for routing and formatting ('' when nothing)."""
    for name, kind in (("event_id", str), ("kind", str), ("tier", str), ("notify", bool)):
        if not isinstance(record.get(name), kind):
            return f"{name} missing or not a {kind.__name__}"
    if not isinstance(record.get("ts"), int) or isinstance(record.get("ts"), bool):
        return "ts missing or not an integer"
    if record["tier"] not in TIERS:
        return f"unknown tier {record['tier']!r}"
    try:
        parse_level(str(record.get("level")))
    except ValueError as exc:
        return str(exc)
    return ""


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def level_of(record: Mapping[str, Any]) -> WarningLevel:
    return parse_level(str(record["level"]))


# -- phrases -----------------------------------------------------------------------------
def level_text(level: WarningLevel) -> str:
    """Both languages: ``'II 橙色 重大 / orange major'``."""
    return f"{level.roman} {COLOUR_ZH[level.colour]} {level.zh} / {level.colour} {level.en}"


def kind_text(kind: str) -> str:
    """``'新预警 alert raised'``; an unknown kind is shown as it is."""
    zh, en = KIND_TEXT.get(kind, ("", kind))
    return f"{zh} {en}".strip()


def local_time(ts_ms: int, seconds: bool = True) -> str:
    """Epoch milliseconds as China Standard Time, which command centers read."""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(CHINA_TIME)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC+8"


def number(value: Any) -> str:
    """A reading as people read it: at most three decimals, no trailing zeros."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "n/a"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def what_text(record: Mapping[str, Any]) -> str:
    """The measurement behind an alert, or an incident's size."""
    evidence = record.get("evidence") or {}
    if record.get("category") == Category.INCIDENT:
        count = f"{evidence.get('alerts', 0)} 条预警 active alerts"
        metrics = ", ".join(str(m) for m in evidence.get("metrics", []))
        return f"{count}: {metrics}" if metrics else count
    if record.get("category") == Category.CASE:
        case = f"{evidence.get('source_id', '')} ({evidence.get('case_category', '')})"
        late, limit = number(evidence.get("late_min")), number(evidence.get("limit_min"))
        step = evidence.get("step", "")
        return f"案件超时 case {case}: {step} {late} min past its {limit} min limit"
    metric = str(evidence.get("metric", ""))
    spec = METRICS.get(metric)
    value = evidence.get("value")
    parts = [f"{metric} {number(value)}{' ' + spec.unit if spec and value is not None else ''}"]
    if evidence.get("threshold") is not None:
        parts.append(f"(threshold {number(evidence['threshold'])})")
    if evidence.get("expected") is not None:
        parts.append(f"(expected {number(evidence['expected'])})")
    if evidence.get("forecast_ts_ms") is not None:
        crossing = local_time(int(evidence["forecast_ts_ms"]), seconds=False)
        parts.append(f"forecast to cross it at {crossing} 预计越限")
    if evidence.get("detector"):
        parts.append(f"by {evidence['detector']}")
    if evidence.get("source_id"):
        parts.append(f"at sensor {evidence['source_id']}")
    return " ".join(parts)


def where_text(record: Mapping[str, Any]) -> str:
    """Location codes, city first; an incident's stop at its scope."""
    codes = [str(record.get(level) or "") for level in reversed(TIERS)]
    scope = record.get("scope")
    if scope in TIERS:
        codes = codes[: len(TIERS) - TIERS.index(scope)]
    return " / ".join(c for c in codes if c) or "unknown"


def explained(record: Mapping[str, Any], lang: str) -> Explanation:
    """The record's explanation in ``lang``, with the place names the worker added."""
    places = record.get("places")
    names = {
        str(code): str(pair[1] if lang == "zh" else pair[0])
        for code, pair in (places.items() if isinstance(places, dict) else ())
        if isinstance(pair, list | tuple) and len(pair) == 2
    }
    where = Location(*(str(record.get(level) or "") for level in reversed(TIERS)))
    opened = record.get("opened")
    if not isinstance(opened, int) or isinstance(opened, bool) or opened <= 0:
        opened = int(record["ts"])  # a record from before events said when they began
    evidence = record.get("evidence")
    facts = facts_of(str(record.get("category") or ""), where, str(record.get("scope") or ""),
                     opened, evidence if isinstance(evidence, dict) else {})  # fmt: skip
    return explain(facts, lang, names, CHINA_TIME)


def explanation_text(record: Mapping[str, Any], lang: str) -> str:
    """The whole explanation in ``lang``; for an all-clear only what is over."""
    said = explained(record, lang)
    return said.ended if record.get("kind") in ALL_CLEAR else said.text


def headline_text(record: Mapping[str, Any], lang: str) -> str:
    """What, where, how far and the forecast in ``lang``; for an all-clear only what is
    over."""
    said = explained(record, lang)
    if record.get("kind") in ALL_CLEAR:
        return said.ended
    return ("" if lang == "zh" else " ").join(s for s in (said.headline, said.forecast) if s)


def reason_in_both(reason: str) -> str:
    """The worker's reason said in Chinese and English (once when it is not one it knows)."""
    zh, en = reason_text(reason, "zh"), reason_text(reason, "en")
    return en if zh == en else f"{zh} / {en}"


def subject_text(record: Mapping[str, Any]) -> str:
    if record.get("alert_id"):
        return f"alert {record['alert_id']}"
    return f"incident {record.get('incident_id', '')}"


def summary(record: Mapping[str, Any]) -> str:
    """One line with everything that matters, for logs, chat and SMS gateways: the
    explanation's headline in Chinese and English; the id last, as a reference."""
    return " · ".join(
        [
            level_text(level_of(record)),
            kind_text(str(record["kind"])),
            headline_text(record, "zh"),
            headline_text(record, "en"),
            local_time(int(record["ts"])),
            subject_text(record),
        ]
    )


def _lines(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows shared by the markdown formats."""
    tier = str(record["tier"])
    where = where_text(record)
    if record.get("scope"):
        where += f" (范围 scope: {TIER_ZH.get(record['scope'], '')} {record['scope']})"
    rows = [
        ("说明", explanation_text(record, "zh")),
        ("explanation", explanation_text(record, "en")),
        ("内容 what", what_text(record)),
        ("地点 where", where),
        ("时间 when", local_time(int(record["ts"]))),
        ("响应层级 tier", f"{TIER_ZH[tier]} {tier}"),
    ]
    if record.get("reason"):
        rows.append(("原因 reason", reason_in_both(str(record["reason"]))))
    if record.get("alert_id"):
        rows.append(("预警编号 alert id", str(record["alert_id"])))
    if record.get("incident_id"):
        rows.append(("事件编号 incident id", str(record["incident_id"])))
    return rows


def title(record: Mapping[str, Any]) -> str:
    """``'[II 橙色预警] 新预警 滨江区长河街道第01网格空气污染'``: what a phone shows in its
    notification."""
    level = level_of(record)
    kind_zh = KIND_TEXT.get(str(record["kind"]), (str(record["kind"]), ""))[0]
    parts = [f"[{level.roman} {COLOUR_ZH[level.colour]}预警]", kind_zh,
             explained(record, "zh").subject]  # fmt: skip
    return " ".join(p for p in parts if p)


# -- bodies ------------------------------------------------------------------------------
def generic_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as it is, plus a summary line and the explanation in both languages."""
    explanation = {lang: explanation_text(record, lang) for lang in ("zh", "en")}
    return {"summary": summary(record), "explanation": explanation, "event": dict(record)}


def dingtalk_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """A DingTalk custom robot markdown message (paragraphs: a single newline is lost)."""
    level = level_of(record)
    head = (
        f'#### <font color="{DINGTALK_COLOUR[level.colour]}">{level_text(level)}</font> '
        f"{kind_text(str(record['kind']))}"
    )
    rows = [f"**{label}**: {text}" for label, text in _lines(record)]
    return {
        "msgtype": "markdown",
        "markdown": {"title": title(record), "text": "\n\n".join([head, *rows])},
    }


def wecom_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """A WeCom (企业微信) group robot markdown message, with WeCom's own font colours."""
    level = level_of(record)
    colour = "info" if record["kind"] in ALL_CLEAR else WECOM_COLOUR[level]
    head = f'### <font color="{colour}">{level_text(level)}</font> {kind_text(str(record["kind"]))}'
    rows = [f"> {label}: {text}" for label, text in _lines(record)]
    return {"msgtype": "markdown", "markdown": {"content": clip_utf8("\n".join([head, *rows]))}}


def render(fmt: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The body a webhook of format ``fmt`` receives for ``record``."""
    if fmt == "dingtalk":
        return dingtalk_body(record)
    if fmt == "wecom":
        return wecom_body(record)
    if fmt == "generic":
        return generic_body(record)
    raise ValueError(f"unknown webhook format {fmt!r}")


def clip_utf8(text: str, limit: int = WECOM_MAX_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with DingTalk's signature: HMAC-SHA256 keyed by the secret over
    ``"<timestamp>\\n<secret>"``, base64 then URL-encoded; valid for an hour.

    >>> signed = dingtalk_signed_url("https://h/send?access_token=T", "SEC1", 1_700_000_000_000)
    >>> signed.split("&", 1)[1]
    'timestamp=1700000000000&sign=ukR4%2BWoOOBTGaOauYqugxVrMSFyr92q4hPxJxuOkiio%3D'
    """
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"
