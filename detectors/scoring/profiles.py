"""Which detectors each kind of series runs, with parameters scaled to its cadence.

The worker keeps one bank per (source id, metric); :func:`bank_for` builds it from the
source's kind, the metric, its cadence and its site limits. :func:`default_bank` is the
combination for a metric nobody described; :func:`solo_bank` one detector alone, with
parameters from the data, for ``python -m detectors score``.

>>> [m["label"] for m in bank_for("rain_gauge", "rainfall", cadence_s=300).members]
['rainstorm', 'silent']
>>> [m["label"] for m in default_bank(cadence_s=60).members]
['default', 'silent']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detectors.contract.events import CASE_METRIC, METRICS
from detectors.scoring.bank import Bank
from detectors.scoring.base import BaseDetector
from detectors.scoring.bursts import CaseBurst
from detectors.scoring.control import Cusum, EwmaChart
from detectors.scoring.default import UnknownStream
from detectors.scoring.forecast import ForecastWarning
from detectors.scoring.health import SilentSensor, StuckSensor
from detectors.scoring.limits import Band, above_bands, below_bands, default_bands
from detectors.scoring.multivariate import MultivariateDetector, TrainedModel
from detectors.scoring.robust import RobustZScore
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.static import RainstormWarning, StaticLimit
from detectors.scoring.wrappers import GuardedLearning, spec_of

MINUTE_S = 60
FLAGS = ("signal_fault", "breaker_open")
"""A device's own fault flag: one flag raised is that device's fault (a maintenance ticket,
never an area incident on its own); flags raised together in one place are an area event,
which the neighbours detector finds."""
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
        members.append(member("stuck", "fault", StuckSensor(min_run=stuck_run(cadence_s))))
    return members


def stuck_run(cadence_s: int) -> int:
    """The repeats before a series counts as stuck: a quarter of an hour, at least six."""
    return max(6, (15 * MINUTE_S) // cadence_s)


def static_of(bands: list[Band], metric: str) -> StaticLimit:
    """The limit rule of a metric's bands, held as long as its standard asks."""
    return StaticLimit(bands=bands, hold_ms=int(HOLD_MIN.get(metric, 0) * 60_000))


def forecast_of(bands: list[Band], cadence_s: int) -> ForecastWarning:
    """The forecast warning of some bands, smoothing faster for sparse readings."""
    alpha = min(0.5, max(0.1, cadence_s / 600))
    return ForecastWarning(bands, alpha=alpha, beta=alpha / 2)


def multivariate_of(model: TrainedModel) -> MultivariateDetector:
    """The multivariate member for a model, with the features it was trained on."""
    slow = model.feature_params.get("slow_alpha", 0.005)
    return MultivariateDetector(model_id=model.model_id, slow_alpha=slow)


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
        role = "fault" if metric in FLAGS else "limit"
        members.append(member("static", role, static_of(bands, metric)))
        if metric in FORECAST:
            members.append(member("forecast", "forecast", forecast_of(bands, cadence_s)))
    if metric not in NO_STATISTICS:
        members += statistical(metric, cadence_s)
        if model is not None:
            members.append(member("multivariate", "stat", multivariate_of(model)))
    bank = Bank(members + health(metric, cadence_s, stuck=metric not in NO_STATISTICS))
    return bank.bind({model.model_id: model}) if model is not None else bank


def default_bank(cadence_s: int = 60) -> Bank:
    """The combination for a metric nobody described: the detector for unknown streams
    (:class:`~detectors.scoring.default.UnknownStream`, its own ensemble, so it votes
    alone), and silence."""
    unknown = member("default", "stat", UnknownStream())
    return Bank([unknown, *health("", cadence_s, False)], votes=1)


# One detector alone: how 'score' runs a detector on a stream that no profile calls it for.

SLOT_MINUTES = (30, 60, 120, 180, 240, 360, 480, 720, 1440)  # the divisors of a day
SOLO_ROLES = {
    "static": "limit", "rainstorm": "limit", "forecast": "forecast", "burst": "burst",
    "silent": "fault", "stuck": "fault",
}  # fmt: skip
GUARDED = ("seasonal", "robust_z", "ewma", "cusum")  # as in statistical()
LIMIT_KEYS = ("warning", "guaranteed", "nominal_kv")


def level_bands(warning: float, guaranteed: float) -> list[Band]:
    """The bands of any stream from its warning and guaranteed (emergency) levels, in steps
    of half the gap: level IV at warning, III halfway, II at guaranteed, I half a gap past
    it. A guaranteed level below the warning one makes them floors.

    >>> [b.high for b in level_bands(4.0, 5.0)]
    [4.0, 4.5, 5.0, 5.5]
    >>> [round(b.low, 2) for b in level_bands(0.2, 0.1)]
    [0.2, 0.15, 0.1, 0.05]
    """
    if warning == guaranteed:
        raise ValueError(f"the warning and guaranteed levels are both {warning}: they must differ")
    half = (guaranteed - warning) / 2
    steps = [warning + k * half for k in range(4)]
    return above_bands(steps) if half > 0 else below_bands(steps)


