"""The deterministic event generator: the same city, seed and start give the same bytes.

Event ``i`` happens at ``start_ms + i * 1000 / rate``. Sensor streams (source, metric) are
visited round-robin in a seeded order; a seeded share of events are case reports and a
seeded share are corrupted, cycling through :data:`sensors_sim.corruption.CORRUPTIONS`,
each labelled with the dead-letter reason the worker must give it.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from detectors.contract import wire
from detectors.contract.events import SENSOR_FAMILIES, Family, Location, Reading, Source
from sensors_sim import signals
from sensors_sim.cases import CaseDesk
from sensors_sim.city import CityModel
from sensors_sim.corruption import CORRUPTIONS

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
    play_departments: bool = False,
) -> Iterator[SimEvent]:
    """``count`` events (endless for None) of ``city`` from ``start_ms`` on, spaced as if
    sent at ``rate`` per second; cases are only filed unless ``play_departments``."""
    _check(rate, count, malformed_fraction, case_fraction)
    factory = _EventFactory.for_run(city, seed, start_ms, play_departments)
    indices: Iterable[int] = itertools.count() if count is None else range(count)
    for index in indices:
        eid = event_id(seed, start_ms, index)
        ts_ms = event_time(start_ms, rate, index)
        if factory.rng.random() < malformed_fraction:
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
    """The state of one run: where the round-robin is, the case desk, the random stream."""

    streams: tuple[Stream, ...]
    desk: CaseDesk
    grids: tuple[Location, ...]
    rng: random.Random
    next_stream: int = 0
    corrupted: int = 0
    cases: int = 0
    last_ms: dict[int, int] = field(default_factory=dict)  # each stream's previous reading

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
        desk = CaseDesk.for_city(workers, cells, run_tag(seed, start_ms), play_departments)
        rng = random.Random(f"citybrain-events:{seed}:{start_ms}")
        return cls(streams, desk, tuple(locations.values()), rng)

    def _stream(self, ts_ms: int) -> tuple[Stream, int | None]:
        """The next stream of the round-robin, and the event time since its last reading."""
        index = self.next_stream % len(self.streams)
        self.next_stream += 1
        previous = self.last_ms.get(index)
        self.last_ms[index] = ts_ms
        return self.streams[index], (None if previous is None else ts_ms - previous)

    def reading(self, eid: str, ts_ms: int) -> SimEvent:
        stream, elapsed_ms = self._stream(ts_ms)
        reading = stream_reading(stream, eid, ts_ms, self.rng, elapsed_ms)
        return SimEvent(reading.family, wire.key_of(reading), wire.encode_reading(reading), None)

    def malformed(self, eid: str, ts_ms: int) -> SimEvent:
        stream, elapsed_ms = self._stream(ts_ms)
        reading = stream_reading(stream, eid, ts_ms, self.rng, elapsed_ms)
        reason, corrupt = CORRUPTIONS[self.corrupted % len(CORRUPTIONS)]
        self.corrupted += 1
        raw = corrupt(wire.reading_document(reading), self.rng, self.grids)
        return SimEvent(reading.family, wire.key_of(reading), raw, reason)

    def case(self, eid: str, ts_ms: int) -> SimEvent:
        self.cases += 1
        case = self.desk.next_event(eid, ts_ms, self.cases, self.rng)
        return SimEvent(Family.CASE, wire.key_of(case), wire.encode_case(case), None)
