"""``citybrain-sim scenario``: play a labelled scenario live, through Kafka into the worker.

Synthesize (:func:`detectors.evaluation.scenarios.synthesize`, the same readings as the offline
evaluation for the same seed), shift so the scenario ends at ``--start`` (default now),
register its sites and any missing areas in ClickHouse, then produce every reading as a
valid event, as fast as possible or paced ``--speed`` times faster than real time. The run
ends with one JSON line: events, by family, the labelled windows in wall-clock time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson
from clickhouse_driver import Client
from prometheus_client import CollectorRegistry

from detectors.contract.events import Source
from detectors.contract.tables import AREAS, SOURCE_PROFILES, SOURCES, source_row
from detectors.evaluation.scenarios import Synthesis, synthesize
from detectors.scoring.sites import Site
from infra.clickhouse import connect, ensure_schema
from infra.settings import CommonSettings
from sensors_sim.city import CityModel
from sensors_sim.generator import SimEvent
from sensors_sim.producer import Publisher, SimMetrics, Tally, ensure_topics, make_producer
from sensors_sim.scenario import (
    Bounds,
    KnownArea,
    ReferencePlan,
    ScenarioError,
    Timeline,
    check_window,
    iso,
    load_scenario,
    plan_reference,
    scenario_events,
    sent_range,
    shifted_labels,
)

PROG = "citybrain-sim"
REGISTRY_SETTLE_S = 3.0
"""Wait after registering sources before producing: a running worker reloads its registry
on an unknown source only when its copy is over 2 s old, so events sent sooner could be
dead-lettered as unknown."""
MIN_SLEEP_S = 0.005
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class Play:
    """What to play: ``speed`` None is as fast as possible; ``end_at_ms`` None is now."""

    name: str
    seed: int
    speed: float | None
    end_at_ms: int | None
    skip_hours: float
    reference: bool
    folder: Path


@dataclass(frozen=True, slots=True)
class Prepared:
    """A synthesis placed on the wall clock and checked against the worker's bounds."""

    synthesis: Synthesis
    timeline: Timeline
    count: int
    first_ms: int
    last_ms: int


def prepare(play: Play, now_ms: int, bounds: Bounds) -> Prepared:
    """Load, synthesize, shift and check; ScenarioError when it cannot be played."""
    scenario = load_scenario(play.name, play.folder)
    synthesis = synthesize(scenario, play.seed)
    end_at = now_ms if play.end_at_ms is None else play.end_at_ms
    timeline = Timeline.ending_at(synthesis, end_at, play.skip_hours)
    count, first, last = sent_range(synthesis, timeline)
    check_window(first, last, now_ms, play.speed, bounds)
    return Prepared(synthesis, timeline, count, first, last)


# -- ClickHouse ----------------------------------------------------------------------------


def read_known_areas(client: Client) -> list[KnownArea]:
    """Every area row the database has (latest version of each)."""
    found = []
    for level, code, city, district, street, ring in client.execute(
        "SELECT level, code, city, district, street, ring FROM areas FINAL"
    ):
        try:
            points = tuple((float(p[0]), float(p[1])) for p in orjson.loads(ring or "[]"))
        except (orjson.JSONDecodeError, TypeError, IndexError, ValueError):
            points = ()
        found.append(KnownArea(level, code, city, district, street, points))
    return found


def registered_elsewhere(client: Client, sources: Sequence[Source]) -> list[str]:
    """Sources already registered with another family, kind or place (they are moved)."""
    if not sources:
        return []
    wanted = {s.source_id: s for s in sources}
    moved = []
    for source_id, family, kind, grid in client.execute(
        "SELECT source_id, family, kind, grid FROM sources FINAL WHERE source_id IN %(ids)s",
        {"ids": tuple(wanted)},
    ):
        mine = wanted[source_id]
        if (family, kind, grid) != (mine.family.value, mine.kind, mine.location.grid):
            moved.append(f"{source_id} ({kind} in {grid} -> {mine.kind} in {mine.location.grid})")
    return moved


