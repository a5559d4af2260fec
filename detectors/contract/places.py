"""The place hierarchy every process shares: city > district > street > grid cell > source.

An area's code names its ancestors: district ``D1`` holds street ``D1-S2``, which holds
grid cell ``D1-S2-G03``; the city has its own code (``CB``). A source (a sensor, an asset,
a case reporter) sits in one grid cell and carries the codes of every level, so what it
sends rolls up without a lookup.

>>> location_of("D1-S2-G03", city="CB")
Location(city='CB', district='D1', street='D1-S2', grid='D1-S2-G03')
>>> level_of("D1-S2", city="CB"), level_of("CB", city="CB")
(<AreaLevel.STREET: 'street'>, <AreaLevel.CITY: 'city'>)
>>> parent_of("D1-S2-G03", city="CB"), parent_of("D1", city="CB"), parent_of("CB", "CB")
('D1-S2', 'CB', '')
>>> child_level(AreaLevel.STREET), child_level(AreaLevel.GRID)
(<AreaLevel.GRID: 'grid'>, '')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SEPARATOR = "-"
"""Joins a parent's code and a child's own part: ``D1`` + ``S2`` -> ``D1-S2``."""


class AreaLevel(StrEnum):
    """A level of the city's areas; also a command tier (grid -> street -> district -> city)."""

    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    GRID = "grid"


AREA_LEVELS: tuple[AreaLevel, ...] = tuple(AreaLevel)
"""The area levels, coarsest first (how a map drills down)."""
LEVELS: tuple[AreaLevel, ...] = tuple(reversed(AREA_LEVELS))
"""Roll-up levels of the city hierarchy, finest first (how a reading rolls up)."""


@dataclass(frozen=True, slots=True)
class Location:
    """The codes of every level a thing belongs to ('' below an area's own level)."""

    city: str = ""
    district: str = ""
    street: str = ""
    grid: str = ""

    def code(self, level: str) -> str:
        """The code of this location at a level (``grid`` ... ``city``; '' for another)."""
        return str(getattr(self, level)) if level in _LEVEL_NAMES else ""

    def codes(self) -> list[str]:
        """The codes, coarsest first: city, district, street, grid."""
        return [self.city, self.district, self.street, self.grid]

    def within(self, level: str) -> Location:
        """The area at ``level`` that holds this location: codes below it blanked."""
        keep = AREA_LEVELS.index(AreaLevel(level)) + 1
        return Location(*(self.codes()[:keep] + [""] * (len(AREA_LEVELS) - keep)))


_LEVEL_NAMES = frozenset(AREA_LEVELS)


def level_of(code: str, city: str) -> AreaLevel:
    """The level of an area code: ``city`` for the city's own code, else by how many
    parts it has (``D1`` district, ``D1-S2`` street, ``D1-S2-G03`` grid)."""
    if code == city:
        return AreaLevel.CITY
    return AREA_LEVELS[1 + min(code.count(SEPARATOR), 2)]


def location_of(code: str, city: str) -> Location:
    """The location of an area from its code: its own and its ancestors' codes."""
    if code == city:
        return Location(city)
    parts = code.split(SEPARATOR)
    return Location(
        city,
        parts[0],
        SEPARATOR.join(parts[:2]) if len(parts) > 1 else "",
        code if len(parts) > 2 else "",
    )


def parent_of(code: str, city: str) -> str:
    """The code of the area that holds ``code`` ('' for the city)."""
    if code == city:
        return ""
    return code.rsplit(SEPARATOR, 1)[0] if SEPARATOR in code else city


def child_level(level: str) -> str:
    """The level below ``level`` ('' below the grid cell: its sources)."""
    index = AREA_LEVELS.index(AreaLevel(level))
    return AREA_LEVELS[index + 1] if index + 1 < len(AREA_LEVELS) else ""
