"""Prometheus metrics of the command center, and a Queries wrapper that records them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from dashboard.model import (
    ACTIVE_STATUSES,
    AlertEventRow,
    AlertRow,
    AreaTree,
    CaseList,
    CaseRow,
    CityShapes,
    DeadLetterCounts,
    DistrictRollup,
    NotFound,
    QualityRow,
    RatePoint,
    SensorCell,
    SensorInfo,
    SeriesPoint,
    StageChange,
)
from dashboard.queries import Queries
from dashboard.scope import Scope, ScopeError
from detectors.contract.city import Area

T = TypeVar("T")


class DashboardMetrics:
    """How long each dashboard query takes and how often it fails."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.query_seconds = Histogram(
            "citybrain_dashboard_query_seconds",
            "Time to answer one dashboard query.",
            ["query"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.query_errors = Counter(
            "citybrain_dashboard_query_errors_total",
            "Dashboard queries that failed (the page showed 'data source unavailable').",
            ["query"],
            registry=registry,
        )


class InstrumentedQueries:
    """Any Queries, timed and with failures counted per query name."""

    def __init__(self, inner: Queries, metrics: DashboardMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def district_shapes(self, scope: Scope) -> CityShapes:
        return self._timed("district_shapes", lambda: self.inner.district_shapes(scope))

    def latest_district_rollups(self, scope: Scope, minutes: int = 10) -> list[DistrictRollup]:
        return self._timed(
            "latest_district_rollups", lambda: self.inner.latest_district_rollups(scope, minutes)
        )

    def event_rate(self, scope: Scope, minutes: int = 30) -> list[RatePoint]:
        return self._timed("event_rate", lambda: self.inner.event_rate(scope, minutes))

    def dead_letter_counts(self, scope: Scope) -> DeadLetterCounts:
        return self._timed("dead_letter_counts", lambda: self.inner.dead_letter_counts(scope))

    def area_tree(self, scope: Scope) -> AreaTree:
        return self._timed("area_tree", lambda: self.inner.area_tree(scope))

    def area(self, scope: Scope, level: str, code: str) -> Area:
        return self._timed("area", lambda: self.inner.area(scope, level, code))

    def area_alerts(
        self,
        scope: Scope,
        level: str,
        code: str,
        statuses: Sequence[str] = ACTIVE_STATUSES,
        limit: int = 5000,
    ) -> list[AlertRow]:
        return self._timed(
            "area_alerts", lambda: self.inner.area_alerts(scope, level, code, statuses, limit)
        )

    def sensor_cells(self, scope: Scope, level: str, code: str) -> list[SensorCell]:
        return self._timed("sensor_cells", lambda: self.inner.sensor_cells(scope, level, code))

    def cell_sensors(self, scope: Scope, grid: str) -> list[SensorInfo]:
        return self._timed("cell_sensors", lambda: self.inner.cell_sensors(scope, grid))

    def stage_history(
        self, scope: Scope, level: str, code: str, limit: int = 20
    ) -> list[StageChange]:
        return self._timed(
            "stage_history", lambda: self.inner.stage_history(scope, level, code, limit)
        )

    def latest_stages(
        self, scope: Scope, level: str, codes: Sequence[str]
    ) -> dict[str, StageChange]:
        return self._timed("latest_stages", lambda: self.inner.latest_stages(scope, level, codes))

    def area_rate(self, scope: Scope, level: str, code: str, minutes: int = 30) -> list[RatePoint]:
        return self._timed("area_rate", lambda: self.inner.area_rate(scope, level, code, minutes))

    def area_cases(
        self, scope: Scope, level: str, code: str, open_only: bool = True, limit: int = 2000
    ) -> CaseList:
        return self._timed(
            "area_cases", lambda: self.inner.area_cases(scope, level, code, open_only, limit)
        )

    def case(self, scope: Scope, case_id: str) -> CaseRow | None:
        return self._timed("case", lambda: self.inner.case(scope, case_id))

    def case_clock(self, scope: Scope) -> int:
        return self._timed("case_clock", lambda: self.inner.case_clock(scope))

    def console_alerts(
        self, scope: Scope, statuses: Sequence[str], limit: int = 200
    ) -> list[AlertRow]:
        return self._timed(
            "console_alerts", lambda: self.inner.console_alerts(scope, statuses, limit)
        )

    def alarms(self, scope: Scope) -> list[AlertRow]:
        return self._timed("alarms", lambda: self.inner.alarms(scope))

    def alert(self, scope: Scope, alert_id: str) -> AlertRow | None:
        return self._timed("alert", lambda: self.inner.alert(scope, alert_id))

    def alert_trail(self, scope: Scope, alert_id: str) -> list[AlertEventRow]:
        return self._timed("alert_trail", lambda: self.inner.alert_trail(scope, alert_id))

    def sensor(self, scope: Scope, source_id: str) -> SensorInfo | None:
        return self._timed("sensor", lambda: self.inner.sensor(scope, source_id))

    def sensor_series(self, scope: Scope, source_id: str, hours: float = 3.0) -> list[SeriesPoint]:
        return self._timed(
            "sensor_series", lambda: self.inner.sensor_series(scope, source_id, hours)
        )

    def sensor_alerts(self, scope: Scope, source_id: str, since_ms: int) -> list[AlertRow]:
        return self._timed(
            "sensor_alerts", lambda: self.inner.sensor_alerts(scope, source_id, since_ms)
        )

    def data_quality(self, scope: Scope, minutes: int = 10) -> list[QualityRow]:
        return self._timed("data_quality", lambda: self.inner.data_quality(scope, minutes))

    def _timed(self, name: str, query: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return query()
        except (ScopeError, NotFound):
            raise  # a refused or unknown request is an answer, not a failure
        except Exception:
            self.metrics.query_errors.labels(query=name).inc()
            raise
        finally:
            self.metrics.query_seconds.labels(query=name).observe(time.perf_counter() - started)
