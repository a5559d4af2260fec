"""Prometheus metrics of the command center, and a Queries wrapper that records them."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, cast

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from dashboard.model import NotFound
from dashboard.query_protocol import QUERY_NAMES, Queries
from dashboard.scope import ScopeError


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
    """Any Queries, timed and with failures counted per query name: every query the
    protocol declares (:data:`QUERY_NAMES`) is wrapped, none by hand."""

    def __init__(self, inner: Queries, metrics: DashboardMetrics) -> None:
        self.inner = inner
        self.metrics = metrics
        for name in QUERY_NAMES:
            setattr(self, name, self._timed(name, getattr(inner, name)))

    def _timed(self, name: str, query: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(query)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return query(*args, **kwargs)
            except (ScopeError, NotFound):
                raise  # a refused or unknown request is an answer, not a failure
            except Exception:
                self.metrics.query_errors.labels(query=name).inc()
                raise
            finally:
                self.metrics.query_seconds.labels(query=name).observe(time.perf_counter() - started)

        return timed


def instrumented(inner: Queries, metrics: DashboardMetrics) -> Queries:
    """``inner`` with every query timed: an InstrumentedQueries, typed as the Queries it
    is (its methods are made from the protocol at run time, so no checker can see them)."""
    return cast(Queries, InstrumentedQueries(inner, metrics))
