"""Scenarios played live: a labelled scenario (``scenarios/<name>.yaml``) synthesized by
:func:`detectors.evaluation.scenarios.synthesize`, shifted in time so that it ends at a
chosen moment, turned into valid wire events for the scenario's own sites, and the
reference rows that make the worker accept every one of them.

Pure: no Kafka, no ClickHouse, no clock (``sensors_sim.scenario_play`` does the I/O). The
same (scenario, seed, end time, known areas) give the same events, byte for byte.

Reference data: every sensor site becomes a row of ``sources`` (family from its metrics,
location from its grid code). Case streams (``cases:<grid>:<category>``) are not sources;
their reports need the grid cell in ``areas``. Areas the scenario names that the database
lacks (the scenarios use districts D7 and D8 and streets like D8-S6, which the default city
of 6 districts with 4 streets each has not) are added as an annex: square cells of about
400 m east of the known city, each missing street a block of four cells a row.
"""

from __future__ import annotations

import math
import re
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from detectors.contract import wire
from detectors.contract.city import Area, Ring
from detectors.contract.events import (
    CASE_METRIC,
    METRICS,
    CaseReport,
    Family,
    Reading,
    Source,
)
from detectors.contract.places import AREA_LEVELS, AreaLevel, level_of, location_of
from detectors.evaluation.scenarios import HOUR_MS, Label, Synthesis
from detectors.scoring.sites import Site
from sensors_sim import geometry
from sensors_sim.cases import CATEGORY_TEXT, HOTLINE
from sensors_sim.city import CENTRE, CityModel
from sensors_sim.generator import SimEvent
from sensors_sim.reference import area_rows

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
"""The scenario files of the repository (``scenarios/*.yaml``)."""

SCENARIO_NAMESPACE = uuid.UUID("0d7c1b8e-5a43-5f2e-b6c1-9e2f4a7d3c55")
"""uuid5 namespace of the event ids of played scenarios."""

CASE_REPORTER = HOTLINE
"""Who files a scenario's case reports: the citizen hotline (validation does not require a
registered reporter, only a registered grid cell)."""

ANNEX_COLS = 4
"""Grid cells per row of an annex street."""

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_GRID_NUMBER = re.compile(r"G(\d+)$")


class ScenarioError(ValueError):
    """A scenario that cannot be played as asked; the message says why and what to do."""


# -- scenario files ----------------------------------------------------------------------


def scenario_names(folder: Path = SCENARIOS_DIR) -> list[str]:
    """The scenarios in ``folder``: the names of its ``*.yaml`` files, sorted."""
    return sorted(path.stem for path in folder.glob("*.yaml"))


