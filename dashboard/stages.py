"""The operational stage (1 to 5) of an area as the command center shows it: the rule is
:mod:`detectors.alerting.stages` (the worker's stage_changes rows follow the same one);
this module words its reason in English or Chinese.

Only active alerts count (status 'active' or 'acknowledged': someone is on it, but the
situation is not over); cleared and resolved ones do not, nor do sensor faults. The
reason names the gravest level's alerts and their most common hazard:

>>> from dashboard.model import AlertRow
>>> from detectors.contract.levels import WarningLevel
>>> from detectors.contract.places import Location
>>> def alert(level, metric, status="active"):
...     return AlertRow("a", "alert", "", "k", "condition", level, "district", status,
...                     0, 0, 1, "", "", "", Location(), "", "S", metric)
>>> stage_of([alert(WarningLevel.III, "water_level")] * 4, "district Riverside")
(3, 'stage 3: 4 yellow flood alerts in district Riverside')
>>> stage_of([alert(WarningLevel.I, "pm25", "resolved")], "D1")
(1, 'stage 1: no active alerts in D1')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dashboard.model import AlertRow
from detectors.alerting.stages import STAGE_OF_LEVEL as STAGE_OF_LEVEL
from detectors.alerting.stages import StagedAlert, StageFacts, area_stage
from detectors.contract.alerts import Category
from detectors.contract.events import METRICS, Family

STAGE_COLOUR: dict[int, str] = {
    1: "#16a34a",
    2: "#2563eb",
    3: "#eab308",
    4: "#f97316",
    5: "#dc2626",
}

_HAZARD_OF_FAMILY: dict[Family, tuple[str, str]] = {
    Family.WATER: ("flood", "洪涝"),
    Family.ENVIRONMENT: ("air quality", "空气质量"),
    Family.TRAFFIC: ("traffic", "交通"),
    Family.POWER: ("power grid", "电网"),
    Family.CASE: ("case", "案件"),
}
_NOISE = ("noise", "噪声")
_FAULT = ("sensor fault", "设备故障")
_LATE_CASE = ("overdue case", "案件超时")
_DATA = ("data quality", "数据质量")
_OTHER = ("other", "其他")
_COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


def hazard(alert: AlertRow, lang: str = "en") -> str:
    """What an alert is about, for people: flood, air quality, traffic, ..."""
    own = {Category.FAULT: _FAULT, Category.CASE: _LATE_CASE, Category.QUALITY: _DATA}
    if alert.category in own:
        pair = own[Category(alert.category)]
        return pair[1] if lang == "zh" else pair[0]
    return hazard_of_metric(alert.metric, lang)


def hazard_of_metric(metric: str, lang: str = "en") -> str:
    """What an alert on ``metric`` is about (a fault aside): flood, air quality, ..."""
    if metric == "noise":
        pair = _NOISE
    elif metric in METRICS:
        pair = _HAZARD_OF_FAMILY[METRICS[metric].family]
    else:
        pair = _OTHER
    return pair[1] if lang == "zh" else pair[0]


def stage_of(
    active_alerts: Sequence[AlertRow], area: str = "", lang: str = "en"
) -> tuple[int, str]:
    """The stage of an area from its alerts (those not active are ignored), with the
    reason in ``lang`` ('en' or 'zh')."""
    staged = [
        StagedAlert(a.level, a.category, a.metric)
        for a in active_alerts
        if a.active and a.level is not None
    ]
    facts = area_stage(staged)
    return facts.stage, reason(facts, area, lang)


def reason(facts: StageFacts, area: str, lang: str = "en") -> str:
    """Why an area is at its stage, in ``lang``: the gravest alerts' most common hazard."""
    stage, gravest = facts.stage, facts.gravest
    if gravest is None:
        return (
            f"{stage}级：{area}无活动预警"
            if lang == "zh"
            else f"stage {stage}: no active alerts in {area}"
        )
    name, count = Counter(hazard_of_metric(m, lang) for m in facts.at_gravest).most_common(1)[0]
    others = facts.counted - count
    if lang == "zh":
        text = f"{stage}级：{area} {count} 条{_COLOUR_ZH[gravest.colour]}{name}预警"
        return text + (f"（另有 {others} 条）" if others else "")
    plural = "s" if count > 1 else ""
    text = f"stage {stage}: {count} {gravest.colour} {name} alert{plural} in {area}"
    return text + (f" (+{others} more)" if others else "")