def unregistered(client: Client, plan: ReferencePlan) -> list[str]:
    """What the worker would not accept when nothing is written: annexed areas (absent from
    the database) and sources that are missing or registered otherwise."""
    missing = [f"area {code}" for code in plan.annexed]
    wanted = {s.source_id: s for s in plan.sources}
    found: dict[str, tuple[str, str, list[str], str]] = {}
    if wanted:
        for source_id, family, kind, metrics, grid in client.execute(
            "SELECT source_id, family, kind, metrics, grid FROM sources FINAL "
            "WHERE source_id IN %(ids)s",
            {"ids": tuple(wanted)},
        ):
            found[source_id] = (family, kind, sorted(metrics), grid)
    for source_id, source in wanted.items():
        mine = (source.family.value, source.kind, sorted(source.metrics), source.location.grid)
        if found.get(source_id) != mine:
            missing.append(f"source {source_id}")
    return missing


def source_rows(sources: Iterable[Source], updated_at: int) -> list[tuple[object, ...]]:
    """Rows of the sources table."""
    return [source_row(source, updated_at) for source in sources]


def profile_rows(sites: Iterable[Site], updated_at: int) -> list[tuple[object, ...]]:
    """source_profiles rows (spec column order): the neighbour group and limits the detectors
    must know."""
    return [
        (s.source_id, s.group, orjson.dumps(dict(s.limits)).decode(), updated_at)
        for s in sites
        if s.group or s.limits
    ]


def register(
    settings: CommonSettings,
    prepared: Prepared,
    city_model: Callable[[], CityModel],
    write: bool,
    err: TextIO,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[CommonSettings], Client] = connect,
) -> ReferencePlan:
    """Plan the reference rows against what the database has and, if ``write``, insert
    them (the city model only when the database has no areas at all)."""
    if write:
        ensure_schema(settings)
    client = client_factory(settings)
    try:
        known = read_known_areas(client)
        model = city_model() if write and not known else None
        plan = plan_reference(prepared.synthesis, known, model, int(clock()))
        if not write:
            lacking = unregistered(client, plan)
            if lacking:
                err.write(
                    f"{PROG}: warning: --no-reference, but the database lacks "
                    f"{', '.join(lacking)}: the worker will dead-letter their events\n"
                )
            return plan
        for moved in registered_elsewhere(client, plan.sources):
            err.write(f"{PROG}: warning: source {moved} is re-registered\n")
        database = settings.clickhouse_database
        if plan.area_rows:
            client.execute(AREAS.insert_sql(database), plan.area_rows)
        rows = source_rows(plan.sources, int(clock()))
        if rows:
            client.execute(SOURCES.insert_sql(database), rows)
        profiles = profile_rows(prepared.synthesis.sites, int(clock()))
        if profiles:
            client.execute(SOURCE_PROFILES.insert_sql(database), profiles)
        return plan
    finally:
        client.disconnect()


# -- Kafka ---------------------------------------------------------------------------------