def stream_bands(metric: str, limits: Mapping[str, float]) -> list[Band] | None:
    """A stream's limit bands: its metric's standard (with the site's references in
    ``limits``), else :func:`level_bands` of the ``warning`` and ``guaranteed`` in
    ``limits``; None without either."""
    bands = default_bands(metric, limits)
    if bands is None and "warning" in limits and "guaranteed" in limits:
        return level_bands(limits["warning"], limits["guaranteed"])
    return bands


def resolution(values: Sequence[float]) -> float:
    """The data's resolution, a floor for a detector's scale: the least gap between its
    distinct values (1e-6 when it has only one).

    >>> resolution([20.5, 20.0, 21.5, 20.5])
    0.5
    """
    distinct = sorted(set(values))
    return min((b - a for a, b in zip(distinct, distinct[1:], strict=False)), default=1e-6)


def data_scale(values: Sequence[float]) -> float:
    """The least scale of a stream nobody described, from its data: its resolution or a
    thousandth of its range (1st to 99th percentile), whichever is larger, as a described
    metric's is a thousandth of its plausible range. By its resolution alone, a stream of
    byte counts (12,582,912.0 next to 12,582,912.5) had a scale of half a byte, so a
    detector's z-scores ran to millions and its scores tied at 1.0.

    >>> data_scale([20.5, 20.0, 21.5, 20.5])
    0.5
    >>> round(data_scale([0.0] * 50 + [1e6 + i / 2 for i in range(50)]))
    1000
    """
    if not len(values):
        return 1e-6
    low, high = np.quantile(np.asarray(values, dtype=np.float64), [0.01, 0.99])
    return max(resolution(values), 1e-3 * float(high - low))


def slot_minutes(cadence_s: int) -> int:
    """The seasonal profile's slot for a cadence: the shortest that holds two readings.

    >>> slot_minutes(60), slot_minutes(1800), slot_minutes(3600)
    (30, 60, 120)
    """
    return next((m for m in SLOT_MINUTES if m * MINUTE_S >= 2 * cadence_s), SLOT_MINUTES[-1])


def solo_detector(
    name: str, cadence_s: int, min_scale: float, described: bool = True
) -> BaseDetector:
    """Detector ``name`` for a stream of ``cadence_s`` whose values move by ``min_scale`` at
    least, built as the worker builds it; static, forecast and multivariate: :func:`solo_bank`.
    Of a stream nobody ``described``, a statistical detector counts surprises past the cap
    only by their logarithm, as ``default`` does (:mod:`detectors.scoring.default`): no
    model of such a stream is right that far out, and counted in full, a stream's routine
    excursions past it (a server's bursts) scored as rare as anything it could do."""
    slow = min(0.2, cadence_s / (6 * 3600))  # a memory of about six hours
    cap = not described
    makers: dict[str, Callable[[], BaseDetector]] = {
        "default": UnknownStream,
        "seasonal": lambda: SeasonalBaseline(
            slot_minutes(cadence_s), min_scale=min_scale, log_past_cap=cap
        ),
        "robust_z": lambda: RobustZScore(min_scale=min_scale, log_past_cap=cap),
        "ewma": lambda: EwmaChart(slow_alpha=slow, min_scale=min_scale, log_past_cap=cap),
        "cusum": lambda: Cusum(slow_alpha=slow, min_scale=min_scale, log_past_cap=cap),
        "silent": lambda: SilentSensor(cadence_ms=cadence_s * 1000),
        "stuck": lambda: StuckSensor(min_run=stuck_run(cadence_s)),
        "burst": CaseBurst,
        "rainstorm": RainstormWarning,
    }
    return makers[name]()


def solo_bank(
    name: str,
    cadence_s: int,
    bands: list[Band] | None = None,
    model: TrainedModel | None = None,
    min_scale: float = 1e-6,
    metric: str = "",
) -> Bank:
    """A bank of the one detector ``name`` in the role it plays in the worker's banks, so
    that its scores come from the same code; ``bands`` for static and forecast, ``model``
    for multivariate (a ValueError without them)."""
    if name == "multivariate":
        if model is None:
            raise ValueError("detector 'multivariate' needs a trained model")
        return Bank([member(name, "stat", multivariate_of(model))]).bind({model.model_id: model})
    if name in ("static", "forecast"):
        if bands is None:
            raise ValueError(f"detector {name!r} needs limit bands")
        detector: BaseDetector = (
            static_of(bands, metric) if name == "static" else forecast_of(bands, cadence_s)
        )
    else:
        detector = solo_detector(name, cadence_s, min_scale, described=bool(metric))
    return Bank([member(name, SOLO_ROLES.get(name, "stat"), detector, guarded=name in GUARDED)])
