"""The worker's reasons in operator language, in English or Chinese: the alert engine's
audit-trail reasons and the reasons of stage changes.

The worker stores each reason as facts, in a small English vocabulary of codes (a
detector's label, a metric, an area code), so a stored row stays true whatever things are
called; they are said in words where they are shown (the console, the tier and replay
pages, notifications), from the same stored text. A reason it does not know is shown as
it is.

>>> reason_text("unacknowledged for 30 min: to district", "zh")
'30分钟未确认：升至区级响应'
>>> reason_text("unacknowledged for 30 min: to district", "en")
'unacknowledged for 30 min: up to the district tier'
>>> reason_text("joined the open street incident", "zh"), reason_text("II", "en")
('并入街道级事件', 'level II')
>>> reason_text("static scored 0.91", "zh"), reason_text("static scored 0.91", "en")
('限值规则评分 0.91', 'limit rule scored 0.91')
>>> reason_text("something new", "zh")
'something new'
>>> reason_text("case step accepted overdue by 61 min: to district", "zh")
'受理环节超时61分钟：升至区级响应'
>>> reason_text("case step accepted overdue by 61 min: to district", "en")
'acceptance 61 min overdue: up to the district tier'
>>> reason_text("case step dispatched done", "zh"), reason_text("case step handled done", "en")
('派遣环节已完成', 'handling done')
>>> stage_text("stage 4: 5 pipe_level alerts in D1", "district", "D1", "zh", {"D1": "城北区"})
'4级：城北区 5 条排水管道水位预警'
>>> stage_text("stage 4: 5 pipe_level alerts in D1", "district", "D1", "en", {"D1": "Chengbei"})
'stage 4: 5 drainage pipe level alerts in Chengbei district'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from detectors.alerting.explain import place_text
from detectors.alerting.playbook import CASE_STEP_NAMES, detector_name, metric_name, pick
from detectors.alerting.stages import read_reason
from detectors.contract.places import AreaLevel, Location, location_of

TIER_ZH = {"grid": "网格", "street": "街道", "district": "区", "city": "市"}
WHY = {"level": ("level rose", "等级提高"), "spread": ("spread wider", "范围扩大")}
CATEGORY_ZH = {"condition": "读数异常", "area": "区域异常", "fault": "设备故障"}
ACTION_ZH = {"assigned": "指派", "commented": "备注", "escalated": "升级", "resolved": "处置完成",
             "acknowledged": "确认"}  # fmt: skip

Say = Callable[[re.Match[str], str], str]


def _tier(tier: str, lang: str) -> str:
    """A command tier a subject is raised to: '区级响应', 'the district tier'."""
    return f"{TIER_ZH.get(tier, tier)}级响应" if lang == "zh" else f"the {tier} tier"


def _raised(why: str, tier: str, lang: str) -> str:
    up = _tier(tier, lang)
    return f"{why}：升至{up}" if lang == "zh" else f"{why}: up to {up}"


def _step(step: str, lang: str) -> str:
    """A case's lifecycle step as operators name it."""
    return pick(CASE_STEP_NAMES.get(step, (step, step)), lang)


def _late(m: re.Match[str], lang: str) -> str:
    """An overdue case's reason: its step, how late, and the tier it went up to."""
    step = _step(m[1], lang)
    said = f"{step}环节超时{m[2]}分钟" if lang == "zh" else f"{step} {m[2]} min overdue"
    return _raised(said, m[3], lang) if m[3] else said


