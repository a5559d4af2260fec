"""Additive exponential smoothing of a cycle (Holt-Winters without a trend term), one pass.

A level and an offset for each place (slot) of the cycle; a reading is predicted as the
level plus its slot's offset. The level follows the readings net of their offsets with a
time constant of a :data:`LEVEL_TURN` th of a turn (an hour of a day); each offset moves
:data:`OFFSET_SHARE` of the way to the reading net of the level at each turn, so it
averages about the last six turns. A trend needs no term of its own: the level lags it by a
steady amount, and what is judged of a miss is how it differs from the usual miss.

The smoothing starts from two whole turns (:func:`start_from`): each slot's offset is its
mean's distance from its turn's mean, net of the turn-to-turn rise, so a ramp starts with
flat offsets and a level on the ramp, not with a first turn's rise taken for the cycle's
shape (every turn's start would then be a jump).

>>> import math
>>> smoothing = SeasonalSmoothing(level=10.0, offsets=[0.0, 5.0, 0.0, -5.0])
>>> for i in range(400):
...     smoothing.learn(i % 4, 10.0 + 5.0 * math.sin(math.pi * i / 2), 1.0, 4.0, 1.0)
>>> round(smoothing.predict(1), 6)
15.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

LEVEL_TURN = 24.0
"""The level's time constant is this fraction of a turn: an hour of a day."""
OFFSET_SHARE = 0.3
"""Each turn moves a slot's offset this share of the way to the reading net of the level:
the offsets are weighted means of about the last six turns."""


class SeasonalSmoothing:
    """A level and per-slot offsets, learnt one reading at a time."""

    def __init__(self, level: float, offsets: Sequence[float]) -> None:
        self.level = float(level)
        self.offsets = [float(x) for x in offsets]

    def predict(self, slot: int) -> float:
        return self.level + self.offsets[slot]

    def learn(
        self, slot: int, value: float, steps: float, per_turn: float, per_slot: float
    ) -> None:
        """Learn ``value`` at ``slot``, ``steps`` usual intervals after the last reading,
        of a stream read ``per_turn`` times a turn and ``per_slot`` times a slot."""
        offset = self.offsets[slot]
        tau = max(per_turn / LEVEL_TURN, 1e-9)
        self.level += -math.expm1(-steps / tau) * (value - offset - self.level)
        share = 1.0 - (1.0 - OFFSET_SHARE) ** (1.0 / max(per_slot, 1.0))
        self.offsets[slot] = offset + share * (value - self.level - offset)

    def dump(self) -> dict[str, Any]:
        return {"level": self.level, "offsets": list(self.offsets)}

    @classmethod
    def load(cls, state: Mapping[str, Any]) -> SeasonalSmoothing:
        return cls(state["level"], state["offsets"])


def start_from(
    turns: Sequence[Mapping[int, tuple[float, float]]], slots: int, at: float
) -> SeasonalSmoothing | None:
    """The smoothing started from two whole turns, ``turns`` (the older first: each a
    slot's mean and its readings' mean time, as a share of the turn), ``at`` (a share of a
    turn) into the turn after them; None unless each has nine slots in ten."""
    if len(turns) != 2 or min(len(turn) for turn in turns) < 0.9 * slots:
        return None
    means = [sum(mean for mean, _ in turn.values()) / len(turn) for turn in turns]
    rise = means[1] - means[0]
    offsets = []
    for slot in range(slots):
        apart = [
            turn[slot][0] - mean - rise * (turn[slot][1] - 0.5)
            for turn, mean in zip(turns, means, strict=True)
            if slot in turn
        ]
        offsets.append(sum(apart) / len(apart) if apart else 0.0)
    return SeasonalSmoothing(means[1] + rise * (0.5 + at), offsets)
