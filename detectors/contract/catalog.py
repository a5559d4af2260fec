"""The data catalog: which department owns each source family and source, what it feeds,
which views use it, and its quality promise (freshness and completeness targets).

A catalog entry is one family or one source that overrides its family; the entry in force
for a source is its own, else its family's. Every change is a new version with its author,
so the catalog keeps its history.

>>> parse_duration("90s"), parse_duration("15m"), parse_duration("2h"), parse_duration("1d")
(90, 900, 7200, 86400)
>>> parse_percent("99.5")
99.5
>>> promise = Promise(freshness_s=300, completeness_pct=80.0, allowance_s=600)
>>> breaches(promise, last_ms=1_000_000, now_ms=1_200_000, completeness=0.75)
('incomplete',)
>>> breaches(promise, last_ms=0, now_ms=1_200_000, completeness=None)
('stale',)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from detectors.contract.events import SCHEMA_VERSION, Family


class Subject(StrEnum):
    """What a catalog entry describes."""

    FAMILY = "family"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class Department:
    """A city department that owns sources (and, later, users and cases)."""

    code: str
    name: str
    name_zh: str
    contact: str = ""


DEFAULT_DEPARTMENTS: tuple[Department, ...] = (
    Department("ecology_environment", "Ecology and Environment Bureau", "生态环境局"),
    Department("transport", "Transport Bureau", "交通运输局"),
    Department("traffic_police", "Traffic Police", "交警支队"),
    Department("water", "Water Affairs Bureau", "水务局"),
    Department("power", "Power Supply Company", "供电公司"),
    Department("urban_management", "City Administration Bureau", "城市管理局"),
    Department("municipal", "Municipal Works", "市政"),
    Department("sanitation", "Sanitation", "环卫"),
)
"""The departments written with the reference data (the case departments among them)."""

FAMILY_OWNERS: dict[Family, str] = {
    Family.ENVIRONMENT: "ecology_environment",
    Family.TRAFFIC: "transport",
    Family.WATER: "water",
    Family.POWER: "power",
    Family.CASE: "urban_management",
}
"""The department that owns each family by default."""

FAMILY_VIEWS: dict[Family, tuple[str, ...]] = {
    Family.ENVIRONMENT: ("tier", "sensor", "alerts", "quality", "overview"),
    Family.TRAFFIC: ("tier", "sensor", "alerts", "quality", "overview"),
    Family.WATER: ("tier", "sensor", "alerts", "quality", "overview"),
    Family.POWER: ("tier", "sensor", "alerts", "quality", "overview"),
    Family.CASE: ("tier", "cases", "case", "overview"),
}
"""The dashboard pages that show each family's data."""

FAMILY_SHARED_WITH: dict[Family, tuple[str, ...]] = {
    # Who else works from a family's data: air and noise for enforcement; traffic for the
    # police on the road; water levels for road works and enforcement in floods; the grid
    # for the works that dig near it; cases for every department they are dispatched to.
    Family.ENVIRONMENT: ("urban_management",),
    Family.TRAFFIC: ("traffic_police", "urban_management"),
    Family.WATER: ("municipal", "urban_management"),
    Family.POWER: ("municipal",),
    Family.CASE: ("municipal", "sanitation", "traffic_police", "water", "power"),
}
"""The departments other than its owner that use each family by default."""

SENSOR_TABLES = ("events_raw", "rollups_1m", "alerts_current", "alert_events")
CASE_TABLES = ("cases_raw", "case_steps", "rollups_1m", "alerts_current")


@dataclass(frozen=True, slots=True)
class Promise:
    """A quality promise: data no older than ``freshness_s``, at least
    ``completeness_pct`` of the expected readings, breaches shorter than ``allowance_s``
    tolerated."""

    freshness_s: int
    completeness_pct: float
    allowance_s: int


DEFAULT_PROMISE = Promise(freshness_s=300, completeness_pct=80.0, allowance_s=600)
"""The promise the data-quality page judges by, and every sensor family's default."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One version of a family's or a source's catalog entry."""

    subject: Subject
    key: str  # the family's name or the source id
    family: str
    department: str
    schema_version: int
    cadence_s: int
    promise: Promise
    topics: tuple[str, ...]
    tables: tuple[str, ...]
    views: tuple[str, ...]
    author: str
    changed_ms: int
    version: int
    shared_with: tuple[str, ...] = ()  # departments other than the owner that use it

    @property
    def shared(self) -> bool:
        """Shared with at least one department other than its owner."""
        return any(code != self.department for code in self.shared_with)


