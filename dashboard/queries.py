"""What the command center reads from ClickHouse: the provider of :class:`Queries`.

Every query takes the viewer's :class:`~dashboard.scope.Scope` and filters in SQL, and a
query asked about an area outside the scope raises ScopeError instead of answering: the
scope holds where the data is read, not only in the page. Every value reaches the server
as a parameter, never spliced into the SQL text.

A query that is one SELECT is one line here (a :class:`~dashboard.selects.Select` of its
SQL in :mod:`dashboard.sql` and its row mapper in :mod:`dashboard.rows`); the queries
below it need several statements. Every query runs on every refresh, so each reads only
the newest slice of a table: the roll-up queries find the newest window first (from the
newest day partition), then read a few minutes before it by primary key. "Newest" is event
time, never the wall clock, so a replay of past data shows as live.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from clickhouse_driver import Client

from dashboard import rows, sql
from dashboard.model import (
    AlertEventRow,
    AreaTree,
    CaseList,
    CityShapes,
    DeadLetterCounts,
    DistrictRollup,
    NotFound,
    QualityRow,
    QueryError,
    RatePoint,
    Scorecard,
    SensorCell,
    SensorInfo,
    SeriesPoint,
    StageChange,
    trend_of,
)
from dashboard.pool import ClientPool
from dashboard.query_protocol import QUERY_NAMES, Queries
from dashboard.rows import describe_error, parse_ring
from dashboard.scope import Scope, ScopeError
from dashboard.selects import Row, Select, each, first, first_int
from dashboard.sharing import SharedAnswers
from detectors.contract.alerts import Subject
from detectors.contract.city import Area
from detectors.contract.events import CASE_STATUSES, CASE_STEP_STATUSES
from detectors.contract.places import AreaLevel, child_level
from detectors.contract.tables import (
    CATALOG_HISTORY,
    DEPARTMENT_HISTORY,
    catalog_entry,
    department_of,
)

__all__ = [
    "QUERY_NAMES",
    "CityShapes",
    "ClickHouseQueries",
    "DeadLetterCounts",
    "DistrictRollup",
    "NotFound",
    "Queries",
    "QueryError",
    "RatePoint",
    "describe_error",
    "parse_ring",
]

OPEN_CASE_STATUSES = tuple(s for s in CASE_STEP_STATUSES if s != CASE_STATUSES[-1])
DAY_S = 86_400


class ClickHouseQueries:
    """Queries against the citybrain schema. ``client_factory`` returns a clickhouse-driver
    client whose default database is the citybrain one (``infra.clickhouse.connect``).
    The area tree (reference data) is cached for ``tree_ttl_s`` per scope; an area's cases
    for ``cases_ttl_s`` per scope (0: not kept), since the tier page and the case list of
    every viewer of a district ask for the same thousands of cases on every refresh."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        pool_size: int = 4,
        tree_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        cases_ttl_s: float = 0.0,
    ) -> None:
        self.client_factory = client_factory
        self.pool_size = pool_size
        self.tree_ttl_s = tree_ttl_s
        self.clock = clock
        self._pool = ClientPool(client_factory, pool_size)
        self._trees: dict[str, tuple[float, AreaTree]] = {}
        self._cases = SharedAnswers(cases_ttl_s, clock)

    # The queries that are one SELECT.

    area_alerts = Select(
        sql.AREA_ALERTS, each(rows.alert), in_area=True, fixed={"subjects": (Subject.ALERT.value,)}
    )
    # stage_changes has no district column: the area check is the scope filter.
    stage_history = Select(sql.STAGE_HISTORY, each(rows.stage), in_area=True)
    case = Select(sql.CASE_EVENTS, rows.case_of_events)
    case_clock = Select(sql.CASES_NEWEST, first_int)
    case_trail = Select(sql.CASE_TRAIL, each(rows.case_step))
    console_alerts = Select(sql.CONSOLE_ALERTS, each(rows.alert))
    alarms = Select(sql.ALARMS, each(rows.alert))
    alert = Select(sql.ONE_ALERT, first(rows.alert))
    sensor = Select(sql.ONE_SENSOR, first(rows.sensor))
    sensor_alerts = Select(sql.SENSOR_ALERTS, each(rows.alert))
    access_events = Select(sql.ACCESS_EVENTS, each(rows.access_event))
    silences = Select(sql.SILENCE_LIST, each(rows.silence))
    area_marks = Select(sql.AREA_MARKS, each(rows.alert), in_area=True)
    active_drills = Select(sql.ACTIVE_DRILLS, each(rows.drill))
    catalog = Select(CATALOG_HISTORY, each(catalog_entry))
    departments = Select(DEPARTMENT_HISTORY, each(department_of))

    # The city overview.

    def district_shapes(self, scope: Scope) -> CityShapes:
        params = {"levels": (AreaLevel.CITY.value, AreaLevel.DISTRICT.value), **scope.sql_params()}
        areas = [rows.area(*row) for row in self._execute(sql.SHAPES, params)]
        city = next((a for a in areas if a.level == "city"), None)
        return CityShapes(city, tuple(a for a in areas if a.level == "district"))

    def latest_district_rollups(self, scope: Scope, minutes: int = 10) -> list[DistrictRollup]:
        newest = self._newest_window("district")
        if newest is None:
            return []
        # Each district's newest complete minute: the map coloured by the minute still
        # filling up (a few events against a full minute's) would jump every minute.
        window = rows.complete_window_params("district", newest, minutes)
        params = {**window, **scope.sql_params()}
        return [rows.district_rollup(*row) for row in self._execute(sql.LATEST_ROLLUPS, params)]

    def event_rate(self, scope: Scope, minutes: int = 30) -> list[RatePoint]:
        level = "city" if scope.city_wide else "district"
        newest = self._newest_window(level)
        if newest is None:
            return []
        params = {**rows.window_params(level, newest, minutes), "key": scope.district}
        return [RatePoint(rows.utc(ts), int(n)) for ts, n in self._execute(sql.EVENT_RATE, params)]

    def dead_letter_counts(self, scope: Scope) -> DeadLetterCounts:
        params = {"district_re": sql.DISTRICT_IN_RAW, **scope.sql_params()}
        found = self._execute(sql.DEAD_LETTERS, params)
        by_reason = tuple((str(reason), int(n)) for reason, n in found)
        return DeadLetterCounts(sum(n for _, n in by_reason), by_reason)

    # The tiers: city, district, street, grid cell.

    def area_tree(self, scope: Scope) -> AreaTree:
        now = self.clock()
        cached = self._trees.get(scope.cache_key())
        if cached and now - cached[0] < self.tree_ttl_s:
            return cached[1]
        found = self._execute(sql.AREA_TREE, scope.sql_params())
        tree = AreaTree(tuple(rows.area(*row) for row in found))
        self._trees[scope.cache_key()] = (now, tree)
        return tree

    def area(self, scope: Scope, level: str, code: str) -> Area:
        tree = self.area_tree(scope)
        if level == "city":
            if not scope.city_wide:
                raise ScopeError("city", "", scope.district)
            city = next(iter(tree.of_level("city")), None)
            if city is None or (code and city.code != code):
                raise NotFound("city", code)
            return city
        area = tree.get(code)
        if area is not None and area.level == level:
            return area
        found = self._execute(sql.AREA_DISTRICT, {"level": level, "code": code})
        if found:
            scope.require_district(str(found[0][0]), level, code)
        raise NotFound(level, code)

    def sensor_cells(self, scope: Scope, level: str, code: str) -> list[SensorCell]:
        params = self._area_params(scope, level, code)
        tree = self.area_tree(scope)
        return rows.sensor_cells(self._execute(sql.SENSOR_CELLS, params), tree)

    def cell_sensors(self, scope: Scope, grid: str) -> list[SensorInfo]:
        params = self._area_params(scope, "grid", grid)
        params["grid"] = grid
        return [rows.sensor(*row) for row in self._execute(sql.CELL_SENSORS, params)]

    def latest_stages(
        self, scope: Scope, level: str, codes: Sequence[str]
    ) -> dict[str, StageChange]:
        tree = self.area_tree(scope)
        allowed = tuple(c for c in codes if tree.get(c) is not None)
        if not allowed:
            return {}
        found = self._execute(sql.LATEST_STAGES, {"level": level, "codes": allowed})
        return {str(row[1]): rows.stage(*row) for row in found}

    def area_rate(self, scope: Scope, level: str, code: str, minutes: int = 30) -> list[RatePoint]:
        params = self._area_params(scope, level, code)
        newest = self._newest_area_window(params)
        if newest is None:
            return []
        params.update(since=newest - 60 * (max(minutes, 1) - 1), until=newest)
        return [RatePoint(rows.utc(ts), int(n)) for ts, n in self._execute(sql.AREA_RATE, params)]

    def area_cases(
        self, scope: Scope, level: str, code: str, open_only: bool = True, limit: int = 2000
    ) -> CaseList:
        params = self._area_params(scope, level, code)  # in scope, every time
        key = (scope.cache_key(), level, params["code"], open_only, limit)
        found: CaseList = self._cases.get(
            key, lambda: self._area_cases(scope, params, open_only, limit)
        )
        return found

    def _area_cases(
        self, scope: Scope, params: dict[str, Any], open_only: bool, limit: int
    ) -> CaseList:
        newest = self.case_clock(scope)
        if not newest:
            return CaseList(0, ())
        statuses = OPEN_CASE_STATUSES if open_only else (*OPEN_CASE_STATUSES, "evaluated")
        params.update(since=newest // 1000 - 30 * DAY_S, statuses=statuses, limit=int(limit))
        found = [rows.case(*row) for row in self._execute(sql.AREA_CASES, params)]
        ids = tuple(c.case_id for c in found)
        found_sent = self._execute(sql.CASE_DISPATCHED, {"case_ids": ids}) if ids else []
        sent: dict[str, str] = {str(case_id): str(d) for case_id, d in found_sent}
        return CaseList(newest, tuple(replace(c, dispatched=str(sent.get(c.case_id, "")))
                                      for c in found))  # fmt: skip

    # The alert console and a sensor.

    def alert_trail(self, scope: Scope, alert_id: str) -> list[AlertEventRow]:
        current = self.alert(scope, alert_id)
        if current is None:
            return []
        since = max(current.opened_ms // 1000 - DAY_S, 0)
        params = {"alert_id": alert_id, "since": since, **scope.sql_params()}
        return [rows.alert_event(*row) for row in self._execute(sql.ALERT_TRAIL, params)]

    def sensor_series(self, scope: Scope, source_id: str, hours: float = 3.0) -> list[SeriesPoint]:
        info = self.sensor(scope, source_id)
        if info is None:
            return []
        params = {"family": info.family, "source_id": source_id, **scope.sql_params()}
        newest_ms, count = self._execute(sql.SENSOR_NEWEST, params)[0]
        if not count:
            return []
        params["since"] = int(newest_ms) // 1000 - int(hours * 3600)
        found = self._execute(sql.SENSOR_SERIES, params)
        return [SeriesPoint(str(m), int(ts), float(v)) for m, ts, v in found]

    # Data quality.

    def data_quality(self, scope: Scope, minutes: int = 10) -> list[QualityRow]:
        sources = self._execute(sql.QUALITY_SOURCES, scope.sql_params())
        newest = self._newest_window("district")
        received: list[Row] = []
        last_seen: list[Row] = []
        if newest is not None:
            # Only full minutes: the newest one may still be filling up.
            window = {"recent": newest - 60 * minutes, "hour": newest - 3600, "until": newest}
            received = self._execute(sql.QUALITY_RECEIVED, {**window, **scope.sql_params()})
            since = {"since": newest - DAY_S, **scope.sql_params()}
            last_seen = self._execute(sql.QUALITY_LAST_SEEN, since)
        dead_newest, dead_count = self._execute(sql.DEAD_NEWEST)[0]
        dead: list[Row] = []
        if dead_count:
            since = {"since": int(dead_newest) - 3600, "district_re": sql.DISTRICT_IN_RAW}
            dead = self._execute(sql.QUALITY_DEAD, {**since, **scope.sql_params()})
        return rows.quality(sources, received, last_seen, dead, minutes)

    def source_quality(
        self, scope: Scope, families: Sequence[str], source_ids: Sequence[str], minutes: int = 10
    ) -> list[QualityRow]:
        if not source_ids:
            return []
        chosen = {"families": tuple(families), "source_ids": tuple(source_ids)}
        sources = self._execute(sql.SOURCE_QUALITY_REGISTRY, {**chosen, **scope.sql_params()})
        newest = self._newest_window("district")
        if newest is None or not sources:
            return rows.quality(sources, [], [], [], minutes)
        # The same window as data_quality's, so a source and its family are judged alike.
        window = {"recent": newest - 60 * minutes, "hour": newest - 3600, "until": newest}
        params = {**chosen, **scope.sql_params()}
        received = self._execute(sql.SOURCE_QUALITY_RECEIVED, {**window, **params})
        last_seen = self._execute(sql.SOURCE_LAST_SEEN, {"since": newest - DAY_S, **params})
        return rows.quality(sources, received, last_seen, [], minutes)

    # The scorecard.

    def scorecard(self, scope: Scope, level: str, code: str, worst: int = 5) -> Scorecard:
        params = self._area_params(scope, level, code)
        found = self._execute(sql.SCORE_MINUTE, params)
        if not found:
            return Scorecard(0)
        minute = int(found[0][0])
        tree = self.area_tree(scope)
        children = tuple(a.code for a in tree.children(params["code"])) or ("",)
        cells = tuple(a.code for a in tree.descendants(params["code"], AreaLevel.GRID))
        now = self._execute(
            sql.SCORES_AT,
            {**params, "minute": minute, "below": child_level(level) or "", "children": children},
        )
        lowest = (
            self._execute(sql.WORST_CELLS, {"cells": cells, "minute": minute, "worst": int(worst)})
            if level != AreaLevel.GRID and cells
            else []
        )
        trends = []
        for text, span in ((sql.SCORE_TREND_1M, DAY_S), (sql.SCORE_TREND_1H, 30 * DAY_S)):
            found = self._execute(text, {**params, "until": minute, "span": span})
            trends.append(trend_of((i, at, None if v < 0 else v) for i, at, v in found))
        mine = [rows.score(*row) for row in now]
        return Scorecard(
            minute,
            tuple(s for s in mine if s.level == level),
            tuple(s for s in mine if s.level != level),
            tuple(rows.score(*row) for row in lowest),
            *trends,
        )

    # Helpers.

    def _area_params(self, scope: Scope, level: str, code: str) -> dict[str, Any]:
        """Check the area is in scope (ScopeError, NotFound), then the SQL parameters."""
        area = self.area(scope, level, code)
        return {"level": level, "code": area.code, **scope.sql_params()}

    def _newest_area_window(self, params: dict[str, Any]) -> int | None:
        day = self._execute(sql.NEWEST_DAY)[0][0]
        for since in (rows.day_start(day), 0):
            found = self._execute(sql.AREA_NEWEST_WINDOW, {**params, "since": since})
            newest, count = found[0]
            if count:
                return int(newest)
        return None

    def _newest_window(self, level: str) -> int | None:
        """Epoch seconds of the newest window at ``level``: looked up in the newest day
        partition first, so the usual case reads one day, not the whole table."""
        day = self._execute(sql.NEWEST_DAY)[0][0]
        for since in (rows.day_start(day), 0):
            newest, count = self._execute(sql.NEWEST_WINDOW, {"level": level, "since": since})[0]
            if count:
                return int(newest)
        return None

    def _execute(self, text: str, params: dict[str, Any] | None = None) -> list[Row]:
        return self._pool.execute(text, params)
