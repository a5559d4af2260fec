"""Demo drills: labelled incidents played on the live city's own sensors, in real time.

The labelled scenarios (``scenarios/*.yaml``) last tens of hours on sensors of their own;
sped up beside the live stream they would break the event-time order the worker merges
partitions by. A drill instead bends the readings of real sensors in one street of the
live city, in the live stream's own event time: it rises for a few minutes, holds long
enough for the worker's limit rules to open an incident, and falls back. Every
:data:`DRILL_EVERY_S` seconds the next kind in :data:`DRILL_KINDS` starts in a street
that has the sensors it needs; everything follows from the seed and the run's start.

>>> from sensors_sim.city import build_city
>>> schedule = DrillSchedule.for_city(build_city(42), 42, 0, every_s=900)
>>> [schedule.drill(n).kind.name for n in range(7)]
['flood', 'air_pollution', 'water_main', 'feeder_overload', 'case_surge', 'traffic_crash', 'flood']
>>> first = schedule.drill(0)
>>> first.start_ms, first.envelope(first.start_ms + 60_000), first.envelope(first.peak_ms)
(300000, 0.5, 1.0)
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from detectors.contract.city import Area
from detectors.contract.events import CASE_METRIC, METRICS, Location
from sensors_sim.city import CityModel

DRILL_EVERY_S = 900
"""A drill starts every quarter of an hour (scripts/up's demo mode)."""
FIRST_DRILL_S = 300
"""The first drill starts this long after the run (or one interval, if that is shorter)."""
RISE_S = 120
FALL_S = 120
ANNOUNCE_S = 60
"""A drill is recorded this long before it starts, so the banner never lags its effect."""
DRILL_MARK = "[演练 DRILL] "
"""The start of a drill case report's text: nobody mistakes it for a real one."""
ACCUMULATED = {"rainfall": 5 * 60_000}
FLAGS = ("signal_fault", "breaker_open")
"""Metrics that are a device's 0/1 flag."""
JITTER = 0.02
"""How far a held peak wobbles (a share of it): a value repeated exactly for a quarter of
an hour is what the stuck-sensor detector looks for."""
T = TypeVar("T")
"""Metrics that report an amount since the previous reading, and the span ``peak`` is for."""


@dataclass(frozen=True, slots=True)
class Effect:
    """What a drill does to one metric of one kind of sensor: pull it to ``peak`` (for an
    accumulated metric, the amount per its span)."""

    kind: str
    metric: str
    peak: float


@dataclass(frozen=True, slots=True)
class DrillKind:
    """A kind of drill: its name, titles, sensor effects, how long it holds at its peak and,
    for a case surge, the category of the extra case reports and their spacing."""

    name: str
    title: str
    title_zh: str
    effects: tuple[Effect, ...]
    hold_s: int
    case_category: str = ""
    case_every_s: float = 0.0

    @property
    def sensor_kinds(self) -> frozenset[str]:
        return frozenset(effect.kind for effect in self.effects)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics whose alerts this kind of drill raises."""
        bent = {effect.metric for effect in self.effects}
        return tuple(sorted(bent | ({CASE_METRIC} if self.case_category else set())))


# Traffic has no limit rule: its statistics need a day of history and its neighbour groups
# an hour, so the crash also knocks out the signals at the junction (their fault flags,
# which the neighbour group turns into an area event once it is warm) and comes last in
# turn (80 minutes in at the default interval), after that warm-up.
# Peaks sit past the limit bands of detectors/scoring/limits.py (level II or III) and each
# holds longer than its rule's hold time (profiles.HOLD_MIN: 15 min for the air pollutants,
# 5 min for drains, mains and feeders), so the static rule itself opens the incident.
DRILL_KINDS: tuple[DrillKind, ...] = (
    DrillKind(
        "flood", "urban flooding", "城市内涝",
        (Effect("drain_sensor", "pipe_level", 93.0), Effect("rain_gauge", "rainfall", 12.0)),
        hold_s=480,
    ),
    DrillKind(
        "air_pollution", "air pollution", "大气污染",
        (Effect("air_station", "pm25", 200.0), Effect("air_station", "pm10", 380.0)),
        hold_s=1020,
    ),
    DrillKind(
        "water_main", "water main burst", "供水管爆管",
        (Effect("pressure_sensor", "main_pressure", 0.08),), hold_s=480,
    ),
    DrillKind(
        "feeder_overload", "feeder overload", "馈线过载",
        (Effect("feeder_meter", "load", 135.0), Effect("feeder_meter", "voltage", 9.6)),
        hold_s=480,
    ),
    DrillKind(
        "case_surge", "case surge", "案件激增", (), hold_s=480,
        case_category="garbage", case_every_s=20.0,
    ),
    DrillKind(
        "traffic_crash", "traffic crash", "交通事故",
        (Effect("traffic_detector", "speed", 4.0), Effect("traffic_detector", "occupancy", 88.0),
         Effect("traffic_detector", "flow", 120.0),
         Effect("traffic_detector", "signal_fault", 1.0)),
        hold_s=480,
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Drill:
    """One drill of a run: where (a street, and for a case surge one of its grid cells),
    when, and which sources it bends."""

    drill_id: str
    number: int
    kind: DrillKind
    area: Area
    location: Location
    start_ms: int
    sources: frozenset[str]

    @property
    def peak_ms(self) -> int:
        return self.start_ms + RISE_S * 1000

    @property
    def fall_ms(self) -> int:
        return self.peak_ms + self.kind.hold_s * 1000

    @property
    def end_ms(self) -> int:
        return self.fall_ms + FALL_S * 1000

    def envelope(self, ts_ms: int) -> float:
        """How far the drill pulls its sensors at ``ts_ms``: 0 outside, rising to 1,
        holding, falling to 0."""
        if ts_ms < self.start_ms or ts_ms >= self.end_ms:
            return 0.0
        if ts_ms < self.peak_ms:
            return (ts_ms - self.start_ms) / (self.peak_ms - self.start_ms)
        if ts_ms < self.fall_ms:
            return 1.0
        return (self.end_ms - ts_ms) / (self.end_ms - self.fall_ms)

    def value(
        self, kind: str, metric: str, ts_ms: int, value: float, elapsed_ms: int | None
    ) -> float:
        """``value`` as the drill bends it (unchanged where it has no effect)."""
        effect = next((e for e in self.kind.effects if (e.kind, e.metric) == (kind, metric)), None)
        share = self.envelope(ts_ms)
        if effect is None or share == 0.0:
            return value
        peak = effect.peak * (1.0 + JITTER * _wobble(metric, ts_ms))
        if metric in ACCUMULATED:
            peak *= (elapsed_ms if elapsed_ms is not None else ACCUMULATED[metric]) / ACCUMULATED[
                metric
            ]
        spec = METRICS[metric]
        if metric in FLAGS:  # a flag is up or down, never half raised
            return 1.0 if share >= 0.5 else value
        return round(min(max(value + (peak - value) * share, spec.low), spec.high), 4)

    def case_times(self) -> Iterator[int]:
        """When a case surge files its extra reports (none for other kinds)."""
        if self.kind.case_every_s <= 0:
            return
        step = int(self.kind.case_every_s * 1000)
        yield from range(self.start_ms, self.end_ms, step)


class DrillSchedule:
    """The drills of a run: drill ``n`` starts :data:`FIRST_DRILL_S` (at most one interval)
    plus ``n`` intervals after ``start_ms``; its kind is the ``n``-th in turn and its street
    a seeded choice among the streets that have the sensors it needs."""

    def __init__(self, city: CityModel, seed: int, start_ms: int, every_s: float) -> None:
        if not every_s > 0:
            raise ValueError(f"the drill interval must be positive, got {every_s}")
        self.city, self.seed, self.start_ms, self.every_s = city, seed, start_ms, every_s

    @classmethod
    def for_city(
        cls, city: CityModel, seed: int, start_ms: int, every_s: float = DRILL_EVERY_S
    ) -> DrillSchedule:
        return cls(city, seed, start_ms, every_s)

    @cached_property
    def _streets(self) -> tuple[Area, ...]:
        return tuple(sorted(self.city.level("street"), key=lambda a: a.code))

    @cached_property
    def _sources(self) -> Mapping[tuple[str, str], tuple[str, ...]]:
        """Source ids by (street, kind)."""
        found: dict[tuple[str, str], list[str]] = {}
        for source in self.city.sources:
            found.setdefault((source.location.street, source.kind), []).append(source.source_id)
        return {key: tuple(sorted(ids)) for key, ids in found.items()}

    @cached_property
    def _grids(self) -> Mapping[str, tuple[Location, ...]]:
        by_street: dict[str, list[Location]] = {}
        for location in self.city.grid_locations().values():
            by_street.setdefault(location.street, []).append(location)
        return {
            street: tuple(sorted(cells, key=lambda c: c.grid))
            for street, cells in by_street.items()
        }

    def candidates(self, kind: DrillKind) -> tuple[Area, ...]:
        """The streets where ``kind`` can be played: every sensor kind it bends is there."""
        return tuple(
            street for street in self._streets
            if all((street.code, k) in self._sources for k in kind.sensor_kinds)
            and street.code in self._grids
        )  # fmt: skip

    def drill(self, number: int) -> Drill:
        """Drill ``number`` (from 0) of the run."""
        kind = DRILL_KINDS[number % len(DRILL_KINDS)]
        rng = random.Random(f"citybrain-drill:{self.seed}:{self.start_ms}:{number}")
        streets = self.candidates(kind)
        if not streets:
            raise ValueError(f"no street of the city has the sensors a {kind.name} drill needs")
        street = rng.choice(streets)
        cells = self._grids[street.code]
        location = rng.choice(cells) if kind.case_category else cells[0].within("street")
        sources = frozenset(
            source_id for k in kind.sensor_kinds for source_id in self._sources[(street.code, k)]
        )
        first_s = min(FIRST_DRILL_S, self.every_s)
        start_ms = self.start_ms + int((first_s + number * self.every_s) * 1000)
        return Drill(self._drill_id(number), number, kind, street, location, start_ms, sources)

    def _drill_id(self, number: int) -> str:
        tag = hashlib.sha1(f"{self.seed}:{self.start_ms}".encode()).hexdigest()[:8]
        return f"DR-{tag}-{number:04d}"

    def drills(self) -> Iterator[Drill]:
        """Every drill of the run, in order (endless)."""
        number = 0
        while True:
            yield self.drill(number)
            number += 1


def announced(
    events: Iterable[T],
    times: Iterable[int],
    schedule: DrillSchedule,
    record: Callable[[Drill], None],
) -> Iterator[T]:
    """``events`` unchanged, calling ``record`` for each drill once the event times (one
    per event, from ``times``) reach :data:`ANNOUNCE_S` before its start."""
    drills = schedule.drills()
    upcoming = next(drills)
    for event, ts_ms in zip(events, times, strict=False):
        while ts_ms >= upcoming.start_ms - ANNOUNCE_S * 1000:
            record(upcoming)
            upcoming = next(drills)
        yield event


@dataclass(slots=True)
class DrillPlay:
    """Where a run is in its drill schedule: the drills under way, by the sources they
    bend, and when each case surge files its next report. Advance it with :meth:`at` in
    event-time order."""

    schedule: DrillSchedule
    upcoming: Drill
    active: list[Drill]
    by_source: dict[str, Drill]
    next_case: dict[str, int]  # drill id -> event time of its next extra case report
    filed: dict[str, int]  # drill id -> extra case reports so far

    @classmethod
    def start(cls, schedule: DrillSchedule) -> DrillPlay:
        return cls(schedule, schedule.drill(0), [], {}, {}, {})

    def at(self, ts_ms: int) -> None:
        """Start the drills due by ``ts_ms`` and drop those that ended."""
        if ts_ms >= self.upcoming.start_ms:
            while ts_ms >= self.upcoming.start_ms:
                self.active.append(self.upcoming)
                if self.upcoming.kind.case_every_s > 0:
                    self.next_case[self.upcoming.drill_id] = self.upcoming.start_ms
                self.upcoming = self.schedule.drill(self.upcoming.number + 1)
            self._index()
        if self.active and any(ts_ms >= drill.end_ms for drill in self.active):
            self.active = [drill for drill in self.active if ts_ms < drill.end_ms]
            self._index()

    def _index(self) -> None:
        # A later drill on the same source wins: drills of one kind never overlap in time.
        self.by_source = {s: drill for drill in self.active for s in drill.sources}
        live = {drill.drill_id for drill in self.active}
        self.next_case = {d: ts for d, ts in self.next_case.items() if d in live}

    def due_case(self, ts_ms: int) -> tuple[Drill, int] | None:
        """A case surge whose next report is due by ``ts_ms``, with the report's number
        (the caller files it now), else None."""
        for drill in self.active:
            due = self.next_case.get(drill.drill_id)
            if due is not None and due <= ts_ms:
                self.next_case[drill.drill_id] = due + int(drill.kind.case_every_s * 1000)
                number = self.filed.get(drill.drill_id, 0) + 1
                self.filed[drill.drill_id] = number
                return drill, number
        return None


def _wobble(metric: str, ts_ms: int) -> float:
    """A fixed pseudo-random number in [-1, 1] for (metric, time): no draw from the run's
    generator, so a drill changes no other reading."""
    return zlib.crc32(f"{metric}:{ts_ms}".encode()) / 2**31 - 1.0
