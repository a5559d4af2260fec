"""Event families, metrics and their wire format: the contract every process shares.

A sensor reading on the wire is one JSON object::

    {"event_id": "5b0c...", "schema_version": 1, "ts": 1764115200000,
     "family": "water", "source_id": "WAT-0007", "metric": "water_level",
     "value": 3.42, "city": "CB", "district": "D1", "street": "D1-S2", "grid": "D1-S2-G03"}

``ts`` is the event time in epoch milliseconds (UTC). A grid-management case report
carries ``case_id``, ``category``, ``status`` and the location codes instead of a metric
and value. The wire form (field names and types, encoders, decode) lives in
:mod:`detectors.contract.wire`, validation in :mod:`detectors.contract.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from detectors.contract.places import LEVELS as LEVELS  # re-exported: the place hierarchy
from detectors.contract.places import Location as Location

SCHEMA_VERSION = 1


class Family(StrEnum):
    """An event family; each has its own Kafka topic."""

    ENVIRONMENT = "environment"
    TRAFFIC = "traffic"
    WATER = "water"
    POWER = "power"
    CASE = "case"


SENSOR_FAMILIES: tuple[Family, ...] = (
    Family.ENVIRONMENT,
    Family.TRAFFIC,
    Family.WATER,
    Family.POWER,
)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A measured quantity: its family, unit and the physically plausible range.

    Values outside ``[low, high]`` cannot come from a working sensor and are rejected
    as ``out_of_range``; warning limits are a detector's business, not validation's.
    """

    name: str
    family: Family
    unit: str
    low: float
    high: float


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("pm25", Family.ENVIRONMENT, "ug/m3", 0.0, 1000.0),
        MetricSpec("pm10", Family.ENVIRONMENT, "ug/m3", 0.0, 2000.0),
        MetricSpec("no2", Family.ENVIRONMENT, "ug/m3", 0.0, 3000.0),
        MetricSpec("o3", Family.ENVIRONMENT, "ug/m3", 0.0, 2000.0),
        MetricSpec("noise", Family.ENVIRONMENT, "dB(A)", 10.0, 150.0),
        MetricSpec("temperature", Family.ENVIRONMENT, "degC", -50.0, 60.0),
        MetricSpec("humidity", Family.ENVIRONMENT, "%", 0.0, 100.0),
        MetricSpec("flow", Family.TRAFFIC, "veh/h", 0.0, 12000.0),
        MetricSpec("speed", Family.TRAFFIC, "km/h", 0.0, 200.0),
        MetricSpec("occupancy", Family.TRAFFIC, "%", 0.0, 100.0),
        MetricSpec("signal_fault", Family.TRAFFIC, "flag", 0.0, 1.0),
        MetricSpec("water_level", Family.WATER, "m", -10.0, 100.0),
        MetricSpec("rainfall", Family.WATER, "mm/5min", 0.0, 200.0),
        MetricSpec("pipe_level", Family.WATER, "%", 0.0, 100.0),
        MetricSpec("main_pressure", Family.WATER, "MPa", 0.0, 2.0),
        MetricSpec("load", Family.POWER, "%", 0.0, 300.0),
        MetricSpec("voltage", Family.POWER, "kV", 0.0, 40.0),
        MetricSpec("frequency", Family.POWER, "Hz", 45.0, 55.0),
        MetricSpec("breaker_open", Family.POWER, "flag", 0.0, 1.0),
        MetricSpec("case_reports", Family.CASE, "reports", 0.0, 1.0),
    )
}

CASE_CATEGORIES: tuple[str, ...] = (
    "road_damage",
    "illegal_parking",
    "garbage",
    "manhole_cover",
    "waterlogging",
    "noise_complaint",
    "street_light",
    "illegal_construction",
)

CASE_STATUSES: tuple[str, ...] = (
    "filed",
    "dispatched",
    "accepted",
    "handled",
    "verified",
    "closed",
    "evaluated",
)

CASE_SENT_BACK = "sent_back"
"""A detour, not a step: verification failed and the case went back to its department."""

CASE_STEP_STATUSES: tuple[str, ...] = (*CASE_STATUSES, CASE_SENT_BACK)
"""Every status a case event may carry: the lifecycle in order, then the detour."""

CASE_METRIC = "case_reports"
"""Case reports roll up as a count under this metric name."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A validated sensor reading."""

    event_id: str
    ts_ms: int
    family: Family
    source_id: str
    metric: str
    value: float
    location: Location


@dataclass(frozen=True, slots=True)
class CaseReport:
    """A validated grid-management case event (a report or a lifecycle step)."""

    event_id: str
    ts_ms: int
    case_id: str
    category: str
    status: str
    source_id: str
    location: Location
    lon: float
    lat: float
    text: str
    photo_ref: str


@dataclass(frozen=True, slots=True)
class Source:
    """A registered event source (sensor, asset or case reporter) and where it sits."""

    source_id: str
    family: Family
    kind: str
    metrics: frozenset[str]
    location: Location
    lon: float
    lat: float
    cadence_s: int

    @property
    def per_minute(self) -> float:
        """Readings a minute the source sends: one per metric every ``cadence_s`` (the
        data-quality page's SQL says the same: ``length(metrics) * 60 / cadence_s``)."""
        return len(self.metrics) * 60 / max(1, self.cadence_s)
