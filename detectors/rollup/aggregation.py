"""Roll-up aggregations as pure folds: ``initialize / agg / result``, plus merging.

>>> agg = Summary.initialize()
>>> for x in (3.0, 1.0, 2.0):
...     agg = Summary.agg(agg, x)
>>> Summary.result(agg)
{'count': 3, 'mean': 2.0, 'min': 1.0, 'max': 3.0}
"""

from __future__ import annotations

from typing import NamedTuple

WINDOW_MS = 60_000
"""Roll-ups use 1-minute tumbling windows of event time."""


class SummaryState(NamedTuple):
    """Count, sum, min and max of the values seen so far."""

    cnt: int
    total: float
    low: float
    high: float


class Summary:
    """count / mean / min / max of a window."""

    @staticmethod
    def initialize() -> SummaryState:
        return SummaryState(0, 0.0, float("inf"), float("-inf"))

    @staticmethod
    def agg(state: SummaryState, value: float) -> SummaryState:
        return SummaryState(
            state.cnt + 1,
            state.total + value,
            value if value < state.low else state.low,
            value if value > state.high else state.high,
        )

    @staticmethod
    def merge(a: SummaryState, b: SummaryState) -> SummaryState:
        return SummaryState(
            a.cnt + b.cnt, a.total + b.total, min(a.low, b.low), max(a.high, b.high)
        )

    @staticmethod
    def result(state: SummaryState) -> dict[str, float | int | None]:
        if state.cnt == 0:
            return {"count": 0, "mean": None, "min": None, "max": None}
        return {
            "count": state.cnt,
            "mean": state.total / state.cnt,
            "min": state.low,
            "max": state.high,
        }


def window_start_ms(ts_ms: int, size_ms: int = WINDOW_MS) -> int:
    """The start of the tumbling window an event time falls in.

    >>> window_start_ms(125_000)
    120000
    """
    return ts_ms - ts_ms % size_ms
