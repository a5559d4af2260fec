"""The deterministic event generator: the same city, seed and start give the same bytes.

Event ``i`` happens at ``start_ms + i * 1000 / rate``. Sensor streams (source, metric) are
visited in a fixed cycle in which each stream comes as often as its cadence asks (a
30-second traffic detector twice for each visit of a 60-second feeder meter): at
:func:`cadence_rate` every stream reports exactly at its cadence, which is what the
data-quality page's completeness promises. A seeded share of events are case reports and a
seeded share are corrupted, cycling through :data:`sensors_sim.corruption.CORRUPTIONS`,
each labelled with the dead-letter reason the worker must give it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from detectors.contract import wire
from detectors.contract.events import SENSOR_FAMILIES, Family, Location, Reading, Source
from sensors_sim import signals
from sensors_sim.cases import CATEGORY_TEXT, HOTLINE, Case, CaseDesk, case_event
from sensors_sim.city import CityModel
from sensors_sim.corruption import CORRUPTIONS
from sensors_sim.drills import DRILL_MARK, Drill, DrillPlay, DrillSchedule
from sensors_sim.geometry import point_in_quad

EVENT_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-5d7b-9c1e-2a4b8d0c7e31")
"""uuid5 namespace of simulated event ids."""
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One message to produce: its family (topic), key, bytes and the verdict it must get
    (None for a valid event, else a :class:`detectors.contract.validation.Reason` code)."""

    family: Family
    key: bytes
    value: bytes
    expected_reason: str | None


@dataclass(frozen=True, slots=True)
class Stream:
    """One (source, metric) series of readings."""

    source: Source
    metric: str


def sensor_streams(city: CityModel, seed: int) -> tuple[Stream, ...]:
    """Every sensor's every metric, in the seeded order the generator visits them."""
    streams = [
        Stream(source, metric)
        for source in sorted(city.sources, key=lambda s: s.source_id)
        if source.family in SENSOR_FAMILIES
        for metric in sorted(source.metrics)
    ]
    random.Random(f"citybrain-streams:{seed}").shuffle(streams)
    return tuple(streams)


MAX_CYCLE_S = 3600
"""The visiting cycle is the least common multiple of the cadences, at most an hour (a
cadence that does not divide it is then visited as near its cadence as whole visits allow)."""


def visit_cycle_s(streams: Sequence[Stream]) -> int:
    """Seconds of one visiting cycle at :func:`cadence_rate`: the cadences' least common
    multiple (at most :data:`MAX_CYCLE_S`).

    >>> from detectors.contract.events import Location
    >>> def at(cadence_s): return Stream(Source("S", Family.WATER, "k", frozenset({"m"}),
    ...     Location(), 0.0, 0.0, cadence_s), "m")
    >>> visit_cycle_s([at(30), at(60), at(300)])
    300
    """
    cycle = 1
    for cadence in {max(1, stream.source.cadence_s) for stream in streams}:
        cycle = math.lcm(cycle, cadence)
    return min(cycle, MAX_CYCLE_S) if cycle > MAX_CYCLE_S else cycle


def visit_order(streams: Sequence[Stream]) -> tuple[int, ...]:
    """One cycle of stream indices: each stream ``cycle / cadence`` times, its visits
    evenly spaced, and the streams of one cadence spread evenly over their period (in the
    seeded order of ``streams``), so every stream reports once per cadence at
    :func:`cadence_rate`."""
    cycle, count = visit_cycle_s(streams), len(streams)
    slots: list[tuple[float, int]] = []
    for index, stream in enumerate(streams):
        visits = max(1, round(cycle / max(1, stream.source.cadence_s)))
        slots += [((index / count + j) * cycle / visits, index) for j in range(visits)]
    slots.sort()
    return tuple(index for _, index in slots)


