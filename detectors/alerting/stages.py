"""The operational stage (1 to 5) of an area from its active alerts: the one rule that the
worker's ``stage_changes`` rows and the command center's pages both follow.

=====  ==============================================================
stage  when
=====  ==============================================================
1      no active alert counts
2      only level IV (blue) alerts
3      any level III (yellow) alert, none graver
4      any level II (orange) alert, none graver
5      any level I (red) alert
=====  ==============================================================

A broken sensor (a ``fault`` alert) is not a situation in its area, so faults never
count. The worker stores the reason of each stage change as facts in a fixed English form
(:func:`stored_reason`: codes, never names, so a row stays true whatever the places are
called); readers say it in words with :func:`read_reason` and
:func:`detectors.alerting.reasons.stage_text`:

>>> water = StagedAlert(WarningLevel.III, Category.CONDITION, "water_level")
>>> smog = StagedAlert(WarningLevel.IV, Category.AREA, "pm25")
>>> stuck = StagedAlert(WarningLevel.I, Category.FAULT, "water_level")
>>> facts = area_stage([water, water, smog, stuck])
>>> facts.stage, facts.gravest.roman, facts.at_gravest, facts.counted
(3, 'III', ('water_level', 'water_level'), 3)
>>> area_stage([stuck]).stage
1
>>> stored_reason(facts, "D1"), stored_reason(area_stage([]), "D1")
('stage 3: 2 water_level alerts in D1', 'stage 1: no active alerts')
>>> read_reason("stage 3: 2 water_level alerts in D1")
StageReason(stage=3, count=2, metric='water_level', code='D1')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from detectors.contract.alerts import Category
from detectors.contract.levels import WarningLevel

NORMAL = 1
"""The stage of an area where no alert counts."""
STAGE_OF_LEVEL: dict[WarningLevel, int] = {
    WarningLevel.IV: 2,
    WarningLevel.III: 3,
    WarningLevel.II: 4,
    WarningLevel.I: 5,
}


@dataclass(frozen=True, slots=True)
class StagedAlert:
    """What the rule needs of one active alert in the area."""

    level: WarningLevel
    category: str
    metric: str


@dataclass(frozen=True, slots=True)
class StageFacts:
    """An area's stage and what a reason names: the gravest level, the metrics of the
    alerts at it (in the order given) and how many alerts count in all."""

    stage: int
    gravest: WarningLevel | None = None
    at_gravest: tuple[str, ...] = ()
    counted: int = 0


def counts(alert: StagedAlert) -> bool:
    """Whether an alert says something about its area's hazards (a sensor fault or an
    overdue case does not, nor a broken data promise)."""
    return alert.category not in (Category.FAULT, Category.CASE, Category.QUALITY)


def area_stage(active_alerts: Iterable[StagedAlert]) -> StageFacts:
    """The stage of an area from its active alerts, with the facts its reason names."""
    counted = [a for a in active_alerts if counts(a)]
    if not counted:
        return StageFacts(NORMAL)
    gravest = max(a.level for a in counted)
    at_gravest = tuple(a.metric for a in counted if a.level == gravest)
    return StageFacts(STAGE_OF_LEVEL[gravest], gravest, at_gravest, len(counted))


@dataclass(frozen=True, slots=True)
class StageReason:
    """What a stored stage reason says: the stage, and (above stage 1) how many alerts of
    the gravest level's most common metric there are, in the area ``code``."""

    stage: int
    count: int = 0
    metric: str = ""
    code: str = ""


_STORED = re.compile(r"^stage ([1-5]): (?:(\d+) (\w+) alerts? in (\S+)|no active alerts)$")


def stored_reason(facts: StageFacts, code: str) -> str:
    """The reason a ``stage_changes`` row stores: the gravest level's most common metric
    and how many alerts it has, in the area ``code``."""
    if not facts.at_gravest:
        return f"stage {facts.stage}: no active alerts"
    metric, n = Counter(facts.at_gravest).most_common(1)[0]
    return f"stage {facts.stage}: {n} {metric} alert{'s' * (n > 1)} in {code}"


def read_reason(reason: str) -> StageReason | None:
    """The facts of a stored reason (None for text :func:`stored_reason` does not write)."""
    found = _STORED.match(reason)
    if found is None:
        return None
    if found[2] is None:
        return StageReason(int(found[1]))
    return StageReason(int(found[1]), int(found[2]), found[3], found[4])
