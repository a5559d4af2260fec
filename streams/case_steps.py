"""The worker's case step: operator actions on grid-management cases, checked against each
case's current status and turned into step rows. Pure: the agent looks the cases up and
writes what it returns.

Each applied action is one row of ``case_steps`` (the audit trail: actor, role, comment,
department, score) and one of ``cases_raw`` (the lifecycle every case page reads), both
keyed by an event id made from the action id, so a re-delivered action writes nothing new.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from detectors.alerting.types import NAMESPACE
from detectors.contract.actions import ActionError, validate_case_action
from detectors.contract.cases import refusal, status_after
from detectors.contract.places import Location
from detectors.contract.validation import Invalid


@dataclass(frozen=True, slots=True)
class CaseState:
    """What the worker knows of a case: where it stands and what its rows repeat."""

    case_id: str
    category: str
    status: str
    ts_ms: int  # of its latest step
    source_id: str
    location: Location
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class CaseStep:
    """One applied action: the case after it, and who did what."""

    event_id: str
    case: CaseState
    action: str
    previous: str
    department: str
    score: int
    actor: str
    role: str
    comment: str
    action_id: str


def apply_case_action(action: Mapping[str, Any], cases: dict[str, CaseState]) -> CaseStep | Invalid:
    """Apply one action to ``cases`` (updated in place, so a batch applies in order); or
    the reason it is refused (nothing changes)."""
    try:
        clean = validate_case_action(action)  # the same contract the dashboard checks
    except ActionError as exc:
        return Invalid("bad_action", str(exc))
    case_id, kind = clean["case_id"], clean["action"]
    case = cases.get(case_id)
    if case is None:
        return Invalid("unknown_case", f"no case {case_id[:64]!r}")
    if clean["district"] and case.location.district != clean["district"]:
        return Invalid("not_permitted", f"case {case_id} is outside the actor's district")
    status = status_after(kind, case.status)
    if status is None:
        return Invalid("case_state", refusal(kind, case.status))
    # A step never sorts before the one it follows, whatever the sender's clock said.
    after = dataclasses.replace(case, status=status, ts_ms=max(clean["ts"], case.ts_ms + 1))
    cases[case_id] = after
    return CaseStep(
        event_id=str(uuid.uuid5(NAMESPACE, f"case-action|{clean['action_id']}")),
        case=after, action=kind, previous=case.status,
        department=clean.get("department", ""), score=clean.get("score", 0),
        actor=clean["actor"], role=clean["role"], comment=clean["comment"],
        action_id=clean["action_id"],
    )  # fmt: skip


def cases_raw_rows(steps: Iterable[CaseStep], ingested_ms: int) -> list[tuple[object, ...]]:
    """Rows of ``cases_raw``: the step as a case event (text: the comment), stored at
    ``ingested_ms``."""
    return [
        (s.event_id, s.case.ts_ms // 1000, s.case.ts_ms, s.case.case_id, s.case.category,
         s.case.status, s.case.source_id, *s.case.location.codes(), s.case.lon, s.case.lat,
         s.comment, "", ingested_ms // 1000, ingested_ms)
        for s in steps
    ]  # fmt: skip


def step_rows(steps: Iterable[CaseStep]) -> list[tuple[object, ...]]:
    """Rows of ``case_steps``, in its spec's column order."""
    return [
        (s.event_id, s.case.ts_ms // 1000, s.case.ts_ms, s.case.case_id, s.action,
         s.case.status, s.previous, s.department, s.score, s.actor, s.role, s.comment,
         s.action_id, *s.case.location.codes())
        for s in steps
    ]  # fmt: skip


def case_states(rows: Iterable[tuple[Any, ...]]) -> dict[str, CaseState]:
    """Cases from the rows of :meth:`streams.sink.ClickHouseSink.load_case_states`."""
    return {
        str(case_id): CaseState(str(case_id), str(category), str(status), int(ts_ms),
                                str(source_id), Location(city, district, street, grid),
                                float(lon), float(lat))
        for case_id, category, status, ts_ms, source_id, city, district, street, grid, lon, lat
        in rows
    }  # fmt: skip
