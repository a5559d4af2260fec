"""The five indicators of the city's scorecard (data, governance, service, economy,
environment): the shape every writer (the worker) and reader (the scorecard page) shares.

An indicator of an area over a window is a 0-100 score (100 = best) made of components.
Each component carries what was measured (its value and unit), its own 0-100 score and its
weight; the indicator's score is the weighted mean of the components that could be judged
(a component with nothing to judge, e.g. no case closed in the window, has score None and
does not count). An indicator with no judged component has score None.

>>> parts = (Component("fresh", 95.0, "%", 95.0, 2.0), Component("dead", None, "%", None, 1.0),
...          Component("shared", 50.0, "%", 50.0, 1.0))
>>> combine(parts)
80.0
>>> combine(parts[1:2]) is None
True
>>> components_of(components_json(parts)) == parts
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from detectors.contract.places import AreaLevel


class Indicator(StrEnum):
    """The five core indicators of the data brain."""

    DATA = "data"
    GOVERNANCE = "governance"
    SERVICE = "service"
    ECONOMY = "economy"
    ENVIRONMENT = "environment"


INDICATORS: tuple[Indicator, ...] = tuple(Indicator)


@dataclass(frozen=True, slots=True)
class Component:
    """One measured part of an indicator: ``value`` in ``unit`` (None: nothing measured),
    its ``score`` 0-100 (None: not judged) and its ``weight`` in the indicator."""

    name: str
    value: float | None
    unit: str
    score: float | None
    weight: float


@dataclass(frozen=True, slots=True)
class Score:
    """An indicator of one area over one window (1 minute or 1 hour, from window_start_ms)."""

    level: AreaLevel
    code: str
    indicator: Indicator
    window_start_ms: int
    score: float | None
    components: tuple[Component, ...]


def combine(components: Iterable[Component]) -> float | None:
    """The weighted mean of the judged components' scores (None if none is judged)."""
    judged = [(c.score, c.weight) for c in components if c.score is not None and c.weight > 0]
    total = sum(weight for _, weight in judged)
    if not judged or total <= 0:
        return None
    return round(sum(score * weight for score, weight in judged) / total, 3)


def components_json(components: Iterable[Component]) -> str:
    """The components as the JSON list kept in the ``components`` column."""
    return json.dumps(
        [[c.name, c.value, c.unit, c.score, c.weight] for c in components],
        ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    )  # fmt: skip


def components_of(text: str) -> tuple[Component, ...]:
    """The components from the ``components`` column (the inverse of components_json)."""
    return tuple(
        Component(str(name), _number(value), str(unit), _number(score), float(weight))
        for name, value, unit, score, weight in json.loads(text or "[]")
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