def load_scenario(name: str, folder: Path = SCENARIOS_DIR) -> dict[str, Any]:
    """The scenario ``<folder>/<name>.yaml``; ScenarioError naming the known ones if absent."""
    known = scenario_names(folder)
    if not _NAME.match(name) or name not in known:
        listing = ", ".join(known) if known else f"none in {folder}"
        raise ScenarioError(f"unknown scenario {name!r}; known scenarios: {listing}")
    loaded = yaml.safe_load((folder / f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or "start" not in loaded or "hours" not in loaded:
        raise ScenarioError(f"{folder / (name + '.yaml')} is not a scenario (start, hours...)")
    return loaded


def describe(name: str, folder: Path = SCENARIOS_DIR) -> str:
    """One line for ``--list``: name, length, labels and title."""
    scenario = load_scenario(name, folder)
    kinds: dict[str, list[str]] = {}
    for label in scenario.get("labels", []):
        kinds.setdefault(str(label["kind"]), []).append(str(label["area"]))
    labels = ", ".join(
        f"{kind} {areas[0]}" if len(areas) == 1 else f"{len(areas)} {kind}s"
        for kind, areas in kinds.items()
    )
    return (
        f"{name:<17} {float(scenario['hours']):>5g} h  {labels or 'no labels':<34} "
        f"{scenario.get('title', '')}"
    )


# -- time ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where a synthesis lands on the wall clock: event times are shifted by ``shift_ms``
    (the scenario's end lands on ``end_at``); readings before ``skip_before_ms`` (scenario
    time) are not sent."""

    shift_ms: int
    skip_before_ms: int

    @classmethod
    def ending_at(cls, synthesis: Synthesis, end_at_ms: int, skip_hours: float = 0.0) -> Timeline:
        """The timeline that ends ``synthesis`` at ``end_at_ms``, its first ``skip_hours``
        left out (the labelled windows must stay whole)."""
        hours = (synthesis.end_ms - synthesis.start_ms) / HOUR_MS
        if not 0.0 <= skip_hours < hours:
            raise ScenarioError(f"--skip-hours must be in [0, {hours:g}), got {skip_hours:g}")
        skip_before = synthesis.start_ms + int(skip_hours * HOUR_MS)
        cut = [lb.name or lb.area for lb in synthesis.labels if lb.start_ms < skip_before]
        if cut:
            raise ScenarioError(
                f"--skip-hours {skip_hours:g} cuts into the labelled window(s) {', '.join(cut)}"
            )
        return cls(end_at_ms - synthesis.end_ms, skip_before)

    def wall(self, scenario_ms: int) -> int:
        """The wall-clock time of a scenario time."""
        return scenario_ms + self.shift_ms


@dataclass(frozen=True, slots=True)
class Bounds:
    """The event ages the worker accepts (``CITYBRAIN_WORKER_MAX_AGE_S`` and
    ``_MAX_FUTURE_S``); ``margin_ms`` is kept for the worker's lag behind the producer."""

    max_age_ms: int = 7 * 24 * HOUR_MS
    max_future_ms: int = 5 * 60_000
    margin_ms: int = 15 * 60_000


def check_window(
    first_ms: int, last_ms: int, now_ms: int, speed: float | None, bounds: Bounds
) -> None:
    """Raise ScenarioError unless every event time in [first, last] (wall clock) is accepted
    by the worker when it is sent: at once (speed None) or paced ``speed`` times faster than
    real time from ``now_ms`` on. The margin allows for the worker's lag (on the old side)."""
    span_h = (last_ms - first_ms) / HOUR_MS
    keep_h = (bounds.max_age_ms - bounds.margin_ms) / HOUR_MS
    # Event time minus send time is linear in the event time: its spread over the play
    # must fit between the oldest and the newest event the worker accepts.
    spread_h = span_h if speed is None else abs(span_h * (1 - 1 / speed))
    if spread_h > keep_h + bounds.max_future_ms / HOUR_MS:
        raise ScenarioError(
            f"the scenario spans {span_h:.1f} h of event time, but the worker dead-letters "
            f"events older than {bounds.max_age_ms / HOUR_MS:g} h (CITYBRAIN_WORKER_MAX_AGE_S; "
            f"{bounds.margin_ms // 60_000} min are kept for its lag): leave out the first "
            f"{spread_h - keep_h:.1f} h or more with --skip-hours, or play it slower (--speed)"
        )
    for ts_ms in (first_ms, last_ms):
        sent_ms = now_ms if speed is None else now_ms + (ts_ms - first_ms) / speed
        if ts_ms > sent_ms + bounds.max_future_ms:
            ahead_min = (ts_ms - sent_ms) / 60_000
            raise ScenarioError(
                f"events would be {ahead_min:.0f} min in the future when sent (the worker "
                f"accepts {bounds.max_future_ms // 60_000} min, CITYBRAIN_WORKER_MAX_FUTURE_S): "
                f"give an earlier --start"
            )
        if ts_ms < sent_ms - bounds.max_age_ms + bounds.margin_ms:
            age_h = (sent_ms - ts_ms) / HOUR_MS
            raise ScenarioError(
                f"events would be {age_h:.1f} h old when sent (the worker accepts "
                f"{keep_h:.1f} h with its lag, CITYBRAIN_WORKER_MAX_AGE_S): give a later "
                f"--start, a faster --speed or --skip-hours"
            )


def iso(ms: int) -> str:
    """UTC ISO 8601 of epoch milliseconds, to the second.

    >>> iso(1764115200000)
    '2025-11-26T00:00:00Z'
    """
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shifted_labels(labels: Sequence[Label], timeline: Timeline) -> list[dict[str, object]]:
    """The labelled windows in wall-clock time, as the summary reports them."""
    return [
        {
            "kind": lb.kind, "area": lb.area, "name": lb.name,
            "start": iso(timeline.wall(lb.start_ms)), "end": iso(timeline.wall(lb.end_ms)),
            "start_ms": timeline.wall(lb.start_ms), "end_ms": timeline.wall(lb.end_ms),
            **({"sources": list(lb.sources)} if lb.sources else {}),
        }
        for lb in labels
    ]  # fmt: skip


# -- reference data ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownArea:
    """An area row already in the ``areas`` table (or about to be written)."""

    level: str
    code: str
    city: str
    district: str
    street: str
    ring: Ring


@dataclass(frozen=True)
class ReferencePlan:
    """What to write so the worker accepts every event of a scenario: area rows (in
    ``tables.AREAS`` column order), the sources, and the ring of every grid cell the
    scenario uses (for the position of case reports)."""

    area_rows: tuple[tuple[object, ...], ...]
    sources: tuple[Source, ...]
    cells: Mapping[str, Ring]
    annexed: tuple[str, ...]  # codes of the areas placed in the annex
    city_written: bool  # the whole city model is written (the database had no areas)


def family_of(site: Site) -> Family:
    """The one family of a site's metrics; ScenarioError when they are of several."""
    families = {METRICS[metric].family for metric in site.metrics if metric in METRICS}
    unknown = [metric for metric in site.metrics if metric not in METRICS]
    if unknown or len(families) != 1:
        raise ScenarioError(
            f"site {site.source_id} measures {', '.join(site.metrics)}: "
            "a source must measure known metrics of one family"
        )
    return families.pop()


def is_case_stream(site: Site) -> bool:
    """Whether a site is a grid cell's stream of case reports (not a registered source)."""
    return site.metrics == (CASE_METRIC,) and site.source_id.startswith("cases:")


def needed_areas(synthesis: Synthesis, city: str) -> dict[str, str]:
    """Every area code the scenario's sites and labels lie in, with its level."""
    needed: dict[str, str] = {}
    for site in synthesis.sites:
        where = site.location
        for level, code in zip(AREA_LEVELS, where.codes(), strict=True):
            if code:
                needed[code] = level
    for label in synthesis.labels:
        for code in location_of(label.area, city).codes():
            if code:
                needed[code] = level_of(code, city)
    return needed


def plan_reference(
    synthesis: Synthesis,
    known: Sequence[KnownArea],
    city_model: CityModel | None,
    updated_at: int,
) -> ReferencePlan:
    """The rows to write for ``synthesis`` given the areas the database already has. With
    no areas at all, ``city_model`` is written whole first (so a dashboard has a city to
    draw); whatever the scenario needs beyond it goes to the annex."""
    city = next((s.location.city for s in synthesis.sites), "CB") or "CB"
    rows: list[tuple[object, ...]] = []
    known_by_code = {area.code: area for area in known}
    city_written = False
    if not known_by_code and city_model is not None:
        rows += area_rows(city_model, updated_at)
        known_by_code = {area.code: area for area in _model_areas(city_model)}
        city_written = True
    needed = needed_areas(synthesis, city)
    missing = {code: level for code, level in needed.items() if code not in known_by_code}
    annex = annex_areas(missing, city, [a.ring for a in known_by_code.values()])
    for area in annex:
        rows.append(_annex_row(area, city, updated_at))
        where = location_of(area.code, city)
        known_by_code[area.code] = KnownArea(
            area.level, area.code, where.city, where.district, where.street, area.ring
        )
    cells = {
        code: known_by_code[code].ring for code, level in needed.items() if level == AreaLevel.GRID
    }
    sources = tuple(
        _source(site, cells[site.location.grid])
        for site in synthesis.sites
        if not is_case_stream(site)
    )
    return ReferencePlan(tuple(rows), sources, cells, tuple(a.code for a in annex), city_written)


def _model_areas(city_model: CityModel) -> list[KnownArea]:
    locations = city_model.grid_locations()
    found = []
    for area in city_model.areas:
        if area.level == AreaLevel.GRID:
            where = locations[area.code]
        else:
            where = location_of(area.code, city_model.level(AreaLevel.CITY)[0].code)
        found.append(
            KnownArea(area.level, area.code, where.city, where.district, where.street, area.ring)
        )
    return found


def _source(site: Site, cell: Ring) -> Source:
    u, v = _unit_pair(site.source_id)
    lon, lat = _point_in(cell, u, v)
    return Source(
        source_id=site.source_id,
        family=family_of(site),
        kind=site.kind,
        metrics=frozenset(site.metrics),
        location=site.location,
        lon=lon,
        lat=lat,
        cadence_s=site.cadence_s,
    )


def _unit_pair(text: str, low: float = 0.12, high: float = 0.88) -> tuple[float, float]:
    """Two numbers in [low, high] fixed by ``text`` (a seeded place inside a cell)."""
    digest = zlib.crc32(text.encode())
    u = (digest & 0xFFFF) / 0xFFFF
    v = (digest >> 16) / 0xFFFF
    return low + (high - low) * u, low + (high - low) * v


def _point_in(ring: Ring, u: float, v: float) -> tuple[float, float]:
    if len(ring) == 5:
        return geometry.point_in_quad(ring, u, v)
    points = ring[:-1] or ring
    return (
        round(sum(p[0] for p in points) / len(points), 6),
        round(sum(p[1] for p in points) / len(points), 6),
    )


def annex_areas(missing: Mapping[str, str], city: str, known_rings: Sequence[Ring]) -> list[Area]:
    """Areas for the codes the database lacks, drawn east of the known ones: a column per
    district, a block of rows of ANNEX_COLS cells per street (cell ``Gn`` at row
    ``(n-1) // ANNEX_COLS``), square cells of about 400 m. A missing street or district is
    the rectangle around its blocks; a missing city the rectangle around everything."""
    if not missing:
        return []
    points = [p for ring in known_rings for p in ring]
    lat_ref = sum(p[1] for p in points) / len(points) if points else CENTRE[1]
    d_lat = geometry.CELL_KM / geometry.KM_PER_DEG_LAT
    d_lon = d_lat / math.cos(math.radians(lat_ref))
    east = max((p[0] for p in points), default=CENTRE[0]) + d_lon
    south = min((p[1] for p in points), default=CENTRE[1])
    units = _annex_units(missing, city)
    areas: list[Area] = []
    blocks: dict[str, list[Ring]] = {}  # district -> rings of its blocks
    for column, district in enumerate(sorted({d for d, _ in units}, key=_natural)):
        streets = sorted((s for d, s in units if d == district), key=_natural)
        row = 0
        for street in streets:
            cells = units[(district, street)]
            rows = max([1] + [(n - 1) // ANNEX_COLS + 1 for n in cells.values()])
            x0, y0 = east + column * (ANNEX_COLS + 1) * d_lon, south + row * d_lat
            block = _rect(x0, y0, x0 + ANNEX_COLS * d_lon, y0 + rows * d_lat)
            blocks.setdefault(district, []).append(block)
            for code, number in sorted(cells.items()):
                r, c = divmod(number - 1, ANNEX_COLS)
                x, y = x0 + c * d_lon, y0 + r * d_lat
                areas.append(
                    _annex_area(AreaLevel.GRID, code, street, _rect(x, y, x + d_lon, y + d_lat))
                )
            if street in missing:
                areas.append(_annex_area(AreaLevel.STREET, street, district, block))
            row += rows
        if district in missing:
            areas.append(
                _annex_area(AreaLevel.DISTRICT, district, city, _bounding(blocks[district]))
            )
    if city in missing:
        rings = [a.ring for a in areas] + list(known_rings)
        areas.append(_annex_area(AreaLevel.CITY, city, "", _bounding(rings)))
    return sorted(areas, key=lambda a: (AREA_LEVELS.index(AreaLevel(a.level)), _natural(a.code)))


def _annex_units(missing: Mapping[str, str], city: str) -> dict[tuple[str, str], dict[str, int]]:
    """(district, street) -> {missing grid code: cell number}, with an empty block for a
    missing street or district that has no missing cells."""
    units: dict[tuple[str, str], dict[str, int]] = {}
    for code, level in missing.items():
        where = location_of(code, city)
        if level == AreaLevel.GRID:
            match = _GRID_NUMBER.search(code)
            number = int(match.group(1)) if match else 1
            units.setdefault((where.district, where.street), {})[code] = max(1, number)
        elif level == AreaLevel.STREET:
            units.setdefault((where.district, code), {})
        elif level == AreaLevel.DISTRICT:
            units.setdefault((code, f"{code}-S1"), {})
    return units


def _annex_area(level: str, code: str, parent: str, ring: Ring) -> Area:
    return Area(level, code, parent, f"{code} (scenario annex)", f"{code}（情景附区）", ring)


def _annex_row(area: Area, city: str, updated_at: int) -> tuple[object, ...]:
    where = location_of(area.code, city)
    lon, lat = area.centroid
    ring = orjson.dumps([list(point) for point in area.ring]).decode()
    return (
        area.level, area.code, area.parent, where.city, where.district, where.street,
        area.name, area.name_zh, ring, round(lon, 6), round(lat, 6), updated_at,
    )  # fmt: skip


def _rect(x0: float, y0: float, x1: float, y1: float) -> Ring:
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    rounded = tuple((round(x, 6), round(y, 6)) for x, y in corners)
    return rounded + (rounded[0],)


def _bounding(rings: Sequence[Ring]) -> Ring:
    points = [p for ring in rings for p in ring]
    return _rect(
        min(p[0] for p in points), min(p[1] for p in points),
        max(p[0] for p in points), max(p[1] for p in points),
    )  # fmt: skip


def _natural(code: str) -> tuple[object, ...]:
    """Sort key that puts D2 before D10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", code))


# -- events ------------------------------------------------------------------------------


def event_id(name: str, seed: int, shift_ms: int, index: int) -> str:
    """The id of reading ``index`` of a played scenario: the same on every identical play."""
    return str(uuid.uuid5(SCENARIO_NAMESPACE, f"{name}:{seed}:{shift_ms}:{index}"))


def scenario_events(
    synthesis: Synthesis, seed: int, timeline: Timeline, cells: Mapping[str, Ring]
) -> Iterator[tuple[int, SimEvent]]:
    """(wall-clock ts, event) for every reading from ``timeline.skip_before_ms`` on, in
    time order: sensor readings to their family's topic, case-stream readings as case
    reports (status filed), each keyed by :func:`detectors.contract.wire.key_of`."""
    sites = {site.source_id: site for site in synthesis.sites}
    families = {sid: family_of(s) for sid, s in sites.items() if not is_case_stream(s)}
    tag = hex(zlib.crc32(f"{synthesis.name}:{seed}:{timeline.shift_ms}".encode()))[2:]
    cases = 0
    first = int(synthesis.ts_ms.searchsorted(timeline.skip_before_ms, side="left"))
    series = synthesis.series
    stamps = synthesis.ts_ms[first:].tolist()
    indices = synthesis.series_index[first:].tolist()
    values = synthesis.values[first:].tolist()
    for offset, (ts, i, value) in enumerate(zip(stamps, indices, values, strict=True)):
        source_id, metric = series[i]
        site = sites[source_id]
        wall_ts = ts + timeline.shift_ms
        eid = event_id(synthesis.name, seed, timeline.shift_ms, first + offset)
        if is_case_stream(site):
            cases += 1
            category = source_id.rsplit(":", 1)[1]
            case_id = f"SC-{tag:0>8}-{cases:06d}"
            case = case_report(site, eid, wall_ts, case_id, category, cells[site.location.grid])
            yield wall_ts, SimEvent(Family.CASE, wire.key_of(case), wire.encode_case(case), None)
        else:
            event = reading(site, families[source_id], eid, wall_ts, metric, value)
            yield (
                wall_ts,
                SimEvent(event.family, wire.key_of(event), wire.encode_reading(event), None),
            )


def reading(site: Site, family: Family, eid: str, ts_ms: int, metric: str, value: float) -> Reading:
    """A sensor reading of ``site``, encoded by :mod:`detectors.contract.wire`."""
    return Reading(eid, ts_ms, family, site.source_id, metric, value, site.location)


def case_report(
    site: Site, eid: str, ts_ms: int, case_id: str, category: str, cell: Ring
) -> CaseReport:
    """A newly filed case report, placed inside its grid cell."""
    lon, lat = _point_in(cell, *_unit_pair(case_id, 0.05, 0.95))
    text = CATEGORY_TEXT.get(category, category)
    return CaseReport(
        eid, ts_ms, case_id, category, "filed", CASE_REPORTER, site.location, lon, lat, text, ""
    )


def sent_range(synthesis: Synthesis, timeline: Timeline) -> tuple[int, int, int]:
    """(count, first wall ts, last wall ts) of the readings a play sends."""
    first = int(synthesis.ts_ms.searchsorted(timeline.skip_before_ms, side="left"))
    count = len(synthesis.ts_ms) - first
    if count == 0:
        return 0, timeline.wall(timeline.skip_before_ms), timeline.wall(synthesis.end_ms)
    return (
        count,
        timeline.wall(int(synthesis.ts_ms[first])),
        timeline.wall(int(synthesis.ts_ms[-1])),
    )