def cadence_rate(streams: Sequence[Stream]) -> float:
    """Events per second at which every stream reports at its cadence: the visits of one
    cycle over its length (the sum of 1 / cadence when the cadences divide the cycle)."""
    if not streams:
        raise ValueError("the city has no sensors to simulate")
    return len(visit_order(streams)) / visit_cycle_s(streams)


def run_rate(cadence: float, malformed: float, case_fraction: float) -> float:
    """The rate that gives ``cadence`` valid readings a second when a share of the slots
    goes to corrupted events and case reports.

    >>> run_rate(68.0, 0.0, 0.5)
    136.0
    """
    readings = (1.0 - malformed) * (1.0 - case_fraction)
    return cadence / readings if readings > 0 else cadence


def event_id(seed: int, start_ms: int, index: int) -> str:
    """The id of event ``index`` of the run (seed, start): the same on every replay.

    Equal to ``str(uuid.uuid5(EVENT_NAMESPACE, f"{seed}:{start_ms}:{index}"))``, spelled
    out because the UUID object costs more than the hash on the hot path.
    """
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{seed}:{start_ms}:{index}".encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 0x3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def event_time(start_ms: int, rate: float, index: int) -> int:
    """Event time in epoch ms of event ``index`` at ``rate`` events per second.

    >>> event_time(1_000, 400.0, 3)
    1007
    """
    return start_ms + int(index * 1000 / rate)


def run_tag(seed: int, start_ms: int) -> str:
    """A short tag of the run (seed, start) that keeps case ids of different runs apart."""
    return hashlib.sha1(f"{seed}:{start_ms}".encode()).hexdigest()[:8]


def stream_reading(
    stream: Stream, event_id: str, ts_ms: int, rng: random.Random, elapsed_ms: int | None = None
) -> Reading:
    """The next reading of ``stream``: its value drawn from the source's signal model
    (``elapsed_ms`` since the stream's previous reading, for amounts such as rain)."""
    source = stream.source
    value = signals.value(source, stream.metric, ts_ms, rng, elapsed_ms)
    return Reading(
        event_id, ts_ms, source.family, source.source_id, stream.metric, value, source.location
    )


def generate(
    city: CityModel,
    seed: int,
    start_ms: int,
    rate: float,
    count: int | None,
    malformed_fraction: float = 0.0,
    case_fraction: float = 0.02,
    drills: DrillSchedule | None = None,
    play_departments: bool = False,
) -> Iterator[SimEvent]:
    """``count`` events (endless for None) of ``city`` from ``start_ms`` on, spaced as if
    sent at ``rate`` per second; with ``drills``, their effects are played on the sensors
    and their extra case reports take the slots of ordinary events; cases are only filed
    unless ``play_departments``."""
    _check(rate, count, malformed_fraction, case_fraction)
    factory = _EventFactory.for_run(city, seed, start_ms, play_departments)
    if drills is not None:
        factory.drills = DrillPlay.start(drills)
    indices: Iterable[int] = itertools.count() if count is None else range(count)
    for index in indices:
        eid = event_id(seed, start_ms, index)
        ts_ms = event_time(start_ms, rate, index)
        surge = factory.drill_case(ts_ms)
        if surge is not None:
            yield factory.surge_case(eid, ts_ms, *surge)
        elif factory.rng.random() < malformed_fraction:
            yield factory.malformed(eid, ts_ms)
        elif factory.rng.random() < case_fraction:
            yield factory.case(eid, ts_ms)
        else:
            yield factory.reading(eid, ts_ms)


