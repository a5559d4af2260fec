"""The lifecycle of a grid-management case as operators drive it: the departments a case is
dispatched to, the actions on a case, and which action may follow which status.

The worker applies an action only when the case's current status allows it; anything else
is refused with the reason (and dead-lettered), so a case's steps are always in order.

>>> status_after("close", "verified")
'closed'
>>> status_after("close", "handled") is None
True
>>> refusal("close", "handled")
'cannot close a case that is handled (close follows verified)'
"""

from __future__ import annotations

from detectors.contract.catalog import DEFAULT_DEPARTMENTS
from detectors.contract.events import CASE_SENT_BACK

CASE_DEPARTMENT_CODES = (
    "urban_management", "municipal", "sanitation", "traffic_police", "water", "power",
)  # fmt: skip
DEPARTMENTS: dict[str, tuple[str, str]] = {
    d.code: (d.name, d.name_zh)
    for code in CASE_DEPARTMENT_CODES
    for d in DEFAULT_DEPARTMENTS
    if d.code == code
}
"""Departments a case can be dispatched to: code -> (English, Chinese) name, as the
catalog's departments name them (one list of departments)."""

CATEGORY_DEPARTMENTS: dict[str, str] = {
    "road_damage": "municipal",  # roads are municipal works
    "illegal_parking": "traffic_police",
    "garbage": "sanitation",
    "manhole_cover": "municipal",
    "waterlogging": "water",  # drainage
    "noise_complaint": "urban_management",  # enforcement of noise rules
    "street_light": "municipal",
    "illegal_construction": "urban_management",
}
"""The department a new case of each category is routed to until a dispatch sends it
elsewhere (every case category has one; an unknown category goes to city management)."""
DEFAULT_CASE_DEPARTMENT = "urban_management"


def case_department(category: str, dispatched: str = "") -> str:
    """The department a case belongs to: the one it was last dispatched to, else its
    category's.

    >>> case_department("garbage"), case_department("garbage", "municipal")
    ('sanitation', 'municipal')
    """
    return dispatched or CATEGORY_DEPARTMENTS.get(category, DEFAULT_CASE_DEPARTMENT)


CASE_ACTIONS: tuple[str, ...] = (
    "dispatch",
    "accept",
    "handle",
    "verify",
    "send_back",
    "close",
    "evaluate",
)
"""Operator actions on a case, in lifecycle order."""

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    # A case filed, or sent back, goes to a department; one not yet accepted may be
    # dispatched to another.
    "dispatch": (frozenset({"filed", "dispatched", CASE_SENT_BACK}), "dispatched"),
    "accept": (frozenset({"dispatched"}), "accepted"),
    # Work sent back is redone by the department that already accepted it.
    "handle": (frozenset({"accepted", CASE_SENT_BACK}), "handled"),
    "verify": (frozenset({"handled"}), "verified"),
    "send_back": (frozenset({"handled"}), CASE_SENT_BACK),
    "close": (frozenset({"verified"}), "closed"),
    "evaluate": (frozenset({"closed"}), "evaluated"),
}
"""action -> (the statuses it may follow, the status it leaves the case in)."""

SCORES = (1, 2, 3, 4, 5)
"""An evaluation's score: 1 (very unsatisfied) .. 5 (very satisfied)."""


def status_after(action: str, status: str) -> str | None:
    """The case's status once ``action`` is applied to it in ``status``; None when the
    action may not follow that status (or is no case action)."""
    allowed = TRANSITIONS.get(action)
    if allowed is None or status not in allowed[0]:
        return None
    return allowed[1]


def refusal(action: str, status: str) -> str:
    """Why ``action`` may not follow ``status``, for the operator and the dead letter."""
    follows = " or ".join(sorted(TRANSITIONS[action][0]))
    return f"cannot {action.replace('_', ' ')} a case that is {status} ({action} follows {follows})"


def possible_actions(status: str) -> tuple[str, ...]:
    """The actions a case in ``status`` allows, in lifecycle order."""
    return tuple(a for a in CASE_ACTIONS if status_after(a, status) is not None)
