"""Silences and maintenance windows: which alerts an operator has muted, and when.

A silence names a scope (one sensor, grid cell, street, district, event family or metric)
and may narrow it by family and metric; a district operator's silence is also confined to
their district. From ``start_ms`` until ``end_ms`` a matching alert is still raised and
stored, marked with the silence's id, but notifies no one, does not escalate and does not
count for its area's stage. Silences are created, expired (ended now) and deleted through
operator actions (:mod:`detectors.contract.actions`); the worker keeps the live ones.

>>> pumps = Silence("s-1", "street", "D1-S2", start_ms=0, end_ms=3_600_000,
...                 metric="water_level", reason="pump maintenance", author="li")
>>> pumps.matches("WAT-0001", "water_level", Location("CB", "D1", "D1-S2", "D1-S2-G03"), 10)
True
>>> pumps.matches("WAT-0001", "rainfall", Location("CB", "D1", "D1-S2", "D1-S2-G03"), 10)
False
>>> pumps.matches("WAT-0001", "water_level", Location("CB", "D1", "D1-S2", ""), 3_600_000)
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from detectors.contract.events import METRICS
from detectors.contract.places import SEPARATOR, Location


class SilenceScope(StrEnum):
    """What a silence covers."""

    SENSOR = "sensor"
    CELL = "cell"  # a grid cell
    STREET = "street"
    DISTRICT = "district"
    FAMILY = "family"
    METRIC = "metric"


class SilenceStatus(StrEnum):
    """Where a silence stands (``silences.status``)."""

    ACTIVE = "active"  # in force, or waiting for its start
    EXPIRED = "expired"  # an operator ended it early, or its end passed
    DELETED = "deleted"  # withdrawn: as if it had never been made (from the change on)


MAX_SILENCE_MS = 30 * 24 * 3600 * 1000
"""The longest window one silence may cover: a forgotten silence must not mute for ever."""


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence as the worker keeps it and the ``silences`` table stores it."""

    silence_id: str
    scope: str  # a SilenceScope
    value: str  # the sensor id, area code, family or metric the scope names
    start_ms: int
    end_ms: int
    family: str = ""  # '' = any family
    metric: str = ""  # '' = any metric
    district: str = ""  # '' = the whole city; else the creator's district
    reason: str = ""
    author: str = ""
    created_ms: int = 0

    def in_force(self, ts_ms: int) -> bool:
        """Whether the window covers ``ts_ms`` (start included, end excluded)."""
        return self.start_ms <= ts_ms < self.end_ms

    def covers(self, source_id: str, metric: str, where: Location) -> bool:
        """Whether an alert of ``source_id`` on ``metric`` at ``where`` is in scope."""
        if self.district and where.district != self.district:
            return False
        family = METRICS[metric].family if metric in METRICS else ""
        if (self.metric and metric != self.metric) or (self.family and family != self.family):
            return False
        return self.value == _scoped_value(self.scope, source_id, metric, family, where)

    def matches(self, source_id: str, metric: str, where: Location, ts_ms: int) -> bool:
        """Whether the silence mutes such an alert at ``ts_ms``."""
        return self.in_force(ts_ms) and self.covers(source_id, metric, where)

    def dump(self) -> dict[str, Any]:
        return asdict(self)


def _scoped_value(scope: str, source_id: str, metric: str, family: str, where: Location) -> str:
    values: dict[str, str] = {
        SilenceScope.SENSOR: source_id,
        SilenceScope.CELL: where.grid,
        SilenceScope.STREET: where.street,
        SilenceScope.DISTRICT: where.district,
        SilenceScope.FAMILY: family,
        SilenceScope.METRIC: metric,
    }
    return values.get(scope, "\0")  # an unknown scope matches nothing


def district_of_scope(scope: str, value: str) -> str:
    """The district an area scope lies in ('' when the scope names no area): ``D1-S2``
    is in ``D1``."""
    if scope in (SilenceScope.CELL, SilenceScope.STREET, SilenceScope.DISTRICT):
        return value.split(SEPARATOR, 1)[0]
    return ""


def first_match(
    silences: Iterable[Silence], source_id: str, metric: str, where: Location, ts_ms: int
) -> str:
    """The id of the first silence (in the given order) that mutes such an alert, or ''."""
    for silence in silences:
        if silence.matches(source_id, metric, where, ts_ms):
            return silence.silence_id
    return ""
