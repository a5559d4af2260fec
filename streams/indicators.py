"""The worker's indicators: each event-time minute, the five indicators of every grid cell,
street, district and the city, from what is stored in ClickHouse, into indicators_1m; each
closed hour into indicators_1h.

When a minute is computed: the alerting agent (the one worker that holds the one-partition
alerting topic, so exactly one worker computes) hands every batch to :meth:`advance` after
it has written that batch's alert and case-step rows. An event-time tick ``T`` in the batch
means the ingest stage has stored every reading, case event and dead letter before ``T``
(it stores a batch before detection releases it, and releases in event-time order across
its partitions), so every minute ending at or before ``T`` not computed yet is computed
then: the window ``[T - 60 s, T)``. After a start, computing carries on after the last
minute stored (none stored: the first tick's own minute only); a worker far behind
catches up at most ``catchup_min`` minutes. When the minute
computed ends an hour, the hour is written from its minute rows. A reading stored after its
minute was computed is not in that minute's row. Each row's version is the wall-clock
milliseconds of its computation, so a recomputed minute replaces the older row.

Every query is bounded by a window (15 min, 1 h, 24 h, 7 days of one hour, 30 days of
cases) and runs on the runner's own thread and ClickHouse connection, never on the event
loop; an error is logged and the minute is tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from clickhouse_driver import Client

from detectors.contract.catalog import DEFAULT_PROMISE, CatalogEntry, in_force
from detectors.contract.events import Family
from detectors.contract.indicators import Indicator, Score, components_of
from detectors.contract.places import AreaLevel, Location
from detectors.contract.tables import (
    INDICATORS_1H,
    INDICATORS_1M,
    indicator_row,
)
from detectors.contract.validation import Registry
from detectors.indicators import (
    CASE_WINDOW_MS,
    DAY_MS,
    EVALUATION_MS,
    HOUR_MS,
    MINUTE_MS,
    POLLUTANTS,
    RECENT_MS,
    AreaInputs,
    Mean,
    add_alert,
    add_case,
    add_sensor,
    add_source,
    area_scores,
    hourly,
    noise_limit,
    repeats,
    roll_up,
    water_warning,
)
from streams.batch import Message
from streams.sink import ClickHouseSink

log = logging.getLogger(__name__)

CONGESTED_KMH, CONGESTED_OCCUPANCY = 20.0, 50.0
ACTION_FAMILIES = ("alert_action", "case_action")
"""Dead letters of operator actions: not messages of a source."""

READINGS = """
SELECT source_id, max(ts_ms), uniqExactIf(event_id, ts >= toDateTime(%(recent)s)), min(ts_ms)
FROM events_raw
WHERE ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(end)s)
GROUP BY source_id
"""
CASE_MESSAGES = """
SELECT source_id, uniqExact(event_id)
FROM cases_raw
WHERE ts >= toDateTime(%(recent)s) AND ts < toDateTime(%(end)s)
GROUP BY source_id
"""
DEAD = """
SELECT visitParamExtractString(raw, 'source_id'), uniqExact(src_topic, src_partition, src_offset)
FROM dead_letters
WHERE kafka_ts >= toDateTime(%(recent)s) AND kafka_ts < toDateTime(%(end)s)
  AND family NOT IN %(actions)s
GROUP BY visitParamExtractString(raw, 'source_id')
"""
CASES = """
SELECT case_id, anyIf(category, status = 'filed'), anyIf(city, status = 'filed'),
  anyIf(district, status = 'filed'), anyIf(street, status = 'filed'),
  anyIf(grid, status = 'filed'), groupArray(status), groupArray(ts_ms)
