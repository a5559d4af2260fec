"""Which detectors each kind of series runs, with parameters scaled to its cadence.

The worker keeps one bank per (source id, metric); :func:`bank_for` builds it from the
source's kind, the metric, its cadence and its site limits. :func:`default_bank` is the
combination for a metric nobody described.

>>> [m["label"] for m in bank_for("rain_gauge", "rainfall", cadence_s=300).members]
['rainstorm', 'silent']
>>> [m["label"] for m in default_bank(cadence_s=60).members]
['robust_z', 'ewma', 'cusum', 'silent']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.contract.events import CASE_METRIC, METRICS
from detectors.scoring.bank import Bank
from detectors.scoring.base import BaseDetector
from detectors.scoring.bursts import CaseBurst
from detectors.scoring.control import Cusum, EwmaChart
from detectors.scoring.forecast import ForecastWarning
from detectors.scoring.health import SilentSensor, StuckSensor
from detectors.scoring.limits import default_bands
from detectors.scoring.multivariate import IsolationForestDetector, TrainedModel
from detectors.scoring.robust import RobustZScore
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.static import RainstormWarning, StaticLimit
from detectors.scoring.wrappers import GuardedLearning, spec_of

MINUTE_S = 60
FLAGS = ("signal_fault", "breaker_open")
NO_STATISTICS = ("rainfall", CASE_METRIC, *FLAGS)
FORECAST = ("pm25", "pm10", "no2", "o3", "water_level", "pipe_level", "main_pressure", "load")
HOLD_MIN: dict[str, float] = {
    "pm25": 15, "pm10": 15, "no2": 15, "o3": 15, "water_level": 10, "pipe_level": 5,
    "main_pressure": 5, "load": 5, "voltage": 2, "frequency": 2,
}  # fmt: skip


def member(
    label: str,
    role: str,
    detector: BaseDetector,
    residual: bool = False,
    guarded: bool = False,
    family: str = "",
) -> dict[str, Any]:
    """One member of a bank as plain data."""
    wrapped = GuardedLearning(detector) if guarded else detector
    return {
        "label": label,
        "role": role,
        "residual": residual,
        "family": family or label,
        "detector": spec_of(wrapped),
    }


def _min_scale(metric: str) -> float:
    spec = METRICS.get(metric)
    return 1e-3 * (spec.high - spec.low) if spec is not None else 1e-6


def statistical(metric: str, cadence_s: int, seasonal: bool = True) -> list[dict[str, Any]]:
    """Statistical voters: seasonal profile, rolling robust z, and EWMA and CUSUM on the
    seasonal z-score (on the raw value when there is no profile)."""
    floor = _min_scale(metric)
    slow = min(0.2, cadence_s / (6 * 3600))  # a memory of about six hours
    on_z = 0.2 if seasonal else floor  # residual voters see the seasonal z-score
    voters = []
    if seasonal:
        profile = SeasonalBaseline(min_scale=floor)
        voters.append(member("seasonal", "stat", profile, guarded=True))
    voters += [
        member("robust_z", "stat", RobustZScore(min_scale=floor), guarded=True),
        member("ewma", "stat", EwmaChart(slow_alpha=slow, min_scale=on_z), seasonal, True, "chart"),
        member("cusum", "stat", Cusum(slow_alpha=slow, min_scale=on_z), seasonal, True, "chart"),
    ]
    return voters


def health(metric: str, cadence_s: int, stuck: bool = True) -> list[dict[str, Any]]:
    """Silent always; stuck for continuous metrics (flags and rain sit still by nature)."""
    members = [member("silent", "fault", SilentSensor(cadence_ms=cadence_s * 1000))]
    if stuck:
        run = max(6, (15 * MINUTE_S) // cadence_s)
        members.append(member("stuck", "fault", StuckSensor(min_run=run)))
    return members


def bank_for(
    kind: str,
    metric: str,
    cadence_s: int,
    limits: Mapping[str, float] | None = None,
    model: TrainedModel | None = None,
) -> Bank:
    """The bank of a series: ``kind`` of source (``river_gauge``...), ``metric``, cadence,
    the site's reference limits and, if loaded, the metric's multivariate model."""
    if metric == CASE_METRIC:
        return Bank([member("burst", "burst", CaseBurst())])
    if metric == "rainfall":
        return Bank(
            [member("rainstorm", "limit", RainstormWarning())] + health(metric, cadence_s, False)
        )
    members = []
    bands = default_bands(metric, limits or {})
    if bands is not None:
        hold = int(HOLD_MIN.get(metric, 0) * 60_000)
        members.append(member("static", "limit", StaticLimit(bands=bands, hold_ms=hold)))
        if metric in FORECAST:
            alpha = min(0.5, max(0.1, cadence_s / 600))
            members.append(
                member("forecast", "forecast", ForecastWarning(bands, alpha=alpha, beta=alpha / 2))
            )
    if metric not in NO_STATISTICS:
        members += statistical(metric, cadence_s)
        if model is not None:
            slow = model.feature_params.get("slow_alpha", 0.005)
            forest = IsolationForestDetector(model_id=model.model_id, slow_alpha=slow)
            members.append(member("iforest", "stat", forest))
    bank = Bank(members + health(metric, cadence_s, stuck=metric not in NO_STATISTICS))
    return bank.bind({model.model_id: model}) if model is not None else bank


def default_bank(cadence_s: int = 60) -> Bank:
    """The combination for a metric nobody described: robust z, EWMA and CUSUM on the raw
    value (two must agree), and silence."""
    return Bank(statistical("", cadence_s, seasonal=False) + health("", cadence_s, False))
