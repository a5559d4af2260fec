"""An alert's or incident's explanation in operator language, in English or Chinese: what,
where (area names, not codes or ids), how far from the limit or from normal, since when,
what the forecast says and the first action from the playbook.

It is rendered when shown, from the structured fields every alert already carries
(category, place codes, scope, opened time, evidence), so both languages come from one
stored row. Sentences never carry ids: a sensor id is a reference label beside them.

>>> from datetime import UTC
>>> from detectors.contract.places import Location
>>> names = {"D1": "Riverside", "D1-S1-G01": "Changhe grid 01"}
>>> evidence = {"metric": "water_level", "value": 4.2, "threshold": 4.0,
...             "detector": "static", "source_id": "WAT-0001"}
>>> facts = Facts("condition", Location("CB", "D1", "D1-S1", "D1-S1-G01"), "",
...               1_714_543_380_000, evidence)
>>> said = explain(facts, "en", names, UTC)
>>> said.headline
'Flood risk at Changhe grid 01, Riverside district: water level 4.2 m, 5 % over the limit 4 m.'
>>> said.since
'Since 2024-05-01 06:03 UTC.'
>>> print(explain(facts, "zh", {"D1": "滨江区", "D1-S1-G01": "长河街道第01网格"}, UTC).headline)
滨江区长河街道第01网格内涝风险：水位 4.2 m，超过限值 4 m 5%。
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from detectors.alerting.playbook import (
    CASE_KINDS,
    CASE_PLAY_OTHER,
    CASE_PLAYS,
    CASE_WAITING,
    DEVICE_FAULTS,
    OVERDUE_CASE,
    PLAYBOOK,
    metric_name,
    pick,
    playbook_key,
    unit_text,
)
from detectors.contract.alerts import Category
from detectors.contract.cases import DEPARTMENTS
from detectors.contract.catalog import DEFAULT_DEPARTMENTS
from detectors.contract.events import METRICS
from detectors.contract.places import AREA_LEVELS, AreaLevel, Location

CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
"""The time command centers read (notifications); the dashboard shows UTC."""
LEVEL_WORDS: dict[str, tuple[str, str]] = {
    AreaLevel.CITY: ("the city", "全市"), AreaLevel.DISTRICT: ("district", "区"),
    AreaLevel.STREET: ("street", "街道"), AreaLevel.GRID: ("grid cell", "网格"),
}  # fmt: skip
DEVICE_TEXT: dict[str, tuple[str, str]] = {
    "signal_fault": ("the traffic signal reports a fault", "交通信号灯报告故障"),
    "breaker_open": ("a breaker has opened", "断路器跳闸"),
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What an explanation is made from: the fields an alert or incident row carries."""

    category: str  # condition, area, fault, or incident
    location: Location
    scope: str  # an incident's extent ('' for an alert: its finest code)
    opened_ms: int  # 0 when unknown
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Sentences, each empty when there is nothing to say."""

    lang: str
    subject: str  # what and where: 'Flood risk at Changhe grid 01, Riverside district'
    headline: str  # what, where and how far: the line of a list
    since: str
    forecast: str
    action: str

    @property
    def sentences(self) -> tuple[str, ...]:
        return tuple(s for s in (self.headline, self.since, self.forecast, self.action) if s)

    @property
    def ended(self) -> str:
        """The sentence for an all-clear: its readings are no longer news."""
        return f"{self.subject}已解除。" if self.lang == "zh" else f"{self.subject}: over."

    @property
    def text(self) -> str:
        """The whole explanation as one paragraph."""
        return ("" if self.lang == "zh" else " ").join(self.sentences)


def explain(
    facts: Facts, lang: str, names: Mapping[str, str] | None = None, tz: tzinfo = CHINA_TIME
) -> Explanation:
    """The explanation of ``facts`` in ``lang`` ('zh' or 'en'); ``names`` maps area codes
    to their names in that language (a code without one is shown as a code)."""
    lang = "zh" if lang == "zh" else "en"
    place = place_text(facts.location, facts.scope, names or {}, lang)
    if facts.category == Category.CASE:
        return _explain_case(facts, place, lang, tz)
    if facts.category == Category.QUALITY:
        return _explain_quality(facts, place, lang, tz)
    incident = facts.category == Category.INCIDENT
    lead = _lead(facts)
    key = _play_of(facts, lead)
    hazard = _hazards(facts, lang) if incident else pick(PLAYBOOK[key].hazard, lang)
    measure = _incident_measure(facts, lead, lang) if incident else _measure(facts, lead, lang)
    if lang == "zh":
        subject, headline = f"{place}{hazard}", f"{place}{hazard}：{measure}。"
        action = f"首要处置：{PLAYBOOK[key].action[1]}"
    else:
        subject = f"{hazard} {'in' if incident else 'at'} {place}"
        headline = f"{subject}: {measure}."
        action = f"First action: {PLAYBOOK[key].action[0]}"
    return Explanation(lang, subject, headline, since_text(facts.opened_ms, lang, tz),
                       forecast_text(lead, lang, tz), action)  # fmt: skip


def facts_of(
    category: str, location: Location, scope: str, opened_ms: int, evidence: Mapping[str, Any]
) -> Facts:
    """Facts from the fields of a stored row or an alert event record."""
    return Facts(str(category), location, str(scope or ""), int(opened_ms or 0), evidence or {})


def _play_of(facts: Facts, lead: Mapping[str, Any]) -> str:
    """The playbook entry: an alert's own, an incident's by its gravest alert (or its first
    metric while none is active)."""
    if facts.category != Category.INCIDENT:
        return playbook_key(facts.category, str(facts.evidence.get("metric", "")))
    metric = lead.get("metric") or next(iter(_metrics(facts)), "")
    return playbook_key(str(lead.get("category") or Category.CONDITION), str(metric))


# -- where -----------------------------------------------------------------------------
def place_text(location: Location, scope: str, names: Mapping[str, str], lang: str) -> str:
    """The area by name: a grid cell or street with its district, an incident's at its
    scope (``'Changhe grid 01, Riverside district'``, ``'滨江区长河街道第01网格'``)."""
    level = scope if scope in AREA_LEVELS else _finest(location)
    own = _area_name(location.code(level), level, names, lang)
    if level == AreaLevel.CITY or not own:
        return own or pick(LEVEL_WORDS[AreaLevel.CITY], lang)
    if level == AreaLevel.DISTRICT or not location.district:
        return own
    district = _area_name(location.district, AreaLevel.DISTRICT, names, lang)
    return f"{district}{own}" if lang == "zh" else f"{own}, {district}"


def _finest(location: Location) -> str:
    return next((lv for lv in reversed(AREA_LEVELS) if location.code(lv)), AreaLevel.CITY)


def _area_name(code: str, level: str, names: Mapping[str, str], lang: str) -> str:
    if not code:
        return ""
    word = pick(LEVEL_WORDS[level], lang)
    name = names.get(code, "")
    if not name and level == AreaLevel.CITY:
        return word
    if not name:  # no name known: the code, said what it is
        return f"{code}{word}" if lang == "zh" else f"{word} {code}"
    if lang == "en" and level in (AreaLevel.STREET, AreaLevel.DISTRICT):
        return name if word in name.lower() else f"{name} {word}"  # no 'X Street street'
    return name


# -- what and how far ------------------------------------------------------------------
def _lead(facts: Facts) -> Mapping[str, Any]:
    """The evidence to measure: an alert's own, or an incident's gravest alert's."""
    if facts.category == Category.INCIDENT:
        lead = facts.evidence.get("lead")
        return lead if isinstance(lead, Mapping) else {}
    return facts.evidence