FROM cases_raw
WHERE ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(end)s)
GROUP BY case_id
HAVING countIf(status = 'filed') > 0
"""
EVALUATIONS = """
SELECT case_id, argMax(score, ts_ms), any(city), any(district), any(street), any(grid)
FROM case_steps
WHERE score > 0 AND ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(end)s)
GROUP BY case_id
"""
ALERTS = """
SELECT alert_id, minIf(ts_ms, kind = 'raised'), anyIf(tier, kind = 'raised'),
  anyIf(city, kind = 'raised'), anyIf(district, kind = 'raised'),
  anyIf(street, kind = 'raised'), anyIf(grid, kind = 'raised'),
  countIf(kind = 'acknowledged'), minIf(ts_ms, kind = 'acknowledged')
FROM alert_events
WHERE ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(end)s) AND alert_id != ''
GROUP BY alert_id
HAVING countIf(kind = 'raised') > 0
"""
GRID_MEANS = """
SELECT key, metric, sum(sum), sum(cnt)
FROM rollups_1m FINAL
WHERE level = 'grid' AND metric IN %(metrics)s
  AND window_start >= toDateTime(%(lo)s) AND window_start < toDateTime(%(hi)s)
  AND toHour(window_start) = %(hour)s
GROUP BY key, metric
"""
SENSOR_MINUTES = """
SELECT source_id, intDiv(toUInt32(ts), 60), metric, avg(value), max(value)
FROM events_raw
WHERE ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(end)s) AND metric IN %(metrics)s
GROUP BY source_id, intDiv(toUInt32(ts), 60), metric
"""
LAST_MINUTE = f"""
SELECT toUInt64(max(window_start)) FROM {INDICATORS_1M.name}
WHERE window_start >= toDateTime(%(lo)s)
"""
MINUTE_ROWS = f"""
SELECT level, code, indicator, toUInt64(window_start), score, components
FROM {INDICATORS_1M.name} FINAL
WHERE window_start >= toDateTime(%(lo)s) AND window_start < toDateTime(%(hi)s)
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """What the minute's indicators are computed from, as read from ClickHouse."""

    registry: Registry
    profiles: Mapping[str, tuple[str, Mapping[str, float]]]
    catalog: Mapping[tuple[str, str], CatalogEntry]
    readings: Sequence[tuple[Any, ...]]
    case_messages: Sequence[tuple[Any, ...]]
    dead: Sequence[tuple[Any, ...]]
    cases: Sequence[tuple[Any, ...]]
    evaluations: Sequence[tuple[Any, ...]]
    alerts: Sequence[tuple[Any, ...]]
    means: Sequence[tuple[Any, ...]]
    usual: Sequence[tuple[Any, ...]]
    sensor_minutes: Sequence[tuple[Any, ...]]


def gather(stored: Stored, end_ms: int) -> dict[Location, AreaInputs]:
    """Every place's inputs for the minute ending at ``end_ms``: each grid cell of the
    registry (with nothing in it, still a cell), and coarser places for what is located no
    finer."""
    registry = stored.registry
    city = next((loc.city for loc in registry.grids.values()), "")
    places: dict[Location, AreaInputs] = {
        loc: AreaInputs(cells=1) for loc in registry.grids.values()
    }

    def at(location: Location) -> AreaInputs:
        return places.setdefault(location, AreaInputs())

    readings = {str(r[0]): (int(r[1]), int(r[2])) for r in stored.readings}
    # The city's data began at its first reading in the look-back (with none, long ago).
    began = min((int(r[3]) for r in stored.readings if len(r) > 3), default=0)
    watched = end_ms - began if began else RECENT_MS
    messages = {str(r[0]): int(r[1]) for r in stored.case_messages}
    dead = {str(r[0]): int(r[1]) for r in stored.dead}
    for source_id, count in dead.items():
        if source_id not in registry.sources:
            at(Location(city)).dead += count  # unplaceable: the city's
    for source in registry.sources.values():
        entry = in_force(stored.catalog, source.family.value, source.source_id)
        last, received = readings.get(source.source_id, (None, 0))
        inputs = at(source.location)
        if source.family is not Family.CASE:
            freshness = (entry.promise if entry else DEFAULT_PROMISE).freshness_s
            expected = source.per_minute * RECENT_MS / MINUTE_MS
            add_sensor(inputs, last_ms=last, freshness_s=freshness, received=received,
                       expected=expected, end_ms=end_ms, watched_ms=watched)  # fmt: skip
        add_source(inputs, shared=bool(entry and entry.shared),
                   messages=received + messages.get(source.source_id, 0),
                   dead=dead.get(source.source_id, 0))  # fmt: skip
    _gather_cases(stored, end_ms, at)
    _gather_alerts(stored, end_ms, at)
    _gather_means(stored, registry, at)
    _gather_sensor_minutes(stored, end_ms, at)
    return places


