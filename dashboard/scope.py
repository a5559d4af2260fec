"""Who is looking: roles, their scope (the whole city or one district) and their pages.

The scope is enforced where data is queried: every query method takes a :class:`Scope`
and filters in SQL with :meth:`Scope.sql_params`, so a page that forgets to hide something
still cannot show it.

>>> operator = Scope(Role.DISTRICT_OPERATOR, "D2", "li")
>>> operator.allows_district("D2"), operator.allows_district("D3")
(True, False)
>>> operator.sql_params()
{'scope_all': 0, 'scope_district': 'D2'}
>>> can_open(Role.EMERGENCY_STAFF, Page.QUALITY)
False
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a user does in the command center."""

    CITY_COMMANDER = "city_commander"
    DISTRICT_OPERATOR = "district_operator"
    EMERGENCY_STAFF = "emergency_staff"
    ENGINEER = "engineer"
    WALL_SCREEN = "wall_screen"


class Page(StrEnum):
    """The kinds of page the command center serves."""

    TIER = "tier"  # city, district, street, grid cell
    SENSOR = "sensor"
    ALERTS = "alerts"
    CASES = "cases"
    CASE = "case"
    QUALITY = "quality"
    OVERVIEW = "overview"
    REPLAY = "replay"
    ACCESS = "access"  # the access audit
    SILENCES = "silences"  # silences and maintenance windows
    CATALOG = "catalog"  # the data catalog: owners and promises of the sources
    SCORECARD = "scorecard"  # the five city indicators of an area


_ALL_PAGES = frozenset(Page)
ROLE_PAGES: dict[Role, frozenset[Page]] = {
    Role.CITY_COMMANDER: _ALL_PAGES,
    # Replays are of the whole city: for the city commander and engineers only. Who logged
    # in, and who was refused, is for the city commander alone. The catalog page is read
    # only for everyone (it is edited with citybrain-catalog).
    Role.DISTRICT_OPERATOR: _ALL_PAGES - {Page.REPLAY, Page.ACCESS},
    Role.EMERGENCY_STAFF: frozenset({Page.ALERTS, Page.TIER, Page.SENSOR, Page.SILENCES}),
    # Engineers look at the data, replays and quality; they act on no alert.
    Role.ENGINEER: _ALL_PAGES - {Page.ACCESS},
    Role.WALL_SCREEN: frozenset({Page.TIER, Page.ALERTS, Page.OVERVIEW, Page.SCORECARD}),
}


class ScopeError(PermissionError):
    """A request for data or a page outside the viewer's scope; the message says why.
    ``level`` and ``code`` name what was asked for, ``district`` the viewer's district."""

    def __init__(self, level: str, code: str, district: str) -> None:
        self.level, self.code, self.district = level, code, district
        what = f"{level} {code}".strip()
        super().__init__(f"{what} is outside your scope (district {district})")


@dataclass(frozen=True, slots=True)
class Scope:
    """A viewer: role, the district they are limited to ('' = the whole city), and name."""

    role: Role
    district: str = ""
    username: str = ""
    department: str = ""  # the viewer's department ('' = none): "my department" filters

    @property
    def city_wide(self) -> bool:
        return self.district == ""

    @property
    def read_only(self) -> bool:
        """Wall screens show; they never act."""
        return self.role is Role.WALL_SCREEN

    def allows_district(self, district: str) -> bool:
        return self.city_wide or district == self.district

    def require_district(self, district: str, level: str = "district", code: str = "") -> None:
        """Raise ScopeError unless ``district`` is in scope (``level`` and ``code`` name
        the thing asked for; by default the district itself)."""
        if not self.allows_district(district):
            raise ScopeError(level, code or district, self.district)

    def sql_params(self) -> dict[str, object]:
        """The parameters of the SQL scope filter
        ``(%(scope_all)s = 1 OR district = %(scope_district)s)``."""
        return {"scope_all": int(self.city_wide), "scope_district": self.district}

    def cache_key(self) -> str:
        return self.district


SCOPE_FILTER = "(%(scope_all)s = 1 OR district = %(scope_district)s)"
"""The SQL condition that keeps a row only when its district is in scope."""


def can_open(role: Role, page: Page) -> bool:
    return page in ROLE_PAGES[role]


def parse_role(text: str) -> Role:
    """A role from its name, or ValueError listing the roles."""
    try:
        return Role(text)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r} (one of {known})") from None


def check_assignment(role: Role, district: str) -> None:
    """A district operator needs a district; a city commander has none."""
    if role is Role.DISTRICT_OPERATOR and not district:
        raise ValueError("a district operator needs a district (--district)")
    if role is Role.CITY_COMMANDER and district:
        raise ValueError("a city commander sees the whole city: no district")
