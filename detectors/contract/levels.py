"""The four warning levels of Chinese emergency practice, and how scores map onto them.

Level IV (blue, general) is the mildest and level I (red, especially major) the gravest;
the enum orders them by severity so ``max`` picks the gravest:

>>> level_for(0.62), level_for(0.97), level_for(0.2)
(<WarningLevel.IV: 1>, <WarningLevel.I: 4>, None)
>>> WarningLevel.II.zh, WarningLevel.II.colour
('重大', 'orange')
>>> max(WarningLevel.III, WarningLevel.I).roman
'I'
"""

from __future__ import annotations

from enum import IntEnum


class WarningLevel(IntEnum):
    """A warning level; the value grows with severity (IV=1 .. I=4)."""

    IV = 1
    III = 2
    II = 3
    I = 4  # noqa: E741 - the level's official name

    @property
    def roman(self) -> str:
        return self.name

    @property
    def colour(self) -> str:
        return _COLOUR[self]

    @property
    def en(self) -> str:
        """The English name: general, large, major, especially major."""
        return _EN[self]

    @property
    def zh(self) -> str:
        """The Chinese name: 一般, 较大, 重大, 特别重大."""
        return _ZH[self]

    @property
    def label(self) -> str:
        """How an operator reads it: ``'II orange (major)'``."""
        return f"{self.roman} {self.colour} ({self.en})"

    @property
    def floor(self) -> float:
        """The lowest score at this level."""
        return LEVEL_FLOORS[self]

    @property
    def score(self) -> float:
        """The score a rule gives when it means exactly this level (e.g. a limit band)."""
        return LEVEL_SCORES[self]


_COLOUR = {
    WarningLevel.IV: "blue",
    WarningLevel.III: "yellow",
    WarningLevel.II: "orange",
    WarningLevel.I: "red",
}
_EN = {
    WarningLevel.IV: "general",
    WarningLevel.III: "large",
    WarningLevel.II: "major",
    WarningLevel.I: "especially major",
}
_ZH = {
    WarningLevel.IV: "一般",
    WarningLevel.III: "较大",
    WarningLevel.II: "重大",
    WarningLevel.I: "特别重大",
}

LEVEL_FLOORS: dict[WarningLevel, float] = {
    WarningLevel.IV: 0.5,
    WarningLevel.III: 0.7,
    WarningLevel.II: 0.85,
    WarningLevel.I: 0.95,
}
LEVEL_SCORES: dict[WarningLevel, float] = {
    WarningLevel.IV: 0.6,
    WarningLevel.III: 0.78,
    WarningLevel.II: 0.9,
    WarningLevel.I: 0.98,
}
ALARM = LEVEL_FLOORS[WarningLevel.IV]
"""The score at which a detector alone would raise an alert (warning level IV)."""
CLEAR_BELOW = 0.35
"""An active alert clears only after its score stays below this (hysteresis)."""
ALARMING = WarningLevel.II
"""The mildest level that sounds the command center's alarm (orange and red) while nobody
has acknowledged the alert."""


def level_for(score: float) -> WarningLevel | None:
    """The warning level a score reaches, or None below level IV."""
    for level in (WarningLevel.I, WarningLevel.II, WarningLevel.III, WarningLevel.IV):
        if score >= LEVEL_FLOORS[level]:
            return level
    return None


def parse_level(text: str | int) -> WarningLevel:
    """A level from its roman numeral, colour or value: ``'II'``, ``'orange'``, ``3``."""
    if isinstance(text, int):
        return WarningLevel(text)
    for level in WarningLevel:
        if text in (level.roman, level.colour, level.en, level.zh):
            return level
    raise ValueError(f"unknown warning level {text!r}")