def family_entry(family: Family, cadence_s: int, topic: str, now_ms: int) -> CatalogEntry:
    """A family's default entry (version 0: any edit wins over it, however old)."""
    case = family is Family.CASE
    # Reports come when something happens: no completeness to promise, a day of freshness.
    promise = (
        Promise(86_400, 0.0, DEFAULT_PROMISE.allowance_s)
        if case
        else Promise(max(DEFAULT_PROMISE.freshness_s, 3 * cadence_s),
                     DEFAULT_PROMISE.completeness_pct, DEFAULT_PROMISE.allowance_s)
    )  # fmt: skip
    return CatalogEntry(
        Subject.FAMILY, family.value, family.value, FAMILY_OWNERS[family], SCHEMA_VERSION,
        cadence_s, promise, (topic,), CASE_TABLES if case else SENSOR_TABLES,
        FAMILY_VIEWS[family], "reference", now_ms, 0, FAMILY_SHARED_WITH[family],
    )  # fmt: skip


def source_override(base: CatalogEntry, source_id: str, cadence_s: int) -> CatalogEntry:
    """A source's own entry, starting from its family's (the caller changes what differs)."""
    return CatalogEntry(
        Subject.SOURCE, source_id, base.family, base.department, base.schema_version,
        cadence_s, base.promise, base.topics, base.tables, base.views, base.author,
        base.changed_ms, base.version, base.shared_with,
    )  # fmt: skip


def in_force(
    entries: Mapping[tuple[str, str], CatalogEntry], family: str, source_id: str
) -> CatalogEntry | None:
    """The entry that governs a source: its own override, else its family's."""
    own = entries.get((Subject.SOURCE.value, source_id))
    return own or entries.get((Subject.FAMILY.value, family))


def newest(entries: Iterable[CatalogEntry]) -> dict[tuple[str, str], CatalogEntry]:
    """The entry in force per (subject, key): the highest version (ties: the latest change)."""
    found: dict[tuple[str, str], CatalogEntry] = {}
    for entry in entries:
        key = (entry.subject.value, entry.key)
        held = found.get(key)
        if held is None or (entry.version, entry.changed_ms) >= (held.version, held.changed_ms):
            found[key] = entry
    return found


def breaches(
    promise: Promise, last_ms: int, now_ms: int, completeness: float | None
) -> tuple[str, ...]:
    """How data breaks ``promise`` now: 'stale' (nothing newer than the freshness target),
    'incomplete' (below the completeness target; None = nothing expected, not judged)."""
    stale = not last_ms or now_ms - last_ms > promise.freshness_s * 1000
    incomplete = completeness is not None and completeness * 100 < promise.completeness_pct
    return tuple(name for name, bad in (("stale", stale), ("incomplete", incomplete)) if bad)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def parse_duration(text: str) -> int:
    """Seconds from '90', '90s', '15m', '2h' or '1d'; ValueError otherwise (or if zero)."""
    found = _DURATION.match(text)
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"bad duration {text!r} (a positive number with s, m, h or d: 15m)")
    return int(found.group(1)) * _UNIT_S[found.group(2)]


def parse_percent(text: str) -> float:
    """A percentage 0-100; ValueError otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad percentage {text!r} (a number from 0 to 100)") from None
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"percentage {text} is outside 0-100")
    return value


def check_promise(promise: Promise) -> Promise:
    """A promise a source can be judged by: positive times, a percentage 0-100."""
    if promise.freshness_s <= 0 or promise.allowance_s < 0:
        raise ValueError(f"bad promise times {promise.freshness_s}s / {promise.allowance_s}s")
    if not 0.0 <= promise.completeness_pct <= 100.0:
        raise ValueError(f"bad completeness target {promise.completeness_pct}")
    return promise


def check_department_code(code: str) -> str:
    """A department code: lower case letters, digits and '_', 2-40 long."""
    if not _CODE.match(code):
        raise ValueError(f"bad department code {code!r} (lower case letters, digits, _)")
    return code