RULES: tuple[tuple[re.Pattern[str], Say], ...] = (
    (re.compile(r"^(\w+) scored ([\d.]+)$"),
     lambda m, lang: f"{detector_name(m[1], lang)}{'评分 ' if lang == 'zh' else ' scored '}{m[2]}"),
    (re.compile(r"^level (up|down) to (I{1,3}|IV)$"),
     lambda m, lang: f"等级{'升' if m[1] == 'up' else '降'}至 {m[2]}" if lang == "zh" else m[0]),
    (re.compile(r"^unacknowledged for (\d+) min: to (\w+)$"),
     lambda m, lang: _raised(f"{m[1]}分钟未确认" if lang == "zh"
                             else f"unacknowledged for {m[1]} min", m[2], lang)),
    (re.compile(r"^(level|spread): to (\w+)$"),
     lambda m, lang: _raised(WHY[m[1]][lang == "zh"], m[2], lang)),
    (re.compile(r"^case step (\w+) overdue by (\d+) min(?:: to (\w+))?$"), _late),
    (re.compile(r"^case step (\w+) done$"),
     lambda m, lang: f"{_step(m[1], lang)}{'环节已完成' if lang == 'zh' else ' done'}"),
    (re.compile(r"^superseded$"),
     lambda m, lang: "已由新的超时预警接替" if lang == "zh" else "replaced by a new overdue alert"),
    (re.compile(r"^below ([\d.]+)$"),
     lambda m, lang: f"评分持续低于 {m[1]}" if lang == "zh" else f"scores stayed below {m[1]}"),
    (re.compile(r"^no decisions: stale$"),
     lambda m, lang: "长时间无检测结果" if lang == "zh" else "no detector results for a long time"),
    (re.compile(r"^joined the open (\w+) incident$"),
     lambda m, lang: f"并入{TIER_ZH.get(m[1], m[1])}级事件" if lang == "zh" else m[0]),
    (re.compile(r"^muted by a silence$"),
     lambda m, lang: "已被静默屏蔽" if lang == "zh" else m[0]),
    (re.compile(r"^its silence ended$"),
     lambda m, lang: "静默结束，恢复通知" if lang == "zh" else m[0]),
    (re.compile(r"^opened a new incident$"),
     lambda m, lang: "开启新事件" if lang == "zh" else m[0]),
    (re.compile(r"^(condition|area|fault) alert on (\w+)$"),
     lambda m, lang: f"{metric_name(m[2], 'zh')}{CATEGORY_ZH[m[1]]}预警" if lang == "zh"
     else f"{m[1]} alert on {metric_name(m[2], 'en')}"),
    (re.compile(r"^(grid|street|district|city)$"),
     lambda m, lang: f"范围扩大至{TIER_ZH[m[1]]}" if lang == "zh" else f"widened to {m[1]}"),
    (re.compile(r"^(I{1,3}|IV)$"),
     lambda m, lang: f"等级变为 {m[1]}" if lang == "zh" else f"level {m[1]}"),
    (re.compile(r"^(?:(assigned|commented|escalated|resolved|acknowledged) )?by (.+)$"),
     lambda m, lang: f"{m[2]} {ACTION_ZH.get(m[1] or 'acknowledged')}" if lang == "zh" else m[0]),
)  # fmt: skip


def reason_text(reason: str, lang: str) -> str:
    """``reason`` as the worker wrote it, said in ``lang`` ('zh' or 'en')."""
    for pattern, say in RULES:
        found = pattern.match(reason)
        if found:
            return say(found, lang)
    return reason


def stage_text(reason: str, level: str, code: str, lang: str, names: Mapping[str, str]) -> str:
    """The stored reason of the stage change of area ``code`` (a ``level``), said in
    ``lang`` with the area's name from ``names`` (code -> name in ``lang``): the stage,
    how many alerts on which metric, where. Text the stage rule does not write is shown
    as it is."""
    said = read_reason(reason)
    if said is None:
        return reason
    place = place_text(_area(said.code or code, level), level, names, lang)
    if not said.count:
        return f"{said.stage}级：{place}无活动预警" if lang == "zh" else (
            f"stage {said.stage}: no active alerts in {place}")  # fmt: skip
    metric = metric_name(said.metric, lang)
    if lang == "zh":
        return f"{said.stage}级：{place} {said.count} 条{metric}预警"
    plural = "s" * (said.count > 1)
    return f"stage {said.stage}: {said.count} {metric} alert{plural} in {place}"


def _area(code: str, level: str) -> Location:
    """The location of an area known by its code and level (its ancestors from its code)."""
    return Location(city=code) if level == AreaLevel.CITY else location_of(code, city="")