def _hazards(facts: Facts, lang: str) -> str:
    """An incident's hazards, one per playbook entry of its metrics."""
    metrics = _metrics(facts) or [""]
    seen: list[tuple[str, str]] = []
    for metric in metrics:
        hazard = PLAYBOOK[playbook_key(Category.CONDITION, metric)].hazard
        if hazard not in seen:
            seen.append(hazard)
    if lang == "zh":
        return "、".join(h[1] for h in seen)
    return " and ".join([seen[0][0], *(h[0].lower() for h in seen[1:])])


def _measure(facts: Facts, evidence: Mapping[str, Any], lang: str) -> str:
    metric = str(evidence.get("metric", ""))
    name = metric_name(metric, lang)
    value = _finite(evidence.get("value"))
    detector = str(evidence.get("detector", ""))
    if metric in DEVICE_FAULTS and facts.category == Category.FAULT:
        return pick(DEVICE_TEXT[metric], lang)
    if facts.category == Category.FAULT:
        return _fault_measure(name, detector, value, evidence, lang)
    reading = f"{name} {quantity(value, metric, lang)}" if value is not None else name
    how_far = deviation_text(evidence, lang)
    parts = [reading, how_far] if how_far else [reading]
    if facts.category == Category.AREA:
        parts.append(pick(("several neighbouring sensors agree", "周边多个传感器同时异常"), lang))
    return ("，" if lang == "zh" else ", ").join(parts)


