"""Overdue grid-management cases as alerts: the alert engine watches the step times of
every open case and judges them, at each passage of event time, by the one rule the
dashboard shows (:mod:`detectors.contract.case_limits`).

- a step past its limit raises one alert (category ``case``, level IV blue: the tier,
  not the level, carries the urgency) at the tier the rule names: the street center;
- as it stays overdue the alert is escalated to the tier the rule names next (district
  at twice the limit, city at four times), one ``escalated`` event per tier;
- it clears when the step is done (the case moves on, is closed or evaluated);
- a lateness alerted once is never alerted again: not on the next tick, not after a
  restart (the marks are in the engine's snapshot), not after an operator resolved it.
  A case sent back and late again on its new handling is a new lateness.

Overdue cases say nothing about an area's hazards: they join no incident and count for no
stage (:func:`detectors.alerting.stages.counts`).

>>> from detectors.contract.places import Location
>>> where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
>>> case = WatchedCase("CS-1", "garbage", list(where.codes()))
>>> case.note(CaseMove("CS-1", "garbage", "filed", 0, where))
>>> late = judge(case, now_ms=31 * MINUTE_MS)
>>> late.status, late.tier, mark(late)
('dispatched', 'street', 'dispatched@1800000')
>>> evidence(case, late)["late_min"]
1
>>> case.note(CaseMove("CS-1", "garbage", "dispatched", 32 * MINUTE_MS, where, "sanitation"))
>>> judge(case, now_ms=33 * MINUTE_MS) is None, case.department
(True, 'sanitation')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.contract.alerts import Category
from detectors.contract.case_limits import (
    ESCALATION_TIERS,
    MINUTE_MS,
    Lateness,
    case_steps,
    overdue_step,
)
from detectors.contract.events import CASE_STATUSES
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location

OVERDUE_METRIC = "case_overdue"
"""The metric column of an overdue case's alert (what a silence on a metric names)."""
LEVEL = WarningLevel.IV
MAX_WATCHED = 50_000
"""Open cases watched at most; past it the longest-watched are let go: an alert of theirs
stays active, no longer escalates, and clears when the case moves on (a city files a few
thousand a day, so only a deployment where no one ever closes a case gets here)."""


@dataclass(frozen=True, slots=True)
class CaseMove:
    """A case filed or moved on, as the engine learns it: from the case topic (through the
    ingest stage) or from an operator's case action."""

    case_id: str
    category: str
    status: str
    ts_ms: int
    location: Location
    department: str = ""  # where a dispatch sent it ('' when the event does not say)


@dataclass(slots=True)
class WatchedCase:
    """An open case as the engine keeps it: its (status, time) events, who holds it and
    the lateness already alerted (``'<step>@<due ms>'``, '' for none)."""

    case_id: str
    category: str
    location: list[str]
    events: list[list[Any]] = field(default_factory=list)
    department: str = ""
    alerted: str = ""
    wake_ms: int = 0  # no judgement can change before a tick past this (NEVER: none can)

    def note(self, move: CaseMove) -> None:
        """Add a step (a re-delivered one changes nothing)."""
        if [move.status, move.ts_ms] not in self.events:
            self.events.append([move.status, move.ts_ms])
        self.department = move.department or self.department
        self.location = list(move.location.codes())

    @property
    def through(self) -> bool:
        """Whether the case has been evaluated: nothing more to wait for."""
        return CASE_STATUSES[-1] in case_steps(self.events)

    def dump(self) -> dict[str, Any]:
        """Plain fields for the snapshot (without :func:`dataclasses.asdict`'s deep copy:
        a city may have many thousand open cases, snapshotted every batch)."""
        return {
            "case_id": self.case_id, "category": self.category, "location": self.location,
            "events": self.events, "department": self.department, "alerted": self.alerted,
            "wake_ms": self.wake_ms,
        }  # fmt: skip


def judge(case: WatchedCase, now_ms: int) -> Lateness | None:
    """The step ``case`` is overdue on at ``now_ms`` (None: on time, or through)."""
    return overdue_step(case.category, case_steps(case.events), now_ms)


NEVER = 2**62
"""A wake time no tick reaches."""


def wake_after(case: WatchedCase, now_ms: int) -> int:
    """When the judgement of ``case`` can next change after ``now_ms``: the due time of
    the step it waits on, or the next escalation threshold past ``now_ms`` (a tick judges
    the case only once it is past this, so a tick costs little for cases on time)."""
    late = judge(case, NEVER)  # the step waited on, and when it is due, whenever judged
    if late is None:
        return NEVER  # through, or no step with a clock to wait on
    limit_ms = late.limit_min * MINUTE_MS
    start = late.due_ms - limit_ms
    ahead = [start + times * limit_ms for times, _ in ESCALATION_TIERS]
    return min((t for t in ahead if t >= now_ms), default=NEVER)


def still_late(case: WatchedCase) -> bool:
    """Whether the lateness alerted is still there: its step not done, due when it was
    (judged just after that due time: a step done or a clock restarted since ends it)."""
    if not case.alerted:
        return False
    late = judge(case, int(case.alerted.rsplit("@", 1)[1]) + 1)
    return late is not None and mark(late) == case.alerted


def mark(late: Lateness) -> str:
    """What identifies one lateness: the step and when it was due."""
    return f"{late.status}@{late.due_ms}"


def case_key(case_id: str, step: str) -> str:
    """The alert key of a case's lateness on ``step``."""
    return f"{case_id}:{step}:{Category.CASE}"


def evidence(case: WatchedCase, late: Lateness) -> dict[str, Any]:
    """What the alert shows and its explanation reads: which case, which step, by when,
    how late (whole minutes at the event), which department holds it."""
    return {
        "source_id": case.case_id,  # the case id is the crews' reference label
        "metric": OVERDUE_METRIC,
        "case_category": case.category,
        "step": late.status,
        "due_ms": late.due_ms,
        "limit_min": late.limit_min,
        "late_min": late.late_ms // MINUTE_MS,
        "department": case.department,
    }


def lateness_reason(late: Lateness, tier: str = "") -> str:
    """The engine's reason (:mod:`detectors.alerting.reasons` says it in words)."""
    said = f"case step {late.status} overdue by {late.late_ms // MINUTE_MS} min"
    return f"{said}: to {tier}" if tier else said
