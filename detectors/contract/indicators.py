"""The five indicators of the city's scorecard (data, governance, service, economy,
environment): the shape every writer (the worker) and reader (the scorecard page) shares.

An indicator of an area over a window is a 0-100 score (100 = best) made of components.
Each component carries what was measured (its value and unit), its own 0-100 score and its
weight; the indicator's score is the weighted mean of the components that could be judged
(a component with nothing to judge, e.g. no case closed in the window, has score None and
does not count). An indicator with no judged component has score None.

>>> parts = (Component("fresh", 95.0, "%", 95.0, 2.0), Component("dead", None, "%", None, 1.0),
...          Component("shared", 50.0, "%", 50.0, 1.0))
>>> combine(parts)
80.0
>>> combine(parts[1:2]) is None
True
>>> components_of(components_json(parts)) == parts
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from detectors.contract.places import AreaLevel


class Indicator(StrEnum):
    """The five core indicators of the data brain."""

    DATA = "data"
    GOVERNANCE = "governance"
    SERVICE = "service"
    ECONOMY = "economy"
    ENVIRONMENT = "environment"


INDICATORS: tuple[Indicator, ...] = tuple(Indicator)


@dataclass(frozen=True, slots=True)
class Component:
    """One measured part of an indicator: ``value`` in ``unit`` (None: nothing measured),
    its ``score`` 0-100 (None: not judged) and its ``weight`` in the indicator."""

    name: str
    value: float | None
    unit: str
    score: float | None
    weight: float


@dataclass(frozen=True, slots=True)
class Score:
    """An indicator of one area over one window (1 minute or 1 hour, from window_start_ms)."""

    level: AreaLevel
    code: str
    indicator: Indicator
    window_start_ms: int
    score: float | None
    components: tuple[Component, ...]


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """What a component measures and how it is scored: the documented formula (shown on the
    scorecard page and in the README) that the worker implements."""

    indicator: Indicator
    name: str
    unit: str
    weight: float
    en: str
    zh: str


SPECS: tuple[ComponentSpec, ...] = (
    ComponentSpec(Indicator.DATA, "fresh", "%", 2.0,
        "Share of the area's sensors whose last reading is within their catalog freshness "
        "target at the window's end (a sensor not heard from since the city's data began "
        "is judged once its target has passed since then); score = the share.",
        "区域内最新读数在目录新鲜度目标内的传感器占比（数据开始后尚未上报的传感器，"
        "待其新鲜度目标时长过后才计入）；得分 = 占比。"),
    ComponentSpec(Indicator.DATA, "complete", "%", 2.0,
        "Readings received in the trailing 15 minutes (or since the city's data began, if "
        "later) against those expected from each sensor's cadence; "
        "score = min(100, received / expected x 100).",
        "近 15 分钟（若数据开始不足 15 分钟则自开始起）收到的读数与按采集周期应到读数之比；"
        "得分 = min(100, 实到/应到 x 100)。"),
    ComponentSpec(Indicator.DATA, "dead_letter", "%", 1.0,
        "Dead-lettered messages among all messages of the area's sources in the trailing "
        "15 minutes (unplaceable ones count for the city); score = 100 x (1 - rate / 5 %), "
        "floored at 0.",
        "近 15 分钟区域数据源消息中进入死信的比例（无法定位的计入全市）；"
        "得分 = 100 x (1 - 比例 / 5%)，最低 0。"),
    ComponentSpec(Indicator.DATA, "shared", "%", 1.0,
        "Share of the area's sources whose catalog entry is shared with at least one "
        "department other than its owner; score = the share.",
        "区域内在数据目录中与其所属部门之外至少一个部门共享的数据源占比；得分 = 占比。"),
    ComponentSpec(Indicator.GOVERNANCE, "on_time", "%", 2.0,
        "Share of the cases open at any time in the trailing 24 hours that are not overdue "
        "on any step (case step limits); score = the share.",
        "近 24 小时内处于办理中的案件里未在任何环节超时的占比；得分 = 占比。"),
    ComponentSpec(Indicator.GOVERNANCE, "dispatch_median", "min", 1.0,
        "Median minutes from filing to dispatch of the cases dispatched in the trailing 24 "
        "hours; score = 100 up to half the dispatch limit (the median of the cases' "
        "limits), falling linearly to 0 at twice the limit.",
        "近 24 小时派遣案件从立案到派遣的中位分钟数；不超过时限（各案件时限的中位数）一半得 100，"
        "线性降至两倍时限时为 0。"),
    ComponentSpec(Indicator.GOVERNANCE, "close_median", "min", 1.0,
        "Median minutes from filing to closing of the cases closed in the trailing 24 hours; "
        "score as for dispatch, against the sum of the step limits up to closing.",
        "近 24 小时结案案件从立案到结案的中位分钟数；评分同派遣，时限为至结案各环节时限之和。"),
    ComponentSpec(Indicator.GOVERNANCE, "ack_on_time", "%", 2.0,
        "Share of the alerts raised in the trailing 24 hours acknowledged within their "
        "tier's acknowledgement limit (grid 30, street 20, district and city 15 min; an "
        "unacknowledged alert still within it is not judged); score = the share.",
        "近 24 小时告警中在其层级确认时限（网格 30、街道 20、区和市 15 分钟）内被确认的占比"
        "（尚在时限内未确认的不计）；得分 = 占比。"),
    ComponentSpec(Indicator.SERVICE, "satisfaction", "1-5", 2.0,
        "Mean evaluation score of the cases evaluated in the trailing 30 days; "
        "score = (mean - 1) / 4 x 100.",
        "近 30 天已评价案件的平均满意度（1-5 分）；得分 = (均值 - 1) / 4 x 100。"),
    ComponentSpec(Indicator.SERVICE, "repeat", "%", 1.0,
        "Share of the cases filed in the trailing 7 days that repeat a case of the same "
        "category in the same grid cell filed in the 7 days before; score = 100 - share.",
        "近 7 天立案中与同一网格、同一类别 7 天内已有案件重复的占比；得分 = 100 - 占比。"),
    ComponentSpec(Indicator.SERVICE, "backlog", "cases/cell", 1.0,
        "Open cases per grid cell of the area at the window's end; "
        "score = 100 x max(0, 1 - backlog / 5).",
        "窗口结束时区域内每个网格的在办案件数；得分 = 100 x max(0, 1 - 积压 / 5)。"),
    ComponentSpec(Indicator.ECONOMY, "traffic_flow", "%", 1.0,
        "Traffic flow in the window against its usual level (the same hour of day over the "
        "trailing 7 days); score = min(100, flow / usual x 100).",
        "窗口内交通流量与其常态（近 7 天同一时段）之比；得分 = min(100, 流量/常态 x 100)。"),
    ComponentSpec(Indicator.ECONOMY, "power_load", "%", 1.0,
        "Power load in the window against its usual level (the same hour of day over the "
        "trailing 7 days); score = 100 within +-10 %, falling linearly to 0 at +-50 %.",
        "窗口内电力负荷与其常态（近 7 天同一时段）之比；偏差 10% 以内得 100，"
        "线性降至偏差 50% 时为 0。"),
    ComponentSpec(Indicator.ECONOMY, "congestion", "%", 1.0,
        "Share of traffic sensor-minutes in the trailing hour with mean speed under "
        "20 km/h or occupancy over 50 %; score = 100 - share.",
        "近 1 小时交通传感器分钟中平均车速低于 20 km/h 或占有率高于 50% 的占比；"
        "得分 = 100 - 占比。"),
    ComponentSpec(Indicator.ENVIRONMENT, "aqi", "AQI", 2.0,
        "AQI (HJ 633: the highest IAQI of PM2.5, PM10, NO2 and O3, from the window's means); "
        "score = 100 - AQI / 3, floored at 0 (band 优 50 -> 83, 良 100 -> 67, "
        "轻度 150 -> 50, 重度 300 -> 0).",
        "AQI（HJ 633：PM2.5、PM10、NO2、O3 窗口均值的最大分指数）；得分 = 100 - AQI/3，最低 0。"),
    ComponentSpec(Indicator.ENVIRONMENT, "noise", "dB(A)", 1.0,
        "Mean noise above its acoustic zone's day or night limit (GB 3096; class 2 unless "
        "the sensor's profile sets its limits), averaged over the area's noise sensors; "
        "score = 100 at or under the limit, minus 10 per dB over.",
        "噪声超出所在声环境功能区昼/夜限值（GB 3096；传感器未设限值时按 2 类区）的分贝数的平均；"
        "不超标得 100，每超 1 dB 减 10。"),
    ComponentSpec(Indicator.ENVIRONMENT, "water", "%", 1.0,
        "Share of the area's water gauges (river water level, drainage pipe level) under "
        "their warning level in the window (a pipe without one: 80 % full); "
        "score = the share.",
        "区域内水位计（河道水位、排水管道液位）低于警戒水位（未设时管道按 80% 满）的占比；"
        "得分 = 占比。"),
)  # fmt: skip
"""Every component of every indicator: its unit, weight and documented formula."""


def specs_of(indicator: Indicator) -> tuple[ComponentSpec, ...]:
    """The components of one indicator, in the order the page lists them."""
    return tuple(spec for spec in SPECS if spec.indicator is indicator)


def combine(components: Iterable[Component]) -> float | None:
    """The weighted mean of the judged components' scores (None if none is judged)."""
    judged = [(c.score, c.weight) for c in components if c.score is not None and c.weight > 0]
    total = sum(weight for _, weight in judged)
    if not judged or total <= 0:
        return None
    return round(sum(score * weight for score, weight in judged) / total, 3)


def components_json(components: Iterable[Component]) -> str:
    """The components as the JSON list kept in the ``components`` column."""
    return json.dumps(
        [[c.name, c.value, c.unit, c.score, c.weight] for c in components],
        ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    )  # fmt: skip


def components_of(text: str) -> tuple[Component, ...]:
    """The components from the ``components`` column (the inverse of components_json)."""
    return tuple(
        Component(str(name), _number(value), str(unit), _number(score), float(weight))
        for name, value, unit, score, weight in json.loads(text or "[]")
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
