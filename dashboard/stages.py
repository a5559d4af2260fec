"""The operational stage (1 to 5) of an area, derived from its active alerts.

The rule (the worker's stage_changes rows follow the same one):

=====  ==============================================================
stage  when
=====  ==============================================================
1      no active alert (status 'active' or 'acknowledged')
2      only level IV (blue) alerts
3      any level III (yellow) alert, none graver
4      any level II (orange) alert, none graver
5      any level I (red) alert
=====  ==============================================================

Acknowledged alerts still count: someone is on it, but the situation is not over.
Cleared and resolved ones do not. The reason names the gravest level's alerts and their
most common hazard:

>>> from dashboard.model import AlertRow, Place
>>> def alert(level, metric, status="active"):
...     return AlertRow("a", "alert", "", "k", "condition", level, "district", status,
...                     0, 0, 1, "", "", "", Place(), "", "S", metric)
>>> stage_of([alert(WarningLevel.III, "water_level")] * 4, "district Riverside")
(3, 'stage 3: 4 yellow flood alerts in district Riverside')
>>> stage_of([alert(WarningLevel.I, "pm25", "resolved")], "D1")
(1, 'stage 1: no active alerts in D1')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dashboard.model import AlertRow
from detectors.contract.events import METRICS, Family
from detectors.contract.levels import WarningLevel

STAGE_OF_LEVEL: dict[WarningLevel, int] = {
    WarningLevel.IV: 2,
    WarningLevel.III: 3,
    WarningLevel.II: 4,
    WarningLevel.I: 5,
}
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
_OTHER = ("other", "其他")
_COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


def hazard(alert: AlertRow, lang: str = "en") -> str:
    """What an alert is about, for people: flood, air quality, traffic, ..."""
    if alert.category == "fault":
        pair = _FAULT
    elif alert.metric == "noise":
        pair = _NOISE
    elif alert.metric in METRICS:
        pair = _HAZARD_OF_FAMILY[METRICS[alert.metric].family]
    else:
        pair = _OTHER
    return pair[1] if lang == "zh" else pair[0]


def stage_of(
    active_alerts: Sequence[AlertRow], area: str = "", lang: str = "en"
) -> tuple[int, str]:
    """The stage of an area from its alerts (those not active are ignored), with the
    reason in ``lang`` ('en' or 'zh')."""
    active = [a for a in active_alerts if a.active and a.level is not None]
    if not active:
        return 1, (
            f"1级：{area}无活动预警" if lang == "zh" else f"stage 1: no active alerts in {area}"
        )
    gravest = max(a.level for a in active if a.level is not None)
    stage = STAGE_OF_LEVEL[gravest]
    at_level = [a for a in active if a.level == gravest]
    name, count = Counter(hazard(a, lang) for a in at_level).most_common(1)[0]
    others = len(active) - count
    if lang == "zh":
        text = f"{stage}级：{area} {count} 条{_COLOUR_ZH[gravest.colour]}{name}预警"
        return stage, text + (f"（另有 {others} 条）" if others else "")
    plural = "s" if count > 1 else ""
    text = f"stage {stage}: {count} {gravest.colour} {name} alert{plural} in {area}"
    return stage, text + (f" (+{others} more)" if others else "")