def _location(row: Sequence[Any]) -> Location:
    return Location(*(str(code) for code in row))


def _gather_cases(stored: Stored, end_ms: int, at: Callable[[Location], AreaInputs]) -> None:
    filings = []
    where: dict[str, Location] = {}
    for _, category, *codes, statuses, times in stored.cases:
        location = _location(codes)
        events = list(zip((str(s) for s in statuses), (int(t) for t in times), strict=True))
        add_case(at(location), str(category), events, end_ms)
        filed = min(t for s, t in events if s == "filed")
        filings.append((location.grid, str(category), filed))
        where[location.grid] = location
    for grid, (filed, repeated) in repeats(filings, end_ms).items():
        inputs = at(where[grid])
        inputs.filed += filed
        inputs.repeats += repeated
    for _, score, *codes in stored.evaluations:
        at(_location(codes)).evaluation.add(float(score))


def _gather_alerts(stored: Stored, end_ms: int, at: Callable[[Location], AreaInputs]) -> None:
    for _, raised, tier, city, district, street, grid, acks, acked in stored.alerts:
        location = Location(str(city), str(district), str(street), str(grid))
        add_alert(at(location), str(tier), raised_ms=int(raised),
                  acked_ms=int(acked) if acks else None, end_ms=end_ms)  # fmt: skip


def _gather_means(stored: Stored, registry: Registry, at: Callable[[Location], AreaInputs]) -> None:
    for rows, usual in ((stored.means, False), (stored.usual, True)):
        for grid, metric, total, count in rows:
            location = registry.grids.get(str(grid))
            if location is None:
                continue
            inputs = at(location)
            if metric in POLLUTANTS:
                inputs.pollutants.setdefault(str(metric), Mean()).add(float(total), float(count))
            else:
                mean: Mean = getattr(inputs, f"{metric}_usual" if usual else str(metric))
                mean.add(float(total), float(count))


def _gather_sensor_minutes(
    stored: Stored, end_ms: int, at: Callable[[Location], AreaInputs]
) -> None:
    window_min = end_ms // MINUTE_MS - 1
    traffic: dict[tuple[str, int], dict[str, float]] = {}
    for source_id, minute, metric, mean, high in stored.sensor_minutes:
        source = stored.registry.sources.get(str(source_id))
        if source is None:
            continue
        limits = stored.profiles.get(source.source_id, ("", {}))[1]
        if metric in ("speed", "occupancy"):
            traffic.setdefault((source.source_id, int(minute)), {})[str(metric)] = float(mean)
        elif int(minute) != window_min:
            continue
        elif metric == "noise":
            limit = noise_limit(window_min * MINUTE_MS, limits)
            at(source.location).noise.add(max(0.0, float(mean) - limit))
        else:
            warning = water_warning(str(metric), limits)
            if warning is not None:
                inputs = at(source.location)
                inputs.gauges += 1
                inputs.gauges_under += float(high) < warning
    for (source_id, _), means in traffic.items():
        inputs = at(stored.registry.sources[source_id].location)
        inputs.traffic_minutes += 1
        inputs.congested += (means.get("speed", CONGESTED_KMH) < CONGESTED_KMH
                             or means.get("occupancy", 0.0) > CONGESTED_OCCUPANCY)  # fmt: skip