def _fault_measure(
    name: str, detector: str, value: float | None, evidence: Mapping[str, Any], lang: str
) -> str:
    shown = f" ({quantity(value, str(evidence.get('metric', '')), lang)})" if value else ""
    if lang == "zh":
        shown = shown.replace(" (", "（").replace(")", "）")
    if detector == "silent":
        minutes = max(1, round((_finite(evidence.get("threshold")) or 60_000) / 60_000))
        return pick((f"the {name} sensor has sent nothing for over {minutes} min",
                     f"{name}传感器超过{minutes}分钟无数据"), lang)  # fmt: skip
    if detector == "stuck":
        return pick((f"the {name} sensor keeps sending the same reading{shown}",
                     f"{name}传感器读数长时间不变{shown}"), lang)  # fmt: skip
    if detector == "neighbours":
        return pick((f"the {name} sensor disagrees with its neighbours{shown}",
                     f"{name}传感器读数与周边传感器明显不符{shown}"), lang)  # fmt: skip
    return pick((f"the {name} sensor behaves abnormally{shown}",
                 f"{name}传感器工作异常{shown}"), lang)  # fmt: skip


def deviation_text(evidence: Mapping[str, Any], lang: str) -> str:
    """How far a reading is from its limit or from normal ('' when the evidence has
    neither): percent over a limit, times or percent off the usual, sigma."""
    metric = str(evidence.get("metric", ""))
    value = _finite(evidence.get("value"))
    threshold = _finite(evidence.get("threshold"))
    expected = _finite(evidence.get("expected"))
    if value is None:
        return ""
    if threshold is not None:
        forecast = evidence.get("forecast_ts_ms") is not None
        return _from_limit(value, threshold, metric, forecast, lang)
    if expected is not None:
        return _from_normal(value, expected, _finite(evidence.get("z")), metric, lang)
    return ""


def _from_limit(value: float, limit: float, metric: str, forecast: bool, lang: str) -> str:
    shown = quantity(limit, metric, lang)
    if forecast and value < limit:  # a rising forecast: not there yet
        return pick((f"the limit is {shown}", f"限值 {shown}"), lang)
    if limit == 0:
        return pick((f"the limit is {shown}", f"限值 {shown}"), lang)
    off = (value / limit - 1) * 100
    if abs(off) < 0.5:
        return pick((f"at the limit {shown}", f"达到限值 {shown}"), lang)
    if off >= 100:
        times = number(value / limit, 1)
        return pick((f"{times} times the limit {shown}", f"为限值 {shown} 的{times}倍"), lang)
    pct = round(abs(off))
    if off > 0:
        return pick((f"{pct} % over the limit {shown}", f"超过限值 {shown} {pct}%"), lang)
    return pick((f"{pct} % below the limit {shown}", f"低于限值 {shown} {pct}%"), lang)


def _from_normal(value: float, usual: float, z: float | None, metric: str, lang: str) -> str:
    shown = quantity(usual, metric, lang)
    sigma = f" ({number(abs(z), 1)} σ)" if z is not None and abs(z) >= 1 else ""
    if lang == "zh":
        sigma = sigma.replace(" (", "（").replace(")", "）")
    if usual > 0 and value >= 2 * usual:
        times = number(value / usual, 1)
        return pick((f"{times} times the usual {shown}{sigma}",
                     f"为常态 {shown} 的{times}倍{sigma}"), lang)  # fmt: skip
    if usual == 0:
        higher = value > 0
        return pick((f"{'above' if higher else 'below'} the usual {shown}{sigma}",
                     f"{'高于' if higher else '低于'}常态 {shown}{sigma}"), lang)  # fmt: skip
    off = (value - usual) / abs(usual) * 100
    if off >= 0:
        return pick((f"{round(off)} % above the usual {shown}{sigma}",
                     f"比常态 {shown} 高{round(off)}%{sigma}"), lang)  # fmt: skip
    return pick((f"{round(-off)} % below the usual {shown}{sigma}",
                 f"比常态 {shown} 低{round(-off)}%{sigma}"), lang)  # fmt: skip


