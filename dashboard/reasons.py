"""The worker's audit-trail reasons in the viewer's language.

The alert engine writes each event's reason in a small English vocabulary; the console
shows it in Chinese too, from the same stored text. A reason it does not know is shown as
it is.

>>> reason_text("unacknowledged for 30 min: to district", "zh")
'30分钟未确认：升至区级响应'
>>> reason_text("joined the open street incident", "zh"), reason_text("II", "en")
('并入街道级事件', 'level II')
>>> reason_text("static scored 0.91", "zh"), reason_text("something new", "zh")
('static 检测评分 0.91', 'something new')
>>> reason_text("case step accepted overdue by 61 min: to district", "zh")
'受理环节超时61分钟：升至区级响应'
>>> reason_text("case step dispatched done", "zh"), reason_text("case step handled done", "en")
('派遣环节已完成', 'case step handled done')
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dashboard.i18n import LABELS
from detectors.alerting.playbook import metric_name

TIER_ZH = {"grid": "网格", "street": "街道", "district": "区", "city": "市"}
WHY_ZH = {"level": "等级提高", "spread": "范围扩大"}
CATEGORY_ZH = {"condition": "读数异常", "area": "区域异常", "fault": "设备故障"}
ACTION_ZH = {"assigned": "指派", "commented": "备注", "escalated": "升级", "resolved": "处置完成",
             "acknowledged": "确认"}  # fmt: skip

Say = Callable[[re.Match[str], str], str]


def _tier(tier: str) -> str:
    return f"{TIER_ZH.get(tier, tier)}级响应"


def _step_zh(step: str) -> str:
    return LABELS.get(f"step_{step}", (step, step))[1]


def _late(m: re.Match[str], lang: str) -> str:
    """An overdue case's reason: its step, how late, and the tier it went to."""
    if lang != "zh":
        return m[0]
    said = f"{_step_zh(m[1])}环节超时{m[2]}分钟"
    return f"{said}：升至{_tier(m[3])}" if m[3] else said


RULES: tuple[tuple[re.Pattern[str], Say], ...] = (
    (re.compile(r"^(\w+) scored ([\d.]+)$"),
     lambda m, lang: f"{m[1]} 检测评分 {m[2]}" if lang == "zh" else m[0]),
    (re.compile(r"^level (up|down) to (I{1,3}|IV)$"),
     lambda m, lang: f"等级{'升' if m[1] == 'up' else '降'}至 {m[2]}" if lang == "zh" else m[0]),
    (re.compile(r"^unacknowledged for (\d+) min: to (\w+)$"),
     lambda m, lang: f"{m[1]}分钟未确认：升至{_tier(m[2])}" if lang == "zh" else m[0]),
    (re.compile(r"^(level|spread): to (\w+)$"),
     lambda m, lang: f"{WHY_ZH[m[1]]}：升至{_tier(m[2])}" if lang == "zh" else m[0]),
    (re.compile(r"^case step (\w+) overdue by (\d+) min(?:: to (\w+))?$"), _late),
    (re.compile(r"^case step (\w+) done$"),
     lambda m, lang: f"{_step_zh(m[1])}环节已完成" if lang == "zh" else m[0]),
    (re.compile(r"^superseded$"),
     lambda m, lang: "已由新的超时预警接替" if lang == "zh" else m[0]),
    (re.compile(r"^below ([\d.]+)$"),
     lambda m, lang: f"评分持续低于 {m[1]}" if lang == "zh" else m[0]),
    (re.compile(r"^no decisions: stale$"),
     lambda m, lang: "长时间无检测结果" if lang == "zh" else m[0]),
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
