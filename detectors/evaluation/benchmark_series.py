"""NAB's rewards row by row within one series: what each row would earn as a detection, and
a series' outcome at a given threshold. The corpus-wide sweep is in ``benchmark``.

>>> round(scaled_sigmoid(-1.0), 5), scaled_sigmoid(0.0), scaled_sigmoid(3.0)
(0.98661, 0.0, -1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROBATION_FRACTION = 0.15
PROBATION_CAP = 5000  # NAB caps probation at 15 % of 5000 rows
OUTSIDE, PROBATION = -1, -2
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CostMatrix:
    """The weights of a NAB application profile."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Outcome:
    """One series at one threshold: raw NAB score, windows detected and missed, episodes of
    detections outside every window, and each detected window's delay."""

    name: str
    raw: float
    detected: int
    missed: int
    false_episodes: int
    delays: tuple[int, ...]
    delay_fractions: tuple[float, ...]


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: near 1 at a window's left edge (-1), 0 at its right edge, -1 from
    three window widths after it."""
    return -1.0 if position >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def _scaled_sigmoid(positions: Floats) -> Floats:
    curve = 2.0 / (1.0 + np.exp(5.0 * np.minimum(positions, 3.0))) - 1.0
    return np.where(positions >= 3.0, -1.0, curve)


MAX_TP = scaled_sigmoid(-1.0)


def probation_rows(n_rows: int) -> int:
    """Rows at the start of a series in which nothing counts.

    >>> probation_rows(100), probation_rows(4000), probation_rows(100_000)
    (15, 600, 750)
    """
    return int(min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_FRACTION * PROBATION_CAP))


def window_rows(
    ts_ms: Sequence[int], spans_ms: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """Labelled windows, inclusive ``(start, end)`` times, as inclusive row ranges of a series
    in file order: from the first to the last row whose time lies inside, as NAB's labeller
    takes them, so a series whose time repeats or goes back (NAB's machine temperature
    repeats an hour of 2014-01-07) is labelled as NAB labels it. A window with no row, or
    one overlapping the previous, is an error.

    >>> window_rows([0, 10, 20, 30, 40], [(10, 25), (40, 40)])
    ((1, 2), (4, 4))
    >>> window_rows([0, 10, 20, 10, 20, 30], [(25, 30)])
    ((5, 5),)
    """
    times = np.asarray(ts_ms, dtype=np.int64)
    rows: list[tuple[int, int]] = []
    for start, end in spans_ms:
        inside = np.flatnonzero((times >= start) & (times <= end))
        if not inside.size:
            raise ValueError(f"window [{start}, {end}] covers no row")
        first, last = int(inside[0]), int(inside[-1])
        if rows and first <= rows[-1][1]:
            raise ValueError(f"window [{start}, {end}] overlaps the window before it")
        rows.append((first, last))
    return tuple(rows)


def sweep_values(
    n_rows: int, windows: Sequence[tuple[int, int]], cost: CostMatrix
) -> tuple[Floats, Ints]:
    """What each row would earn as a detection, and its window (``OUTSIDE``, or
    ``PROBATION`` for the first rows, which never count), as NAB's calcSweepScore."""
    rows = np.arange(n_rows)
    values = np.full(n_rows, -cost.fp)
    window_of = np.full(n_rows, OUTSIDE, dtype=np.int64)
    ends = np.array([end for _, end in windows], dtype=np.int64)
    widths = np.array([end - start + 1 for start, end in windows], dtype=np.int64)
    previous = np.searchsorted(ends, rows, side="left") - 1  # the last window ended before
    after = previous >= 0
    # NAB divides by (width - 1); a one-row window would divide by zero there
    span = np.maximum(widths[previous[after]] - 1, 1)
    values[after] = cost.fp * _scaled_sigmoid((rows[after] - ends[previous[after]]) / span)
    for index, (start, end) in enumerate(windows):
        inside = rows[start : end + 1]
        values[inside] = cost.tp * _scaled_sigmoid(-(end - inside + 1) / (end - start + 1))
        values[inside] /= MAX_TP  # NAB scales so that the earliest detection earns tp
        window_of[inside] = index
    window_of[: probation_rows(n_rows)] = PROBATION
    return values, window_of


def _episodes(alarms: npt.NDArray[np.bool_]) -> int:
    """Runs of consecutive true rows."""
    return int(np.count_nonzero(alarms & ~np.concatenate(([False], alarms[:-1]))))


def outcome(
    name: str,
    scores: Sequence[float],
    windows: Sequence[tuple[int, int]],
    threshold: float,
    cost: CostMatrix,
) -> Outcome:
    """A series' NAB raw score and counts when rows scoring ``threshold`` or more are
    detections. Windows wholly inside the probation period are not scored (as in NAB)."""
    values, window_of = sweep_values(len(scores), windows, cost)
    alarms = (np.asarray(scores, dtype=np.float64) >= threshold) & (window_of != PROBATION)
    outside = alarms & (window_of == OUTSIDE)
    raw, missed = float(values[outside].sum()), 0
    delays: list[int] = []
    fractions: list[float] = []
    for start, end in windows:
        if window_of[end] == PROBATION:
            continue
        hits = np.flatnonzero(alarms[start : end + 1])
        if hits.size == 0:
            raw, missed = raw - cost.fn, missed + 1
            continue
        raw += float(values[start + hits[0]])
        delays.append(int(hits[0]))
        fractions.append(int(hits[0]) / (end - start + 1))
    return Outcome(
        name, raw, len(delays), missed, _episodes(outside), tuple(delays), tuple(fractions)
    )


def label_runs(flags: Sequence[bool]) -> tuple[tuple[int, int], ...]:
    """Windows as the runs of consecutive labelled rows, inclusive row ranges.

    >>> label_runs([False, True, True, False, True])
    ((1, 2), (4, 4))
    """
    marked = np.concatenate(([False], np.asarray(flags, dtype=bool), [False]))
    edges = np.flatnonzero(marked[1:] != marked[:-1])
    return tuple((int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True))
