"""Every demo drill opens an incident: the first drills of a demo run (``scripts/up``: seed
42, a drill every 15 minutes, cases moved along by the departments) played offline from
the run's start through the worker's own validation, detection and alert engine.

Only the drill streets' sensors are scored: a neighbour group is one street's sensors of one
metric, so the other streets change no decision made in these."""

from __future__ import annotations

import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import AlertEvent
from detectors.contract.alerts import AlertKind
from detectors.contract.events import CaseReport, Location, Reading
from detectors.contract.validation import Registry, TimeBounds, validate
from sensors_sim.city import CityModel, build_city
from sensors_sim.drills import DRILL_KINDS, Drill, DrillSchedule
from sensors_sim.generator import cadence_rate, event_time, generate, run_rate, sensor_streams
from streams.alerting import feed
from streams.detection import Detection

START = 1_764_115_200_000  # 2025-11-26T00:00:00Z
SEED, EVERY_S, CASE_FRACTION = 42, 900, 0.002  # as scripts/up runs the simulator
BATCH = 500


def _play(city: CityModel, drills: list[Drill]) -> list[AlertEvent]:
    """The alert events of a demo run from its start to the end of the last drill."""
    schedule = DrillSchedule.for_city(city, SEED, START, EVERY_S)
    streets = {drill.area.code for drill in drills}
    registry = Registry({s.source_id: s for s in city.sources}, city.grid_locations())
    mine = {k: s for k, s in registry.sources.items() if s.location.street in streets}
    keys = {source.location.district.encode() for source in mine.values()}  # wire.key_of
    detection = Detection.for_registry(Registry(mine, registry.grids))
    engine, events = AlertEngine(), list[AlertEvent]()
    rate = run_rate(cadence_rate(sensor_streams(city, SEED)), 0.0, CASE_FRACTION)
    count = int(rate * (max(d.end_ms for d in drills) - START) / 1000)
    batch: list[Reading | CaseReport] = []

    def detect() -> None:
        for step in detection.process(batch):
            events.extend(feed(engine, step))
        batch.clear()

    run = generate(city, SEED, START, rate, count, 0.0, CASE_FRACTION, schedule, True)
    for index, event in enumerate(run):
        if event.key not in keys and event.family.value != "case":
            continue
        now = TimeBounds(now_ms=event_time(START, rate, index))  # sent live, as it happens
        item = validate(event.value, event.family, registry, now)
        assert isinstance(item, Reading | CaseReport), item
        if item.location.street in streets:
            batch.append(item)
        if len(batch) >= BATCH:
            detect()
    detect()
    return events


@pytest.fixture(scope="module")
def demo() -> tuple[list[Drill], list[AlertEvent]]:
    city = build_city(SEED)
    schedule = DrillSchedule.for_city(city, SEED, START, EVERY_S)
    drills = [schedule.drill(n) for n in range(len(DRILL_KINDS))]
    return drills, _play(city, drills)


def _opened(drill: Drill, events: list[AlertEvent]) -> list[AlertEvent]:
    """Incidents opened while the drill played, on a metric it bends (anywhere scored)."""
    return [
        e for e in events
        if e.kind == AlertKind.INCIDENT_OPENED and drill.start_ms <= e.ts_ms < drill.end_ms
        and set(e.evidence["metrics"]) & set(drill.kind.metrics)
    ]  # fmt: skip


def _inside(where: Location, place: Location) -> bool:
    """Whether ``where`` lies in ``place`` (a grid cell or a street)."""
    return all(code in ("", mine) for code, mine in zip(place.codes(), where.codes(), strict=True))


@pytest.mark.parametrize("name", [kind.name for kind in DRILL_KINDS])
def test_every_demo_drill_opens_an_incident_where_it_plays(
    name: str, demo: tuple[list[Drill], list[AlertEvent]]
) -> None:
    drills, events = demo
    drill = next(d for d in drills if d.kind.name == name)
    opened = _opened(drill, events)
    assert opened, f"the {name} drill in {drill.area.code} opened no incident"
    # the wall screen shows it where the drill is: its street (a case surge: its grid cell)
    assert all(_inside(e.location, drill.location) for e in opened), [
        (e.location, e.evidence) for e in opened
    ]
