"""Sources as the detectors see them: kind, metrics, place, cadence, neighbour group and
reference limits. Kept apart so that the simulator can read scenarios without loading the
detectors themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.contract.events import CASE_METRIC, Location, Source

Reading = tuple[int, str, str, float]  # ts_ms, source_id, metric, value


@dataclass(frozen=True, slots=True)
class Site:
    """A source as the detectors need it: kind, metrics, place, cadence, neighbour group
    (default: its street) and reference limits (river gauges' warning levels...)."""

    source_id: str
    kind: str
    metrics: tuple[str, ...]
    location: Location
    cadence_s: int
    group: str = ""
    limits: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, source: Source, group: str = "", limits: Mapping[str, float] | None = None) -> Site:
        metrics = tuple(sorted(source.metrics))
        return cls(
            source.source_id,
            source.kind,
            metrics,
            source.location,
            source.cadence_s,
            group,
            limits or {},
        )

    @property
    def neighbourhood(self) -> str:
        return self.group or self.location.street


def case_stream(location: Location, category: str) -> Site:
    """The pseudo-source whose readings are one grid cell's reports of one category."""
    return Site(
        f"cases:{location.grid}:{category}", "case_stream", (CASE_METRIC,), location, 86_400
    )
