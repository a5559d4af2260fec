"""The lifecycle of a grid-management case and its time limits: the one rule by which the
dashboard shows a case overdue and the worker raises and escalates its overdue alert.

A case is filed, then dispatched, accepted, handled, verified, closed and evaluated. Each
step must follow the one before within a limit (minutes); a category that is a danger to
people may tighten them. A step not reached in time makes the case overdue, and the longer
it is overdue the higher the tier it is escalated to (street, then district, then city).
A case sent back at verification is handled again, within the handling limit from then.

>>> limits_for("manhole_cover")["dispatched"], limits_for("garbage")["dispatched"]
(10, 30)
>>> steps = {"filed": 0, "dispatched": 20 * MINUTE_MS}
>>> [s.state for s in timeline("garbage", steps, now_ms=5 * 60 * MINUTE_MS)][:3]
['done', 'done', 'overdue']
>>> escalation("garbage", steps, now_ms=20 * MINUTE_MS + 31 * MINUTE_MS)
'street'
>>> escalation("garbage", steps, now_ms=20 * MINUTE_MS + 4 * 30 * MINUTE_MS + 1)
'city'
>>> overdue_step("garbage", steps, now_ms=20 * MINUTE_MS + 61 * MINUTE_MS)
Lateness(status='accepted', due_ms=3000000, limit_min=30, late_ms=1860000, tier='district')
>>> case_steps([("handled", 3), ("filed", 1), ("sent_back", 4), ("filed", 1)])
{'filed': 1, 'sent_back': 4}
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detectors.contract.events import CASE_SENT_BACK, CASE_STATUSES

MINUTE_MS = 60_000

STEP_LIMITS_MIN: dict[str, int] = {
    "dispatched": 30,  # from filing
    "accepted": 30,  # from dispatch
    "handled": 4 * 60,  # from acceptance (or from being sent back)
    "verified": 60,  # from handling
    "closed": 60,  # from verification
    "evaluated": 24 * 60,  # from closing
}
"""Minutes a step may take after the step before it."""

CATEGORY_LIMITS_MIN: dict[str, dict[str, int]] = {
    # A missing manhole cover or a flooded road can hurt someone: faster.
    "manhole_cover": {"dispatched": 10, "handled": 60},
    "waterlogging": {"dispatched": 15, "handled": 120},
    "street_light": {"handled": 12 * 60},
}
"""Tighter limits of some categories (never looser than the default)."""

DONE, LATE, PENDING, OVERDUE, WAITING = "done", "late", "pending", "overdue", "waiting"
SKIPPED = "skipped"
"""A step never recorded though a later one was: a case from before the step existed
(acceptance), or moved on by hand. It is not overdue, and the next step's clock starts
from the step before it."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a case: when it happened (or not), by when it had to, and its state:
    done, late (done after its limit), pending (due, not yet late), overdue (due and past
    its limit), waiting (an earlier step is not done yet)."""

    status: str
    at_ms: int | None
    due_ms: int | None
    limit_min: int | None
    state: str


def limits_for(category: str) -> dict[str, int]:
    """The limits of a category: the defaults, tightened where the category says so."""
    tighter = CATEGORY_LIMITS_MIN.get(category, {})
    return {s: min(m, tighter.get(s, m)) for s, m in STEP_LIMITS_MIN.items()}


def timeline(category: str, steps: Mapping[str, int], now_ms: int) -> list[Step]:
    """Every step of a case, in lifecycle order, judged at ``now_ms`` (event time)."""
    result: list[Step] = []
    for status, at, limit, since, skipped in _clocks(limits_for(category), steps):
        if skipped:
            result.append(Step(status, None, None, limit, SKIPPED))
            continue
        due = since + limit * MINUTE_MS if since is not None and limit else None
        result.append(Step(status, at, due, limit, _state(at, due, since, now_ms, status)))
    return result


def _clocks(
    limits: Mapping[str, int], steps: Mapping[str, int]
) -> Iterator[tuple[str, int | None, int | None, int | None, bool]]:
    """Each step in lifecycle order: its status, when it was reached, its limit, when its
    clock started (None: not yet) and whether it was skipped."""
    previous: int | None = None
    furthest = _furthest(steps)
    for index, status in enumerate(CASE_STATUSES):
        at, limit = steps.get(status), limits.get(status)
        if at is None and index < furthest:
            yield status, None, limit, None, True
            continue
        previous = _since(status, previous, steps)
        yield status, at, limit, previous, False
        previous = at


def _state(at: int | None, due: int | None, previous: int | None, now: int, status: str) -> str:
    if at is not None:
        return LATE if due is not None and at > due else DONE
    if previous is None:
        return WAITING if status != "filed" else PENDING
    return OVERDUE if due is not None and now > due else PENDING


def is_overdue(category: str, steps: Mapping[str, int], now_ms: int) -> bool:
    """Whether a step the case has not reached is past its limit: the same judgement as
    :func:`timeline`'s 'overdue', without building the steps (a tier page judges
    thousands of cases on every refresh)."""
    return any(
        at is None and since is not None and limit and now_ms > since + limit * MINUTE_MS
        for _, at, limit, since, _ in _clocks(_limits(category), steps)
    )  # fmt: skip


def _furthest(steps: Mapping[str, int]) -> int:
    """The index of the furthest lifecycle step reached (-1: none)."""
    return max((i for i, s in enumerate(CASE_STATUSES) if s in steps), default=-1)


def _since(status: str, previous: int | None, steps: Mapping[str, int]) -> int | None:
    """When the clock of ``status`` started: the step before it, or for handling a later
    send-back (the department redoes the work from then)."""
    back = steps.get(CASE_SENT_BACK)
    if status == "handled" and back is not None and (previous is None or back > previous):
        return back
    return previous


ESCALATION_TIERS: tuple[tuple[int, str], ...] = ((4, "city"), (2, "district"), (1, "street"))
"""(how many times its limit a step is overdue by, the tier the case goes to): overdue at
all, the street center chases it; twice the limit, the district; four times, the city."""


@dataclass(frozen=True, slots=True)
class Lateness:
    """The step a case is overdue on: by when it was due, its limit, how late it is at the
    time judged and the tier that must chase it."""

    status: str
    due_ms: int
    limit_min: int
    late_ms: int
    tier: str


def overdue_step(category: str, steps: Mapping[str, int], now_ms: int) -> Lateness | None:
    """The step a case is overdue on at ``now_ms`` and the tier it is escalated to (None
    when it is not overdue: a case waits on one step at a time)."""
    for step in timeline(category, steps, now_ms):
        if step.state == OVERDUE and step.due_ms is not None and step.limit_min:
            limit_ms = step.limit_min * MINUTE_MS
            taken = now_ms - step.due_ms + limit_ms  # since the step's clock started
            tier = next((t for times, t in ESCALATION_TIERS if taken > times * limit_ms), "street")
            return Lateness(step.status, step.due_ms, step.limit_min, now_ms - step.due_ms, tier)
    return None


def escalation(category: str, steps: Mapping[str, int], now_ms: int) -> str:
    """The tier an overdue case is escalated to ('' when it is not overdue)."""
    late = overdue_step(category, steps, now_ms)
    return late.tier if late is not None else ""


def case_steps(events: Iterable[Sequence[Any]]) -> dict[str, int]:
    """When a case first reached each step, from its (status, ts_ms) events in any order.
    A send-back undoes handling and verification: they are to be reached again."""
    steps: dict[str, int] = {}
    for status, ts_ms in sorted(((str(s), int(t)) for s, t in events), key=lambda e: e[1]):
        if status in steps and status != CASE_SENT_BACK:
            continue
        steps[status] = ts_ms
        if status == CASE_SENT_BACK:
            steps.pop("handled", None)
            steps.pop("verified", None)
    return steps


@functools.lru_cache(maxsize=64)
def _limits(category: str) -> dict[str, int]:
    return limits_for(category)


def is_open(last_status: str) -> bool:
    """A case is open until it has been evaluated."""
    return last_status != CASE_STATUSES[-1]


def current_step(steps: Mapping[str, int]) -> str:
    """The furthest step a case has reached."""
    reached = [s for s in CASE_STATUSES if s in steps]
    return reached[-1] if reached else ""


def due_next(category: str, steps: Mapping[str, int]) -> tuple[str, int] | None:
    """The next step and its deadline, or None when the case is through."""
    for step in timeline(category, steps, 0):
        if step.at_ms is None:
            return (step.status, step.due_ms) if step.due_ms is not None else None
    return None
