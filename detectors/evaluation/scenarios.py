"""Scenarios as data: sensors with a baseline, injected effects and labelled windows (the
ground truth), turned into time-ordered readings by a pure function of (scenario, seed).

The simulator plays a synthesis live; the evaluation runs it offline. A scenario is a
dict (from ``scenarios/*.yaml``)::

    name: flood
    start: "2025-07-07T00:00:00+08:00"
    hours: 66
    warmup_hours: 36          # detectors learn; nothing before this is scored
    city: CB
    sensors:                  # one entry per (ids, metric); grids "D1-S1-G01" name places
      - {ids: [RIV-01, RIV-02], kind: river_gauge, metric: water_level, cadence_s: 300,
         grids: [D1-S1-G02, D1-S2-G01], group: D1-river,
         limits: {warning: 4.0, guaranteed: 5.0},
         baseline: {level: 2.8, site_spread: 0.05, tide: [0.3, 12.42], noise: 0.005}}
    cases:                    # grid-management case reports, per cell and category
      - {grids: [D7-S1-G01], categories: [garbage], per_day: 0.3}
    effects:                  # add | scale | set | stuck | drift | dropout | cases
      - {targets: [RIV-01, RIV-02], metric: water_level, kind: add, start_h: 47,
         rise_min: 300, hold_min: 120, fall_min: 360, magnitude: 1.9, lag_min: 15}
    labels:                   # area_incident | sensor_fault
      - {kind: area_incident, area: D1, start_h: 46, end_h: 60, name: flood}

Baselines: ``level`` (times a per-site factor ``1 +- site_spread``), ``daily`` bumps
``[hour, width_h, height]`` (height relative to the level unless ``relative: false``),
``tide: [amplitude, period_h]``, ``noise`` (absolute sd), ``noise_rel`` (relative sd),
``decimals``. Values are clamped to the metric's plausible range.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.contract import places
from detectors.contract.events import CASE_METRIC, METRICS, Location
from detectors.evaluation.effects import apply_effect, case_times, envelope
from detectors.scoring.base import FloatArray
from detectors.scoring.sites import Reading, Site, case_stream

HOUR_MS = 3_600_000
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Label:
    """A labelled window: ``area_incident`` (must be raised as an incident) or
    ``sensor_fault`` (must be flagged, and never as an area incident)."""

    kind: str
    area: str
    start_ms: int
    end_ms: int
    name: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Synthesis:
    """A scenario's readings (as parallel arrays in time order), sites and labels."""

    name: str
    title: str
    start_ms: int
    scored_from_ms: int
    end_ms: int
    sites: tuple[Site, ...]
    series: tuple[tuple[str, str], ...]  # (source_id, metric) per series index
    ts_ms: IntArray
    series_index: npt.NDArray[np.int32]
    values: FloatArray
    labels: tuple[Label, ...]

    def readings(self) -> Iterator[Reading]:
        """(ts_ms, source_id, metric, value) in time order."""
        series = self.series
        for ts, i, value in zip(
            self.ts_ms.tolist(), self.series_index.tolist(), self.values.tolist(), strict=True
        ):
            yield ts, series[i][0], series[i][1], value

    def batches(self, span_ms: int) -> Iterator[tuple[int, list[Reading]]]:
        """Readings cut into consecutive event-time spans: (span end, readings)."""
        edges = np.arange(self.start_ms + span_ms, self.end_ms + span_ms, span_ms)
        cuts = np.searchsorted(self.ts_ms, edges, side="left")
        readings, start = self.readings(), 0
        for edge, cut in zip(edges.tolist(), cuts.tolist(), strict=True):
            yield edge, [next(readings) for _ in range(cut - start)]
            start = cut


def epoch_ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time with its offset."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def location_of(city: str, grid: str) -> Location:
    """The location of a grid code ``D1-S2-G03`` (district D1, street D1-S2)."""
    return places.location_of(grid, city)


def in_area(location: Location, area: str) -> bool:
    """Whether ``location`` lies in the area with code ``area`` (any level)."""
    return area in (location.city, location.district, location.street, location.grid)


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32("|".join(names).encode())])


def baseline(spec: Mapping[str, Any], ts_ms: IntArray, rng: np.random.Generator) -> FloatArray:
    """A sensor's undisturbed values at ``ts_ms``."""
    level = float(spec.get("level", 0.0)) * (
        1 + float(spec.get("site_spread", 0.0)) * rng.uniform(-1, 1)
    )
    hours = (ts_ms / HOUR_MS + 8.0) % 24
    values = np.full(len(ts_ms), level)
    for at, width, height in spec.get("daily", []):
        distance = np.minimum(np.abs(hours - at), 24 - np.abs(hours - at))
        bump = np.exp(-0.5 * (distance / width) ** 2) * height
        values += bump * (level if spec.get("relative", True) else 1.0)
    if "tide" in spec:
        amplitude, period_h = spec["tide"]
        phase = rng.uniform(0, 2 * np.pi)
        values += amplitude * np.sin(2 * np.pi * ts_ms / (period_h * HOUR_MS) + phase)
    values *= 1 + float(spec.get("noise_rel", 0.0)) * rng.standard_normal(len(ts_ms))
    values += float(spec.get("noise", 0.0)) * rng.standard_normal(len(ts_ms))
    return values