def _check(rate: float, count: int | None, malformed: float, cases: float) -> None:
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    for name, fraction in (("malformed_fraction", malformed), ("case_fraction", cases)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {fraction}")


@dataclass(slots=True)
class _EventFactory:
    """The state of one run: where the visiting cycle is, the case desk, the random
    stream and the drills under way."""

    streams: tuple[Stream, ...]
    order: tuple[int, ...]
    desk: CaseDesk
    grids: tuple[Location, ...]
    rng: random.Random
    run_tag: str
    next_stream: int = 0
    corrupted: int = 0
    cases: int = 0
    last_ms: dict[int, int] = field(default_factory=dict)  # each stream's previous reading
    drills: DrillPlay | None = None

    @classmethod
    def for_run(
        cls, city: CityModel, seed: int, start_ms: int, play_departments: bool = False
    ) -> _EventFactory:
        streams = sensor_streams(city, seed)
        if not streams:
            raise ValueError("the city has no sensors to simulate")
        locations = city.grid_locations()
        cells = [(locations[cell.code], cell) for cell in city.level("grid")]
        workers = [source for source in city.sources if source.family is Family.CASE]
        tag = run_tag(seed, start_ms)
        desk = CaseDesk.for_city(workers, cells, tag, play_departments)
        rng = random.Random(f"citybrain-events:{seed}:{start_ms}")
        return cls(streams, visit_order(streams), desk, tuple(locations.values()), rng, tag)

    def _stream(self, ts_ms: int) -> tuple[Stream, int | None]:
        """The next stream of the visiting cycle, and the event time since its last
        reading."""
        index = self.order[self.next_stream % len(self.order)]
        self.next_stream += 1
        previous = self.last_ms.get(index)
        self.last_ms[index] = ts_ms
        return self.streams[index], (None if previous is None else ts_ms - previous)

    def reading(self, eid: str, ts_ms: int) -> SimEvent:
        stream, elapsed_ms = self._stream(ts_ms)
        reading = stream_reading(stream, eid, ts_ms, self.rng, elapsed_ms)
        drill = self.drills.by_source.get(stream.source.source_id) if self.drills else None
        if drill is not None:
            bent = drill.value(stream.source.kind, stream.metric, ts_ms, reading.value, elapsed_ms)
            reading = replace(reading, value=bent)
        return SimEvent(reading.family, wire.key_of(reading), wire.encode_reading(reading), None)

    def malformed(self, eid: str, ts_ms: int) -> SimEvent:
        stream, elapsed_ms = self._stream(ts_ms)
        reading = stream_reading(stream, eid, ts_ms, self.rng, elapsed_ms)
        reason, corrupt = CORRUPTIONS[self.corrupted % len(CORRUPTIONS)]
        self.corrupted += 1
        raw = corrupt(wire.reading_document(reading), self.rng, self.grids)
        return SimEvent(reading.family, wire.key_of(reading), raw, reason)

    def drill_case(self, ts_ms: int) -> tuple[Drill, int] | None:
        """Move the drills on to ``ts_ms``; a case surge's report due now, if any."""
        if self.drills is None:
            return None
        self.drills.at(ts_ms)
        return self.drills.due_case(ts_ms)

    def surge_case(self, eid: str, ts_ms: int, drill: Drill, number: int) -> SimEvent:
        """A case surge's extra report, phoned in from the drill's grid cell and marked as a
        drill; it goes on through its lifecycle like any case."""
        cell = next(area for location, area in self.desk.cells if location == drill.location)
        lon, lat = point_in_quad(
            cell.ring, self.rng.uniform(0.05, 0.95), self.rng.uniform(0.05, 0.95)
        )
        category = drill.kind.case_category
        case_id = f"CS-{self.run_tag}-D{drill.number:04d}-{number:03d}"
        case = Case(case_id, category, "filed", HOTLINE, drill.location, lon, lat)
        self.desk.open_cases.append(case)
        text = DRILL_MARK + CATEGORY_TEXT.get(category, category)
        report = case_event(case, eid, ts_ms, text, "")
        return SimEvent(Family.CASE, wire.key_of(report), wire.encode_case(report), None)

    def case(self, eid: str, ts_ms: int) -> SimEvent:
        self.cases += 1
        case = self.desk.next_event(eid, ts_ms, self.cases, self.rng)
        return SimEvent(Family.CASE, wire.key_of(case), wire.encode_case(case), None)