def _incident_measure(facts: Facts, lead: Mapping[str, Any], lang: str) -> str:
    count = _finite(facts.evidence.get("alerts")) or 0
    metrics = [metric_name(m, lang) for m in _metrics(facts)]
    listed = ("、" if lang == "zh" else ", ").join(metrics)
    if count == 0:
        return pick(("no alert is active any more", "已无活动预警"), lang)
    if lang == "zh":
        head = f"{count:g}条活动预警（{listed}）" if listed else f"{count:g}条活动预警"
    else:
        head = f"{count:g} active alert{'s' * (count > 1)}" + (f" ({listed})" if listed else "")
    if not lead:
        return head
    gravest = _measure(Facts(str(lead.get("category") or Category.CONDITION), facts.location,
                             "", 0, lead), lead, lang)  # fmt: skip
    return f"{head}；最严重：{gravest}" if lang == "zh" else f"{head}; the gravest: {gravest}"


# -- overdue cases ---------------------------------------------------------------------
def _explain_case(facts: Facts, place: str, lang: str, tz: tzinfo) -> Explanation:
    """An overdue case: which kind of case, the step it waits on, how late against its
    limit, who holds it, and the step's first action."""
    ev = facts.evidence
    step = str(ev.get("step", ""))
    hazard, measure = pick(OVERDUE_CASE, lang), _case_measure(ev, step, lang)
    play = pick(CASE_PLAYS.get(step, CASE_PLAY_OTHER), lang)
    if lang == "zh":
        subject, headline = f"{place}{hazard}", f"{place}{hazard}：{measure}。"
        action = f"首要处置：{play}"
    else:
        subject = f"{hazard} at {place}"
        headline, action = f"{subject}: {measure}.", f"First action: {play}"
    return Explanation(lang, subject, headline, since_text(facts.opened_ms, lang, tz), "", action)


def _case_measure(ev: Mapping[str, Any], step: str, lang: str) -> str:
    kind = str(ev.get("case_category") or "")
    named = pick(CASE_KINDS.get(kind, (kind.replace("_", " "), kind)), lang)
    waiting = pick(CASE_WAITING.get(step, ("overdue", "超时")), lang)
    what = f"{named}案件{waiting}" if lang == "zh" else f"{named} case {waiting}".lstrip()
    late, limit = _finite(ev.get("late_min")), _finite(ev.get("limit_min"))
    parts = [what]
    if late is not None and late >= 0:
        shown = duration_text(late, lang)
        if limit is not None and limit > 0:
            most = duration_text(limit, lang)
            parts.append(
                pick((f"{shown} past its {most} limit", f"超时{shown}（时限{most}）"), lang)
            )
        else:
            parts.append(pick((f"{shown} past its limit", f"超时{shown}"), lang))
    department = DEPARTMENTS.get(str(ev.get("department") or ""))
    if department is not None:
        parts.append(pick((f"held by {department[0]}", f"由{department[1]}承办"), lang))
    elif step == "dispatched":
        parts.append(pick(("not dispatched yet: the command center holds it",
                           "尚未派遣，由指挥中心负责"), lang))  # fmt: skip
    return ("，" if lang == "zh" else ", ").join(parts)


# -- broken data promises --------------------------------------------------------------
DATA_QUALITY = ("Data quality", "数据质量")
FAMILY_WORDS: dict[str, tuple[str, str]] = {
    "environment": ("environment", "环境"), "traffic": ("traffic", "交通"),
    "water": ("water", "水务"), "power": ("power", "电力"), "case": ("case", "案件"),
}  # fmt: skip
_DEPARTMENT_NAMES = {d.code: (d.name, d.name_zh) for d in DEFAULT_DEPARTMENTS}


def department_text(code: str, lang: str) -> str:
    """A department by name (one the city added later: by its code)."""
    return pick(_DEPARTMENT_NAMES.get(code, (code, code)), lang) if code else ""


