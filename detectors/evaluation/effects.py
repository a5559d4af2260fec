"""Effects injected into scenario series: how an incident or a fault changes readings.

Each effect has a start (``start_h``), an envelope (``rise_min``, ``hold_min``,
``fall_min``), targets (ids; ``PREFIX*`` matches a prefix) and, for several targets, a
``lag_min`` between one target and the next and optional ``weights``.

>>> import numpy as np
>>> envelope({"start_h": 1, "rise_min": 60, "hold_min": 60, "fall_min": 60},
...          np.array([0, 5_400_000, 9_000_000, 12_600_000, 20_000_000]), 0)
array([0. , 0.5, 1. , 0.5, 0. ])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.scoring.base import FloatArray

HOUR_MS, MINUTE_MS = 3_600_000, 60_000
IntArray = npt.NDArray[np.int64]


def _targets(effect: Mapping[str, Any]) -> Sequence[str]:
    return [str(t) for t in effect.get("targets", [])]


def target_position(effect: Mapping[str, Any], source_id: str) -> int | None:
    """Which target ``source_id`` is (for lags and weights), or None if it is not one."""
    for n, target in enumerate(_targets(effect)):
        if target == source_id or (target.endswith("*") and source_id.startswith(target[:-1])):
            return n
    return None


def span(effect: Mapping[str, Any], start_ms: int, position: int) -> tuple[int, int]:
    """(start, end) of an effect on its ``position``-th target."""
    begin = start_ms + int(float(effect["start_h"]) * HOUR_MS)
    begin += int(position * float(effect.get("lag_min", 0)) * MINUTE_MS)
    minutes = sum(float(effect.get(k, 0)) for k in ("rise_min", "hold_min", "fall_min"))
    return begin, begin + int(minutes * MINUTE_MS)


def envelope(
    effect: Mapping[str, Any], ts_ms: IntArray, start_ms: int, position: int = 0
) -> FloatArray:
    """0 before the effect, rising linearly to 1, holding, falling back to 0."""
    begin, _ = span(effect, start_ms, position)
    rise, hold, fall = (
        float(effect.get(k, 0)) * MINUTE_MS for k in ("rise_min", "hold_min", "fall_min")
    )
    t = (ts_ms - begin).astype(np.float64)
    up = np.clip(t / rise, 0, 1) if rise > 0 else (t >= 0).astype(np.float64)
    down = (
        np.clip(1 - (t - rise - hold) / fall, 0, 1)
        if fall > 0
        else (t < rise + hold).astype(np.float64)
    )
    result: FloatArray = np.where(t < 0, 0.0, np.minimum(up, down))
    return result


def apply_effect(
    effect: Mapping[str, Any], source_id: str, metric: str, start_ms: int,
    ts_ms: IntArray, values: FloatArray, keep: npt.NDArray[np.bool_],
) -> None:  # fmt: skip
    """Change ``values`` (and ``keep``, for dropouts) in place where ``effect`` applies."""
    position = target_position(effect, source_id)
    if position is None or effect.get("metric", metric) != metric or effect["kind"] == "cases":
        return
    weights = effect.get("weights")
    weight = float(weights[position]) if weights else 1.0
    shape = envelope(effect, ts_ms, start_ms, position)
    begin, end = span(effect, start_ms, position)
    inside = (ts_ms >= begin) & (ts_ms < end)
    magnitude = float(effect.get("magnitude", 0.0)) * weight
    kind = effect["kind"]
    if kind == "add":
        values += magnitude * shape
    elif kind == "scale":
        values *= 1 + (magnitude - 1) * shape
    elif kind == "set":
        values[inside] = float(effect.get("magnitude", 0.0))
    elif kind == "stuck":
        values[inside] = values[np.argmax(inside)] if inside.any() else 0.0
    elif kind == "drift":
        values[inside] += magnitude * (ts_ms[inside] - begin) / HOUR_MS
    elif kind == "dropout":
        keep &= ~inside
    else:
        raise ValueError(f"unknown effect kind {kind!r}")


def case_times(
    per_day: float, grid: str, category: str, effects: Sequence[Mapping[str, Any]],
    start_ms: int, end_ms: int, rng: np.random.Generator,
) -> IntArray:  # fmt: skip
    """Report times of one cell and category: a Poisson process at ``per_day`` plus the
    surges of ``cases`` effects (``magnitude`` reports an hour at the envelope's top)."""
    count = rng.poisson(per_day * (end_ms - start_ms) / (24 * HOUR_MS))
    times = list(rng.integers(start_ms, end_ms, count))
    for effect in effects:
        if effect["kind"] != "cases" or category != effect.get("category"):
            continue
        position = target_position(effect, grid)
        if position is None:
            continue
        begin, end = span(effect, start_ms, position)
        grid_ts = np.arange(begin, end, MINUTE_MS, dtype=np.int64)
        rate = float(effect["magnitude"]) / 60 * envelope(effect, grid_ts, start_ms, position)
        arrivals = rng.poisson(rate)
        times += [int(t) for t, n in zip(grid_ts, arrivals, strict=True) for _ in range(n)]
    return np.sort(np.array(times, dtype=np.int64))