def minute_scores(stored: Stored, end_ms: int) -> list[Score]:
    """Every area's five indicators for the minute ending at ``end_ms``."""
    start = end_ms - MINUTE_MS
    areas = roll_up(gather(stored, end_ms))
    return [s for (level, code), inputs in sorted(areas.items())
            for s in area_scores(level, code, start, inputs)]  # fmt: skip


Reference = Callable[
    [], tuple[Registry, Mapping[str, tuple[str, Mapping[str, float]]],
              Mapping[tuple[str, str], CatalogEntry]]
]  # fmt: skip
"""The registry, source profiles and catalog entries in force that the worker holds (and
refreshes) already: the indicators read them rather than load them again each minute."""


class IndicatorStore:
    """The ClickHouse edge of the indicators: blocking, one connection, one thread."""

    def __init__(self, client_factory: Callable[[], Client], reference: Reference) -> None:
        self.sink = ClickHouseSink(client_factory)
        self.reference = reference
        self._usual: tuple[int, list[tuple[Any, ...]]] | None = None  # (hour, rows)

    def _rows(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = self.sink.client.execute(sql, dict(params))
        return result

    def load(self, end_ms: int) -> Stored:
        """What the minute ending at ``end_ms`` (minute-aligned) is computed from."""
        end = end_ms // 1000
        registry, profiles, catalog = self.reference()
        freshest = max((e.promise.freshness_s for e in catalog.values() if e.family != "case"),
                       default=300)  # fmt: skip
        recent = {"recent": end - RECENT_MS // 1000, "end": end}
        # as far back as the longest freshness target (at most a day), and the 15 minutes
        lookback = min(max(freshest, RECENT_MS // 1000), DAY_MS // 1000)
        hour_start = (end_ms - MINUTE_MS) // HOUR_MS * HOUR_MS // 1000
        return Stored(
            registry=registry,
            profiles=profiles,
            catalog=catalog,
            readings=self._rows(READINGS, {**recent, "lo": end - lookback}),
            case_messages=self._rows(CASE_MESSAGES, recent),
            dead=self._rows(DEAD, {**recent, "actions": ACTION_FAMILIES}),
            cases=self._rows(CASES, {"lo": end - EVALUATION_MS // 1000, "end": end}),
            evaluations=self._rows(EVALUATIONS, {"lo": end - EVALUATION_MS // 1000, "end": end}),
            alerts=self._rows(ALERTS, {"lo": end - CASE_WINDOW_MS // 1000, "end": end}),
            means=self._rows(GRID_MEANS, {"metrics": ("flow", "load", *POLLUTANTS),
                                          "lo": end - 60, "hi": end,
                                          "hour": (end - 60) // 3600 % 24}),  # fmt: skip
            usual=self._usual_levels(hour_start),
            sensor_minutes=self._rows(SENSOR_MINUTES, {
                "lo": end - HOUR_MS // 1000, "end": end,
                "metrics": ("speed", "occupancy", "noise", "water_level", "pipe_level"),
            }),
        )  # fmt: skip

    def _usual_levels(self, hour_start: int) -> list[tuple[Any, ...]]:
        """Flow and load per grid cell over this hour of the 7 days before: read once an
        hour (a week of grid roll-ups is the largest read here)."""
        if self._usual is None or self._usual[0] != hour_start:
            rows = self._rows(GRID_MEANS, {"metrics": ("flow", "load"),
                                           "lo": hour_start - 7 * DAY_MS // 1000,
                                           "hi": hour_start - DAY_MS // 1000 + 3600,
                                           "hour": hour_start // 3600 % 24})  # fmt: skip
            self._usual = (hour_start, rows)
        return self._usual[1]

    def last_computed(self, since_ms: int) -> int | None:
        """The end of the latest minute stored since ``since_ms`` (None: none), where a
        restarted worker carries on."""
        found = self._rows(LAST_MINUTE, {"lo": since_ms // 1000})
        latest = int(found[0][0]) if found else 0
        return latest * 1000 + MINUTE_MS if latest else None

    def hour_scores(self, hour_start_ms: int) -> list[Score]:
        """The hour's rows from its stored minute rows."""
        lo = hour_start_ms // 1000
        minutes = [
            Score(AreaLevel(level), str(code), Indicator(indicator), int(start) * 1000,
                  score, components_of(components))
            for level, code, indicator, start, score, components
            in self._rows(MINUTE_ROWS, {"lo": lo, "hi": lo + 3600})
        ]  # fmt: skip
        return hourly(minutes, hour_start_ms)

    def write_minute(self, end_ms: int, version: int) -> int:
        """Compute and store the minute ending at ``end_ms`` (and its hour when it ends
        one); returns the rows written."""
        scores = minute_scores(self.load(end_ms), end_ms)
        written = self.sink.insert(INDICATORS_1M, [indicator_row(s, version) for s in scores])
        if end_ms % HOUR_MS == 0:
            hour = self.hour_scores(end_ms - HOUR_MS)
            written += self.sink.insert(INDICATORS_1H, [indicator_row(s, version) for s in hour])
        return written


def latest_tick(messages: Iterable[Message]) -> int | None:
    """The latest event-time tick among alerting-topic messages (None: no tick)."""
    latest = None
    for message in messages:
        if b'"tick"' not in message.value:
            continue
        try:
            doc = orjson.loads(message.value)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("type") == "tick":
            latest = max(latest or 0, int(doc["ts_ms"]))
    return latest


MAX_ATTEMPTS = 3
"""A minute that fails this many times (one attempt per tick) is skipped, so that one bad
minute never holds the later ones back."""


class IndicatorRunner:
    """Computes each minute the ticks pass (see the module), off the event loop."""

    def __init__(
        self,
        store: IndicatorStore,
        catchup_min: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.catchup_min = catchup_min
        self.clock = clock
        self.next_end_ms: int | None = None  # the end of the next minute to compute
        self.target_ms: int | None = None  # the latest tick seen
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # of the minute in hand
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="indicators")

    def advance(self, messages: Iterable[Message]) -> None:
        """Note the batch's ticks; start computing in the background if a minute passed."""
        tick = latest_tick(messages)
        if tick is None:
            return
        tick -= tick % MINUTE_MS
        self.target_ms = max(self.target_ms or tick, tick)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.target_ms is not None:
            target = self.target_ms
            earliest = target - (self.catchup_min - 1) * MINUTE_MS
            if self.next_end_ms is None:  # (re)started: after the last minute stored, if any
                with contextlib.suppress(Exception):
                    last = await loop.run_in_executor(
                        self._thread, self.store.last_computed, earliest - MINUTE_MS
                    )
                    self.next_end_ms = None if last is None else last + MINUTE_MS
            end = max(self.next_end_ms or target, earliest)
            if end > target:
                return
            try:
                written = await loop.run_in_executor(
                    self._thread, self.store.write_minute, end, int(self.clock() * 1000)
                )
            except Exception:  # logged; the same minute is tried again at the next tick
                self.failures += 1
                log.warning("indicators of the minute ending %d not computed (attempt %d)",
                            end, self.failures, exc_info=True)  # fmt: skip
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(self._thread, self.store.sink.reset)
                if self.failures < MAX_ATTEMPTS:
                    return
                log.error("indicators of the minute ending %d skipped", end)
            else:
                log.debug("indicators of the minute ending %d: %d rows", end, written)
            self.failures = 0
            self.next_end_ms = end + MINUTE_MS

    async def stop(self) -> None:
        """Stop computing (a minute in hand is left to the next start)."""
        if self._task is not None:
            self._task.cancel()
        self._thread.shutdown(wait=False)