def _explain_quality(facts: Facts, place: str, lang: str, tz: tzinfo) -> Explanation:
    """A source that breaks its catalog promise: how, for how long against its allowance,
    and the department that owns it (who must act)."""
    ev = facts.evidence
    owner = department_text(str(ev.get("department") or ""), lang)
    family = pick(FAMILY_WORDS.get(str(ev.get("family")), ("source", "数据源")), lang)
    hazard = pick(DATA_QUALITY, lang)
    how = [_breach_text(b, ev, lang) for b in str(ev.get("breaches") or "").split(",") if b]
    lasted = duration_text((_finite(ev.get("value")) or 0) / 60, lang)
    allowance = duration_text((_finite(ev.get("allowance_s")) or 0) / 60, lang)
    if lang == "zh":
        what = f"{family}数据源未履行目录承诺（{'、'.join(how) or '已恢复'}），"
        measure = f"{what}已持续{lasted}，超过容忍时长{allowance}；责任部门：{owner or '未知'}"
        subject, headline = f"{place}{hazard}", f"{place}{hazard}：{measure}。"
        action = f"首要处置：请{owner or '责任部门'}检查该数据源的设备、网络与接入。"
    else:
        what = f"a {family} source breaks its catalog promise ({', '.join(how) or 'kept again'})"
        measure = f"{what} for {lasted}, over its {allowance} allowance; owner: {owner or '?'}"
        subject, headline = f"{hazard} at {place}", f"{hazard} at {place}: {measure}."
        action = (f"First action: {owner or 'the owning department'} checks the source's "
                  "device, network and feed.")  # fmt: skip
    return Explanation(lang, subject, headline, since_text(facts.opened_ms, lang, tz), "", action)


def _breach_text(breach: str, ev: Mapping[str, Any], lang: str) -> str:
    if breach == "stale":
        fresh = duration_text((_finite(ev.get("freshness_s")) or 0) / 60, lang)
        return pick((f"no data within {fresh}", f"超过{fresh}无数据"), lang)
    got, target = _finite(ev.get("completeness")), _finite(ev.get("completeness_pct"))
    shown = f"{got:.0%}" if got is not None else "?"
    return pick((f"{shown} complete, {number(target or 0)} % promised",
                 f"完整率{shown}，承诺{number(target or 0)}%"), lang)  # fmt: skip


def duration_text(minutes: float, lang: str) -> str:
    """Minutes as people say them: ``'45 min'``, ``'2 h 5 min'`` (``'2小时5分钟'``)."""
    hours, rest = divmod(round(minutes), 60)
    if lang == "zh":
        return (f"{hours}小时" if hours else "") + (f"{rest}分钟" if rest or not hours else "")
    return " ".join(p for p in (f"{hours} h" if hours else "",
                                f"{rest} min" if rest or not hours else "") if p)  # fmt: skip


# -- when ------------------------------------------------------------------------------
def since_text(opened_ms: int, lang: str, tz: tzinfo = CHINA_TIME) -> str:
    moment = clock_text(opened_ms, tz) if opened_ms > 0 else ""
    if not moment:
        return ""
    return f"自{moment}起。" if lang == "zh" else f"Since {moment}."


def forecast_text(evidence: Mapping[str, Any], lang: str, tz: tzinfo = CHINA_TIME) -> str:
    """What the forecast says ('' without one)."""
    crossing = evidence.get("forecast_ts_ms")
    limit = _finite(evidence.get("threshold"))
    if not isinstance(crossing, int | float) or isinstance(crossing, bool) or limit is None:
        return ""
    moment = clock_text(int(crossing), tz)
    if not moment:
        return ""
    shown = quantity(limit, str(evidence.get("metric", "")), lang)
    if lang == "zh":
        return f"预测：将于{moment}达到限值 {shown}。"
    return f"Forecast: reaches the limit {shown} at {moment}."


def clock_text(ts_ms: int, tz: tzinfo) -> str:
    """``'2024-05-01 14:03 UTC+8'`` ('' for a time no calendar holds)."""
    try:
        moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        return ""
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


# -- numbers ---------------------------------------------------------------------------
def number(value: float, decimals: int = 2) -> str:
    """A number as people read it: few decimals, no trailing zeros."""
    if abs(value) >= 1000:
        return str(round(value))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def quantity(value: float | None, metric: str, lang: str) -> str:
    """A value with its metric's unit: ``'4.2 m'``."""
    if value is None:
        return ""
    spec = METRICS.get(metric)
    unit = unit_text(spec.unit, lang) if spec is not None else ""
    return f"{number(value)} {unit}".strip()


def _metrics(facts: Facts) -> list[str]:
    """An incident's metrics (none when the evidence holds something else)."""
    metrics = facts.evidence.get("metrics")
    return [str(m) for m in metrics] if isinstance(metrics, list | tuple) else []


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