def _sensor_rows(scenario: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    """(source id, metric, sensor entry, grid) for every sensor entry and id."""
    for entry in scenario.get("sensors", []):
        grids = entry["grids"]
        for n, source_id in enumerate(entry["ids"]):
            yield source_id, entry["metric"], entry, grids[n % len(grids)]


def sites_of(scenario: Mapping[str, Any]) -> tuple[Site, ...]:
    """The sites a scenario describes (sensors merged by id, then case streams)."""
    city = str(scenario.get("city", "CB"))
    merged: dict[str, dict[str, Any]] = {}
    for source_id, metric, entry, grid in _sensor_rows(scenario):
        site = merged.setdefault(
            source_id, {"entry": entry, "grid": grid, "metrics": [], "limits": {}}
        )
        site["metrics"].append(metric)
        site["limits"].update(entry.get("limits", {}))
    sites = [
        Site(sid, s["entry"]["kind"], tuple(s["metrics"]), location_of(city, s["grid"]),
             int(s["entry"]["cadence_s"]), str(s["entry"].get("group", "")), s["limits"])
        for sid, s in merged.items()
    ]  # fmt: skip
    for block in scenario.get("cases", []):
        for grid in block["grids"]:
            sites += [case_stream(location_of(city, grid), c) for c in block["categories"]]
    return tuple(sites)


def synthesize(scenario: Mapping[str, Any], seed: int) -> Synthesis:
    """Readings and labels of ``scenario``; the same (scenario, seed) gives the same
    arrays, whatever else runs in the process."""
    start = epoch_ms(str(scenario["start"]))
    end = start + int(float(scenario["hours"]) * HOUR_MS)
    effects = list(scenario.get("effects", []))
    columns: list[tuple[str, str, IntArray, FloatArray]] = []
    for source_id, metric, entry, _grid in _sensor_rows(scenario):
        columns.append(_series(source_id, metric, entry, effects, start, end, seed))
    for block in scenario.get("cases", []):
        for grid in block["grids"]:
            for category in block["categories"]:
                source_id = case_stream(location_of("", grid), category).source_id
                rng = _rng(seed, source_id)
                ts = case_times(float(block["per_day"]), grid, category, effects, start, end, rng)
                columns.append((source_id, CASE_METRIC, ts, np.ones(len(ts))))
    return _assemble(scenario, start, end, columns)


def _series(
    source_id: str, metric: str, entry: Mapping[str, Any], effects: Sequence[Mapping[str, Any]],
    start: int, end: int, seed: int,
) -> tuple[str, str, IntArray, FloatArray]:  # fmt: skip
    rng = _rng(seed, source_id, metric)
    cadence_ms = int(entry["cadence_s"]) * 1000
    ts = np.arange(
        start + int(rng.integers(0, cadence_ms // 1000)) * 1000, end, cadence_ms, dtype=np.int64
    )
    spec = entry["baseline"]
    values = baseline(spec, ts, rng)
    keep = np.ones(len(ts), dtype=bool)
    for effect in effects:
        apply_effect(effect, source_id, metric, start, ts, values, keep)
    limits = METRICS.get(metric)
    if limits is not None:
        np.clip(values, limits.low, limits.high, out=values)
    values = np.round(values, int(spec.get("decimals", 3)))
    return source_id, metric, ts[keep], values[keep]


def _assemble(
    scenario: Mapping[str, Any],
    start: int,
    end: int,
    columns: list[tuple[str, str, IntArray, FloatArray]],
) -> Synthesis:
    ts = np.concatenate([c[2] for c in columns]) if columns else np.zeros(0, np.int64)
    index = (
        np.concatenate([np.full(len(c[2]), i, np.int32) for i, c in enumerate(columns)])
        if columns
        else np.zeros(0, np.int32)
    )
    values = np.concatenate([c[3] for c in columns]) if columns else np.zeros(0)
    order = np.lexsort((index, ts))
    labels = tuple(
        Label(str(lb["kind"]), str(lb["area"]), start + int(float(lb["start_h"]) * HOUR_MS),
              start + int(float(lb["end_h"]) * HOUR_MS), str(lb.get("name", "")),
              tuple(lb.get("sources", ())))
        for lb in scenario.get("labels", [])
    )  # fmt: skip
    return Synthesis(
        name=str(scenario["name"]),
        title=str(scenario.get("title", "")),
        start_ms=start,
        scored_from_ms=start + int(float(scenario.get("warmup_hours", 0)) * HOUR_MS),
        end_ms=end,
        sites=sites_of(scenario),
        series=tuple((c[0], c[1]) for c in columns),
        ts_ms=ts[order],
        series_index=index[order],
        values=values[order],
        labels=labels,
    )


__all__ = ["Label", "Synthesis", "envelope", "in_area", "location_of", "sites_of", "synthesize"]
