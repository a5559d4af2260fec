"""Prometheus metrics of the command center, and a Queries wrapper that records them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from dashboard.queries import CityShapes, DeadLetterCounts, DistrictRollup, Queries, RatePoint

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

    def district_shapes(self) -> CityShapes:
        return self._timed("district_shapes", self.inner.district_shapes)

    def latest_district_rollups(self, minutes: int = 10) -> list[DistrictRollup]:
        return self._timed(
            "latest_district_rollups", lambda: self.inner.latest_district_rollups(minutes)
        )

    def event_rate(self, minutes: int = 30) -> list[RatePoint]:
        return self._timed("event_rate", lambda: self.inner.event_rate(minutes))

    def dead_letter_counts(self) -> DeadLetterCounts:
        return self._timed("dead_letter_counts", self.inner.dead_letter_counts)

    def _timed(self, name: str, query: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return query()
        except Exception:
            self.metrics.query_errors.labels(query=name).inc()
            raise
        finally:
            self.metrics.query_seconds.labels(query=name).observe(time.perf_counter() - started)