def pace(
    events: Iterable[tuple[int, SimEvent]],
    publish: Callable[[SimEvent], None],
    speed: float | None,
    first_ms: int,
    stop: threading.Event,
    on_progress: Callable[[int], None] = lambda _ts: None,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> None:
    """Publish in order; with a ``speed``, event ``ts`` is sent ``(ts - first_ms) / speed``
    after the start (sleeping, never spinning), else at once. Stops when ``stop`` is set."""
    wait = wait or stop.wait
    started = clock()
    next_progress = started + PROGRESS_EVERY_S
    for ts_ms, event in events:
        if stop.is_set():
            return
        if speed is not None:
            delay = started + (ts_ms - first_ms) / 1000 / speed - clock()
            if delay > MIN_SLEEP_S and wait(delay):
                return  # stopped while waiting
        publish(event)
        if clock() >= next_progress:
            on_progress(ts_ms)
            next_progress += PROGRESS_EVERY_S


def produce(
    settings: CommonSettings,
    prepared: Prepared,
    plan: ReferencePlan,
    seed: int,
    speed: float | None,
    stop: threading.Event,
    err: TextIO,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Tally, float]:
    """Send every event of the play; (tally, seconds)."""
    ensure_topics(settings)
    tally = Tally()
    publisher = Publisher(
        make_producer(settings), settings.kafka_topic_prefix,
        SimMetrics(CollectorRegistry()), tally,
    )  # fmt: skip
    events = scenario_events(prepared.synthesis, seed, prepared.timeline, plan.cells)
    started = clock()
    name = prepared.synthesis.name

    def progress(ts_ms: int) -> None:
        seconds = clock() - started
        rate = tally.handed / seconds if seconds > 0 else 0.0
        share = 100 * tally.handed / prepared.count if prepared.count else 100.0
        err.write(
            f"{PROG}: scenario {name}: {tally.handed}/{prepared.count} handed ({share:.0f}%), "
            f"{tally.sent} acknowledged, {tally.send_errors} errors, event time {iso(ts_ms)}, "
            f"{rate:.0f} events/s\n"
        )
        err.flush()

    try:
        pace(events, publisher.publish, speed, prepared.first_ms, stop, progress)
    finally:
        publisher.close()
    return tally, clock() - started


def summary(
    prepared: Prepared,
    play: Play,
    plan: ReferencePlan,
    tally: Tally,
    seconds: float,
    stopped: bool,
) -> dict[str, object]:
    """The one-line JSON report of a play."""
    synthesis, timeline = prepared.synthesis, prepared.timeline
    with tally.lock:
        sent, errors, handed = tally.sent, tally.send_errors, tally.handed
        by_family = dict(sorted(tally.by_family.items()))
    return {
        "scenario": synthesis.name,
        "seed": play.seed,
        "speed": "max" if play.speed is None else play.speed,
        "events": sent,
        "planned": prepared.count,
        "handed": handed,
        "send_errors": errors,
        "stopped": stopped,
        "by_family": by_family,
        "start": iso(timeline.wall(synthesis.start_ms)),
        "scored_from": iso(timeline.wall(synthesis.scored_from_ms)),
        "end": iso(timeline.wall(synthesis.end_ms)),
        "first_event": iso(prepared.first_ms),
        "last_event": iso(prepared.last_ms),
        "skip_hours": play.skip_hours,
        "shift_ms": timeline.shift_ms,
        "labels": shifted_labels(synthesis.labels, timeline),
        "reference": (
            {
                "written": True,
                "areas": len(plan.area_rows),
                "sources": len(plan.sources),
                "annexed": list(plan.annexed),
                "city_model_written": plan.city_written,
            }
            if play.reference
            else {"written": False}
        ),
        "seconds": round(seconds, 3),
    }


def run(
    play: Play,
    settings: CommonSettings,
    bounds: Bounds,
    city_model: Callable[[], CityModel],
    stop: threading.Event,
    out: TextIO,
    err: TextIO,
) -> int:
    """The whole command; 0 when every event was acknowledged."""
    prepared = prepare(play, int(time.time() * 1000), bounds)
    synthesis = prepared.synthesis
    err.write(
        f"{PROG}: scenario {synthesis.name} (seed {play.seed}): {prepared.count} events from "
        f"{iso(prepared.first_ms)} to {iso(prepared.last_ms)}, "
        f"speed {'max' if play.speed is None else play.speed}\n"
    )
    if play.skip_hours and synthesis.scored_from_ms > prepared.timeline.skip_before_ms:
        warm = (synthesis.scored_from_ms - prepared.timeline.skip_before_ms) / 3_600_000
        err.write(f"{PROG}: --skip-hours leaves the detectors {warm:g} h of warm-up\n")
    plan = register(settings, prepared, city_model, play.reference, err)
    if play.reference:
        err.write(
            f"{PROG}: reference: {len(plan.area_rows)} areas "
            f"({len(plan.annexed)} in the annex), {len(plan.sources)} sources\n"
        )
        stop.wait(REGISTRY_SETTLE_S)
    err.flush()
    tally, seconds = produce(settings, prepared, plan, play.seed, play.speed, stop, err)
    line = summary(prepared, play, plan, tally, seconds, stop.is_set())
    out.write(orjson.dumps(line).decode() + "\n")
    out.flush()
    return 0 if tally.send_errors == 0 else 1


__all__ = ["Bounds", "Play", "ScenarioError", "pace", "prepare", "register", "run", "summary"]
