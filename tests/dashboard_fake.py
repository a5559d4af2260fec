"""FakeQueries: the dashboard's Queries over canned, in-memory data, for tests.

The same scope rules as the SQL (ScopeError for an area outside the scope, rows of other
districts left out). A test double: it lives under tests/ so no product code can import
it; unit and browser tests (and a benchmark, if one ever needs it) import it from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.model import (
    ACTIVE_STATUSES,
    AlertEventRow,
    AlertRow,
    AreaTree,
    CaseList,
    CaseRow,
    CaseStepRow,
    CityShapes,
    DeadLetterCounts,
    DistrictRollup,
    DrillRow,
    NotFound,
    QualityRow,
    RatePoint,
    Scorecard,
    SensorCell,
    SensorInfo,
    SeriesPoint,
    SilenceRow,
    StageChange,
    trend_of,
)
from dashboard.scope import Scope, ScopeError
from detectors.contract.audit import AccessEvent
from detectors.contract.catalog import (
    DEFAULT_DEPARTMENTS,
    CatalogEntry,
    Department,
    Promise,
    family_entry,
    source_override,
)
from detectors.contract.city import Area, Ring
from detectors.contract.events import Family
from detectors.contract.indicators import INDICATORS, Component, Indicator, Score, specs_of
from detectors.contract.levels import WarningLevel
from detectors.contract.places import AreaLevel, Location, location_of

FAKE_T0 = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
T0_MS = int(FAKE_T0.timestamp() * 1000)
MIN_MS = 60_000


def _square(lon: float, lat: float, size: float) -> Ring:
    return ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))


def _fake_areas() -> tuple[Area, ...]:
    corners = ((120.0, 30.0), (120.1, 30.0), (120.0, 30.1), (120.1, 30.1))
    areas = [Area("city", "CB", "", "Citybrain", "城脑市", _square(120.0, 30.0, 0.2))]
    for i, (lon, lat) in enumerate(corners, 1):
        d = f"D{i}"
        areas.append(Area("district", d, "CB", f"District {i}", f"第{i}区", _square(lon, lat, 0.1)))
        for s in (1, 2):
            street = f"{d}-S{s}"
            s_lon = lon + 0.05 * (s - 1)
            areas.append(
                Area(
                    "street",
                    street,
                    d,
                    f"Street {i}.{s}",
                    f"{i}.{s}街道",
                    (
                        (s_lon, lat),
                        (s_lon + 0.05, lat),
                        (s_lon + 0.05, lat + 0.1),
                        (s_lon, lat + 0.1),
                        (s_lon, lat),
                    ),
                )
            )
            for g in (1, 2):
                cell = f"{street}-G0{g}"
                ring = _square(s_lon, lat + 0.05 * (g - 1), 0.05)
                areas.append(
                    Area("grid", cell, street, f"Cell {i}.{s}.{g}", f"{i}.{s}.{g}网格", ring)
                )
    return tuple(areas)


def _place(grid: str) -> Location:
    return location_of(grid, city="CB")


def _alert(n: int, level: WarningLevel, grid: str, metric: str, status: str = "active") -> AlertRow:
    source = {"water_level": "WAT-0001", "pm25": "ENV-0001", "load": "FDR-0001"}[metric]
    evidence = {
        "detector": "static",
        "value": 4.2,
        "score": level.score,
        "threshold": 3.5,
        "forecast_ts_ms": T0_MS + 40 * MIN_MS,
        "expected": 4.6,
    }
    return AlertRow(
        f"alert-{n}",
        "alert",
        "",
        f"{source}:{metric}:condition",
        "condition",
        level,
        "district",
        status,
        T0_MS + n * MIN_MS,
        T0_MS + n * MIN_MS + 1000,
        1,
        "" if status == "active" else "li",
        "",
        f"{metric} above limit",
        _place(grid),
        "",
        source,
        metric,
        evidence,
    )


def _fake_alerts() -> list[AlertRow]:
    return [
        _alert(1, WarningLevel.II, "D1-S1-G01", "water_level"),
        _alert(2, WarningLevel.III, "D1-S1-G02", "water_level", "acknowledged"),
        _alert(3, WarningLevel.IV, "D1-S2-G01", "pm25"),
        _alert(4, WarningLevel.I, "D2-S1-G01", "load"),
        _alert(5, WarningLevel.III, "D1-S1-G01", "pm25", "resolved"),
    ]


def _fake_trail() -> list[AlertEventRow]:
    return [
        AlertEventRow(
            "e1",
            T0_MS + MIN_MS,
            "raised",
            "alert-1",
            "",
            "II",
            "district",
            "water_level above limit",
            "",
            "",
        ),
        AlertEventRow(
            "e2",
            T0_MS + 2 * MIN_MS,
            "comment",
            "alert-1",
            "",
            "II",
            "district",
            "",
            "li",
            "crew on the way",
        ),
    ]


def _fake_sensors() -> list[SensorInfo]:
    return [
        SensorInfo(
            "WAT-0001",
            "water",
            "river_gauge",
            ("water_level",),
            _place("D1-S1-G01"),
            120.01,
            30.01,
            300,
        ),
        SensorInfo(
            "ENV-0001",
            "environment",
            "air_station",
            ("pm10", "pm25"),
            _place("D1-S1-G01"),
            120.02,
            30.02,
            60,
        ),
        SensorInfo(
            "FDR-0001", "power", "feeder_meter", ("load",), _place("D2-S1-G01"), 120.11, 30.01, 60
        ),
    ]


def _fake_series() -> list[SeriesPoint]:
    return [SeriesPoint("water_level", T0_MS + m * MIN_MS, 3.0 + 0.05 * m) for m in range(30)]


def _fake_cases() -> list[CaseRow]:
    return [
        CaseRow(
            "C-1",
            "manhole_cover",
            _place("D1-S1-G01"),
            {"filed": T0_MS},
            "filed",
            T0_MS,
            "窨井盖缺失",
        ),
        CaseRow(
            "C-2",
            "garbage",
            _place("D1-S2-G01"),
            {"filed": T0_MS, "dispatched": T0_MS + 5 * MIN_MS, "accepted": T0_MS + 10 * MIN_MS},
            "accepted",
            T0_MS + 10 * MIN_MS,
            "垃圾堆放",
        ),
        CaseRow(
            "C-3", "road_damage", _place("D2-S1-G01"), {"filed": T0_MS}, "filed", T0_MS, "路面破损"
        ),
    ]


def _fake_case_steps() -> dict[str, list[CaseStepRow]]:
    return {
        "C-2": [
            CaseStepRow(T0_MS + 5 * MIN_MS, "dispatch", "dispatched", "sanitation", 0, "li",
                        "district_operator", "请环卫清运"),
            CaseStepRow(T0_MS + 10 * MIN_MS, "accept", "accepted", "", 0, "li",
                        "district_operator", ""),
        ]
    }  # fmt: skip


def _fake_rollups() -> list[DistrictRollup]:
    t = FAKE_T0 + timedelta(minutes=29)
    return [
        DistrictRollup("D1", "pm25", t, 120, 35.0, 12.0, 80.0),
        DistrictRollup("D2", "pm25", t, 100, 75.5, 30.0, 160.0),
        DistrictRollup("D3", "pm25", t - timedelta(minutes=2), 90, 20.0, 5.0, 41.0),
        DistrictRollup("D1", "water_level", t, 60, 3.4, 3.1, 3.9),
    ]


def _fake_rates() -> list[RatePoint]:
    return [RatePoint(FAKE_T0 + timedelta(minutes=m), 6000 + 30 * m) for m in range(30)]


def _fake_dead_letters() -> DeadLetterCounts:
    return DeadLetterCounts(7, (("out_of_range", 4), ("bad_json", 2), ("unknown_source", 1)))


def _fake_quality() -> list[QualityRow]:
    newest = T0_MS + 29 * MIN_MS
    return [
        QualityRow("water", "D1", 10, 20.0, 19.0, newest, 1140, 6),
        QualityRow("environment", "D1", 5, 30.0, 12.0, newest - 20 * MIN_MS, 700, 0),
        QualityRow("power", "D2", 4, 16.0, 16.0, newest, 960, 40),
    ]


def _fake_catalog() -> list[CatalogEntry]:
    """Every family's default entry, and two versions of WAT-0001's own entry (the
    newest, by engineer ana, is in force)."""
    entries = [
        family_entry(family, 300 if family is Family.WATER else 60, f"citybrain.{family}", T0_MS)
        for family in Family
    ]
    water = next(e for e in entries if e.family == Family.WATER)
    older = replace(
        source_override(water, "WAT-0001", 300), author="cli:li", changed_ms=T0_MS + MIN_MS,
        version=T0_MS + MIN_MS, promise=Promise(1800, 90.0, 600),
    )  # fmt: skip
    newer = replace(
        older, department="urban_management", author="cli:ana", changed_ms=T0_MS + 2 * MIN_MS,
        version=T0_MS + 2 * MIN_MS, promise=Promise(3600, 99.0, 900),
    )  # fmt: skip
    return [*entries, older, newer]


def _fake_source_quality() -> list[QualityRow]:
    """WAT-0001 alone (QualityRow.district holds the source id): fresh, 1 of 2 readings."""
    return [QualityRow("water", "WAT-0001", 1, 0.2, 0.1, T0_MS + 29 * MIN_MS, 6, 0)]


def _fake_stages() -> list[StageChange]:
    return [
        # the worker's words: codes, said in the viewer's language where shown
        StageChange("district", "D1", T0_MS + MIN_MS, 4, 1, "stage 4: 1 water_level alert in D1"),
        StageChange("city", "CB", T0_MS + 4 * MIN_MS, 5, 4, "stage 5: 2 load alerts in CB"),
    ]


def fake_score(
    level: str, code: str, indicator: Indicator, at_ms: int, value: float | None
) -> Score:
    """An indicator row as the worker writes it: every component scored ``value`` (so the
    indicator's score is ``value``), the last one not judged."""
    specs = specs_of(indicator)
    parts = tuple(
        Component(s.name, None if value is None or i == len(specs) - 1 else value, s.unit,
                  None if value is None or i == len(specs) - 1 else value, s.weight)
        for i, s in enumerate(specs)
    )  # fmt: skip
    return Score(AreaLevel(level), code, indicator, at_ms, value, parts)


def fake_value(k: int, j: int) -> float:
    """The fake score of the k-th area's j-th indicator: 30-99, distinct enough to order."""
    return float(30 + (k * 7 + j * 11) % 70)


def _fake_minutes() -> list[Score]:
    """Five complete minutes (T0+25 .. T0+29) of every area, and a newest minute (T0+30)
    still partial: only the data indicator written. Cell D1-S1-G02 has no service judged."""
    found = []
    for k, area in enumerate(_fake_areas()):
        for j, indicator in enumerate(INDICATORS):
            for m in range(25, 31):
                if m == 30 and indicator is not Indicator.DATA:
                    continue
                value = None if (area.code, indicator) == ("D1-S1-G02", Indicator.SERVICE) else (
                    fake_value(k, j) - (29 - m if m < 30 else 0))  # fmt: skip
                found.append(
                    fake_score(area.level, area.code, indicator, T0_MS + m * MIN_MS, value)
                )
    return found


def _fake_hours() -> list[Score]:
    """Three hours (T0-3h .. T0-1h) of every area."""
    return [
        fake_score(area.level, area.code, indicator, T0_MS - h * 3_600_000, fake_value(k, j) - h)
        for k, area in enumerate(_fake_areas())
        for j, indicator in enumerate(INDICATORS)
        for h in (3, 2, 1)
    ]


@dataclass
class FakeQueries:
    """Canned answers for tests; ``error`` makes every method raise it."""

    shapes: CityShapes = field(
        default_factory=lambda: CityShapes(
            _fake_areas()[0], tuple(a for a in _fake_areas() if a.level == "district")
        )
    )
    rollups: Sequence[DistrictRollup] = field(default_factory=_fake_rollups)
    rates: Sequence[RatePoint] = field(default_factory=_fake_rates)
    dead_letters: DeadLetterCounts = field(default_factory=_fake_dead_letters)
    error: Exception | None = None
    areas: tuple[Area, ...] = field(default_factory=_fake_areas)
    alerts: list[AlertRow] = field(default_factory=_fake_alerts)
    trail: list[AlertEventRow] = field(default_factory=_fake_trail)
    stages: list[StageChange] = field(default_factory=_fake_stages)
    sensors: list[SensorInfo] = field(default_factory=_fake_sensors)
    series: list[SeriesPoint] = field(default_factory=_fake_series)
    cases: list[CaseRow] = field(default_factory=_fake_cases)
    case_steps: dict[str, list[CaseStepRow]] = field(default_factory=_fake_case_steps)
    quality: list[QualityRow] = field(default_factory=_fake_quality)
    access: list[AccessEvent] = field(default_factory=list)
    silenced: list[SilenceRow] = field(default_factory=list)
    drills: list[DrillRow] = field(default_factory=list)
    catalog_versions: list[CatalogEntry] = field(default_factory=_fake_catalog)
    department_versions: list[Department] = field(default_factory=lambda: list(DEFAULT_DEPARTMENTS))
    source_qualities: list[QualityRow] = field(default_factory=_fake_source_quality)
    score_minutes: list[Score] = field(default_factory=_fake_minutes)
    score_hours: list[Score] = field(default_factory=_fake_hours)

    @classmethod
    def empty(cls) -> FakeQueries:
        """A data source that answers but holds nothing yet."""
        return cls(
            CityShapes(None, ()),
            [],
            [],
            DeadLetterCounts(0, ()),
            None,
            (),
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            catalog_versions=[],
            department_versions=[],
            source_qualities=[],
            score_minutes=[],
            score_hours=[],
        )

    def district_shapes(self, scope: Scope) -> CityShapes:
        self._fail()
        districts = tuple(d for d in self.shapes.districts if scope.allows_district(d.code))
        return replace(self.shapes, districts=districts)

    def latest_district_rollups(self, scope: Scope, minutes: int = 10) -> list[DistrictRollup]:
        self._fail()
        return [r for r in self.rollups if scope.allows_district(r.district)]

    def event_rate(self, scope: Scope, minutes: int = 30) -> list[RatePoint]:
        self._fail()
        return list(self.rates)

    def dead_letter_counts(self, scope: Scope) -> DeadLetterCounts:
        self._fail()
        return self.dead_letters

    def area_tree(self, scope: Scope) -> AreaTree:
        self._fail()
        everything = AreaTree(self.areas)
        kept = [
            a
            for a in self.areas
            if a.level == "city" or scope.allows_district(everything.district_of(a.code))
        ]
        return AreaTree(tuple(kept))

    def area(self, scope: Scope, level: str, code: str) -> Area:
        self._fail()
        everything = AreaTree(self.areas)
        if level == "city":
            if not scope.city_wide:
                raise ScopeError("city", "", scope.district)
            city = next(iter(everything.of_level("city")), None)
            if city is None:
                raise NotFound("city", code)
            return city
        area = everything.get(code)
        if area is None or area.level != level:
            raise NotFound(level, code)
        scope.require_district(everything.district_of(code), level, code)
        return area

    def area_alerts(
        self,
        scope: Scope,
        level: str,
        code: str,
        statuses: Sequence[str] = ACTIVE_STATUSES,
        limit: int = 5000,
    ) -> list[AlertRow]:
        area = self.area(scope, level, code)
        found = [a for a in self._scoped(scope) if a.status in statuses and a.subject == "alert"]
        return _ordered([a for a in found if a.place.code(level) == area.code])[:limit]

    def sensor_cells(self, scope: Scope, level: str, code: str) -> list[SensorCell]:
        area = self.area(scope, level, code)
        tree = self.area_tree(scope)
        cells: dict[str, list[SensorInfo]] = {}
        for s in self.sensors:
            if s.place.code(level) == area.code and scope.allows_district(s.place.district):
                cells.setdefault(s.place.grid, []).append(s)
        result = []
        for grid, members in sorted(cells.items()):
            cell = tree.get(grid)
            lon, lat = cell.centroid if cell else (0.0, 0.0)
            families = sorted({m.family for m in members})
            counts = tuple((f, sum(1 for m in members if m.family == f)) for f in families)
            result.append(SensorCell(grid, lon, lat, len(members), counts))
        return result

    def cell_sensors(self, scope: Scope, grid: str) -> list[SensorInfo]:
        self.area(scope, "grid", grid)
        return [s for s in self.sensors if s.place.grid == grid]

    def stage_history(
        self, scope: Scope, level: str, code: str, limit: int = 20
    ) -> list[StageChange]:
        area = self.area(scope, level, code)
        found = [s for s in self.stages if s.level == level and s.code == area.code]
        return sorted(found, key=lambda s: -s.ts_ms)[:limit]

    def latest_stages(
        self, scope: Scope, level: str, codes: Sequence[str]
    ) -> dict[str, StageChange]:
        self._fail()
        tree = self.area_tree(scope)
        latest: dict[str, StageChange] = {}
        for s in sorted(self.stages, key=lambda s: s.ts_ms):
            if s.level == level and s.code in codes and tree.get(s.code):
                latest[s.code] = s
        return latest

    def area_rate(self, scope: Scope, level: str, code: str, minutes: int = 30) -> list[RatePoint]:
        self.area(scope, level, code)
        return list(self.rates)[-minutes:]

    def area_cases(
        self, scope: Scope, level: str, code: str, open_only: bool = True, limit: int = 2000
    ) -> CaseList:
        area = self.area(scope, level, code)
        found = [
            c
            for c in self.cases
            if c.place.code(level) == area.code
            and scope.allows_district(c.place.district)
            and (not open_only or c.last_status != "evaluated")
        ]
        return CaseList(self.case_clock(scope), tuple(found[:limit]))

    def case(self, scope: Scope, case_id: str) -> CaseRow | None:
        self._fail()
        return next(
            (
                c
                for c in self.cases
                if c.case_id == case_id and scope.allows_district(c.place.district)
            ),
            None,
        )

    def case_clock(self, scope: Scope) -> int:
        self._fail()
        return max((c.last_ms for c in self.cases), default=0) + 45 * MIN_MS if self.cases else 0

    def console_alerts(
        self, scope: Scope, statuses: Sequence[str], limit: int = 200
    ) -> list[AlertRow]:
        return _ordered([a for a in self._scoped(scope) if a.status in statuses])[:limit]

    def active_drills(self, scope: Scope, now_ms: int, grace_ms: int = 0) -> list[DrillRow]:
        self._fail()
        return [
            d for d in self.drills
            if scope.allows_district(d.place.district)
            and d.start_ms <= now_ms < d.end_ms + grace_ms
        ]  # fmt: skip

    def alarms(self, scope: Scope) -> list[AlertRow]:
        return _ordered([a for a in self._scoped(scope) if a.alarming])

    def alert(self, scope: Scope, alert_id: str) -> AlertRow | None:
        return next((a for a in self._scoped(scope) if a.alert_id == alert_id), None)

    def alert_trail(self, scope: Scope, alert_id: str) -> list[AlertEventRow]:
        if self.alert(scope, alert_id) is None:
            return []
        return [e for e in self.trail if alert_id in (e.alert_id, e.incident_id)]

    def sensor(self, scope: Scope, source_id: str) -> SensorInfo | None:
        self._fail()
        return next(
            (
                s
                for s in self.sensors
                if s.source_id == source_id and scope.allows_district(s.place.district)
            ),
            None,
        )

    def sensor_series(self, scope: Scope, source_id: str, hours: float = 3.0) -> list[SeriesPoint]:
        info = self.sensor(scope, source_id)
        return [p for p in self.series if info and p.metric in info.metrics]

    def sensor_alerts(self, scope: Scope, source_id: str, since_ms: int) -> list[AlertRow]:
        return [a for a in self._scoped(scope) if a.source_id == source_id]

    def data_quality(self, scope: Scope, minutes: int = 10) -> list[QualityRow]:
        self._fail()
        return [q for q in self.quality if scope.allows_district(q.district)]

    def source_quality(
        self, scope: Scope, families: Sequence[str], source_ids: Sequence[str], minutes: int = 10
    ) -> list[QualityRow]:
        self._fail()
        placed = {s.source_id: s.place.district for s in self.sensors}
        return [
            q for q in self.source_qualities
            if q.district in source_ids and scope.allows_district(placed.get(q.district, ""))
        ]  # fmt: skip

    def catalog(self, scope: Scope) -> list[CatalogEntry]:
        self._fail()
        return list(self.catalog_versions)

    def departments(self, scope: Scope) -> list[Department]:
        self._fail()
        return list(self.department_versions)

    def _scoped(self, scope: Scope) -> list[AlertRow]:
        self._fail()
        return [a for a in self.alerts if scope.allows_district(a.place.district)]

    def access_events(self, scope: Scope, limit: int = 200) -> list[AccessEvent]:
        self._fail()
        found = [e for e in self.access if scope.allows_district(e.district)]
        return sorted(found, key=lambda e: -e.ts_ms)[:limit]

    def case_trail(self, scope: Scope, case_id: str) -> list[CaseStepRow]:
        self._fail()
        return list(self.case_steps.get(case_id, [])) if self.case(scope, case_id) else []

    def silences(self, scope: Scope, limit: int = 200) -> list[SilenceRow]:
        self._fail()
        found = [s for s in self.silenced if s.district in ("", scope.district) or scope.city_wide]
        return sorted(found, key=lambda s: (-s.created_ms, s.silence_id))[:limit]

    def area_marks(
        self, scope: Scope, level: str, code: str, since_ms: int, limit: int = 500
    ) -> list[AlertRow]:
        area = self.area(scope, level, code)
        found = [
            a for a in self._scoped(scope) if a.place.code(level) == area.code
            and a.opened_ms >= since_ms
        ]  # fmt: skip
        return sorted(found, key=lambda a: (-a.opened_ms, a.alert_id))[:limit]

    def scorecard(self, scope: Scope, level: str, code: str, worst: int = 5) -> Scorecard:
        area = self.area(scope, level, code)
        mine = [s for s in self.score_minutes if (s.level, s.code) == (level, area.code)]
        if not mine:
            return Scorecard(0)
        newest = max(s.window_start_ms for s in mine)
        counts = Counter(s.window_start_ms for s in mine if s.window_start_ms >= newest - 600_000)
        minute = max(counts, key=lambda at: (counts[at], at))
        tree = self.area_tree(scope)
        children = {a.code for a in tree.children(area.code)}
        cells = {a.code for a in tree.descendants(area.code, "grid")} if level != "grid" else set()
        at = [replace(s, window_start_ms=0) for s in self.score_minutes
              if s.window_start_ms == minute]  # fmt: skip
        lowest = sorted((s for s in at if s.code in cells and s.score is not None),
                        key=lambda s: (s.indicator.value, s.score, s.code))  # fmt: skip
        hours = [s for s in self.score_hours if (s.level, s.code) == (level, area.code)]
        return Scorecard(
            minute // 1000,
            tuple(s for s in at if (s.level, s.code) == (level, area.code)),
            tuple(s for s in at if s.code in children),
            tuple(s for s in lowest if [x.indicator for x in lowest[: lowest.index(s)]]
                  .count(s.indicator) < worst),
            trend_of((s.indicator, s.window_start_ms // 1000, s.score) for s in mine
                     if minute - 86_400_000 < s.window_start_ms <= minute),
            trend_of((s.indicator, s.window_start_ms // 1000, s.score) for s in hours
                     if s.window_start_ms <= minute),
        )  # fmt: skip

    def _fail(self) -> None:
        if self.error is not None:
            raise self.error


def _ordered(alerts: list[AlertRow]) -> list[AlertRow]:
    """Most severe first, then newest (the SQL's order)."""
    return sorted(alerts, key=lambda a: (-(a.level or 0), -a.opened_ms, a.alert_id))


def walk(component: Any) -> Iterator[Any]:
    """Every component in a Dash tree, depth first."""
    yield component
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for child in children:
            yield from walk(child)
    elif children is not None and not isinstance(children, str | int | float):
        yield from walk(children)
