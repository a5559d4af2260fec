"""One contract suite over every registered detector (and the neighbour group): input not
mutated, pickle round-trip, snapshot/restore gives identical future scores, same seed same
output, scores in [0, 1], score_one learns nothing, and a quality floor on a labelled
series."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from detectors.scoring.base import BaseDetector, names, restore
from detectors.scoring.bursts import CaseBurst
from detectors.scoring.control import Cusum, EwmaChart
from detectors.scoring.default import UnknownStream
from detectors.scoring.forecast import ForecastWarning
from detectors.scoring.health import SilentSensor, StuckSensor
from detectors.scoring.likelihood import HELD
from detectors.scoring.limits import aqi_bands, flood_bands
from detectors.scoring.multivariate import MultivariateDetector, TrainedModel, train
from detectors.scoring.neighbours import NeighbourGroup
from detectors.scoring.profiles import bank_for
from detectors.scoring.robust import RobustZScore
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.static import RainstormWarning, StaticLimit
from detectors.scoring.wrappers import GuardedLearning

MIN = 60_000
DAY = 86_400_000
Stream = tuple[np.ndarray, np.ndarray, tuple[int, int]]  # ts, values, labelled window


def daily(seed: int, days: float = 3, cadence_ms: int = 5 * MIN, level: float = 40.0) -> Stream:
    """A noisy daily cycle (peaking at 08:00 local) with no event."""
    rng = np.random.default_rng(seed)
    ts = np.arange(0, int(days * DAY), cadence_ms, dtype=np.int64)
    hours = (ts / 3_600_000 + 8) % 24
    values = level * (1 + 0.4 * np.exp(-0.5 * ((hours - 8) / 1.5) ** 2))
    values *= 1 + 0.03 * rng.standard_normal(len(ts))
    return ts, values, (0, 0)


def with_event(
    stream: Stream, start_h: float, hours: float, change: Callable[[np.ndarray], np.ndarray]
) -> Stream:
    ts, values, _ = stream
    start, end = int(start_h * 3_600_000), int((start_h + hours) * 3_600_000)
    inside = (ts >= start) & (ts < end)
    values = values.copy()
    values[inside] = change(values[inside])
    return ts, values, (start, end)


@cache
def pm25_model() -> TrainedModel:
    ts, values, _ = daily(99, days=4, cadence_ms=MIN)
    return train([(ts, values)], "pm25", seed=3, slow_alpha=1 / 1440)


@dataclass(frozen=True)
class Case:
    """How to build a detector, feed it, and what a labelled series looks like for it."""

    build: Callable[[], BaseDetector]
    stream: Callable[[int], Stream]
    labelled: Callable[[], Stream]
    bind: Callable[[BaseDetector], BaseDetector] = lambda d: d


def _bind_forest(detector: BaseDetector) -> BaseDetector:
    if isinstance(detector, MultivariateDetector) and detector.model is None:
        detector.bind(pm25_model())
    return detector


def flat(seed: int) -> Stream:
    """White noise around a constant level: the setting control charts are made for."""
    rng = np.random.default_rng(seed)
    ts = np.arange(0, 3 * DAY, 5 * MIN, dtype=np.int64)
    return ts, 40.0 * (1 + 0.03 * rng.standard_normal(len(ts))), (0, 0)


def _shift() -> Stream:
    """A level shift for four hours; the window includes the settling after it ends."""
    ts, values, _ = with_event(flat(5), 60, 4, lambda v: v * 1.3)
    return ts, values, (60 * 3_600_000, 68 * 3_600_000)


def _rain(seed: int) -> Stream:
    rng = np.random.default_rng(seed)
    ts = np.arange(0, 2 * DAY, 5 * MIN, dtype=np.int64)
    return ts, np.round(np.maximum(rng.normal(0.05, 0.1, len(ts)), 0), 2), (0, 0)


def _cases_stream(seed: int) -> Stream:
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, 30 * DAY, 20)).astype(np.int64)
    return ts, np.ones(len(ts)), (0, 0)


def _surge() -> Stream:
    ts, values, _ = _cases_stream(5)
    burst = np.arange(29 * DAY, 29 * DAY + 60 * MIN, 6 * MIN, dtype=np.int64)
    order = np.argsort(np.concatenate([ts, burst]), kind="stable")
    return np.concatenate([ts, burst])[order], np.ones(len(order)), (29 * DAY, 29 * DAY + 60 * MIN)


def _flat(stream: Stream) -> Stream:
    return with_event(stream, 50, 3, lambda v: np.full_like(v, v[0]))


def _gap(stream: Stream) -> Stream:
    ts, values, _ = stream
    keep = (ts < 50 * 3_600_000) | (ts >= 53 * 3_600_000)
    return ts[keep], values[keep], (53 * 3_600_000 - MIN, 53 * 3_600_000 + 10 * MIN)


def _rising(seed: int) -> Stream:
    rng = np.random.default_rng(seed)
    ts = np.arange(0, DAY, 5 * MIN, dtype=np.int64)
    values = 2.8 + 0.2 * np.sin(ts / 7e6) + 0.005 * rng.standard_normal(len(ts))
    rise = np.clip((ts - 12 * 3_600_000) / (4 * 3_600_000), 0, None) * 1.6
    return ts, values + rise, (12 * 3_600_000, DAY)  # from the start of the rise to the end


def _storm() -> Stream:
    """Three hours of heavy rain; a rainstorm warning stands while 12-hour totals last."""
    ts, values, _ = with_event(_rain(5), 30, 3, lambda v: v + 8.0)
    return ts, values, (30 * 3_600_000, 45 * 3_600_000)


CASES: dict[str, Case] = {
    "static": Case(
        lambda: StaticLimit(bands=aqi_bands("pm25"), hold_ms=10 * MIN),
        daily,
        lambda: with_event(daily(5), 60, 4, lambda v: v + 100.0),
    ),
    "rainstorm": Case(RainstormWarning, _rain, _storm),
    "forecast": Case(
        lambda: ForecastWarning(bands=flood_bands(4.0, 5.0), alpha=0.5, beta=0.25),
        _rising,
        lambda: _rising(5),
    ),
    "seasonal": Case(
        SeasonalBaseline, daily, lambda: with_event(daily(5), 62, 3, lambda v: v * 1.6)
    ),
    "default": Case(UnknownStream, daily, lambda: with_event(daily(5), 60, 3, lambda v: v * 3.0)),
    # a rolling window has no notion of the day: the first daily peak is news to it, as it
    # should be (against its own history); its floor is checked on the stationary series
    "robust_z": Case(RobustZScore, flat, lambda: with_event(flat(5), 60, 3, lambda v: v * 3.0)),
    "ewma": Case(lambda: EwmaChart(slow_alpha=0.02), flat, _shift),
    "cusum": Case(lambda: Cusum(slow_alpha=0.02), flat, _shift),
    "multivariate": Case(
        lambda: MultivariateDetector(slow_alpha=1 / 1440).bind(pm25_model()),
        lambda seed: daily(seed, cadence_ms=MIN),
        lambda: with_event(daily(5, cadence_ms=MIN), 60, 3, lambda v: v * 3.0),
        _bind_forest,
    ),
    "silent": Case(lambda: SilentSensor(cadence_ms=5 * MIN), daily, lambda: _gap(daily(5))),
    "stuck": Case(lambda: StuckSensor(min_run=6), daily, lambda: _flat(daily(5))),
    "burst": Case(CaseBurst, _cases_stream, _surge),
    "guarded": Case(
        lambda: GuardedLearning(RobustZScore()),
        flat,
        lambda: with_event(flat(5), 60, 3, lambda v: v * 3.0),
    ),
    "bank": Case(
        lambda: bank_for("air_station", "pm25", cadence_s=300),
        daily,
        lambda: with_event(daily(5), 60, 4, lambda v: v * 3.5),
    ),
}


def test_every_registered_detector_is_covered() -> None:
    # multistream scores rows, not values: its contract is in test_multistream.py
    assert set(CASES) == set(names()) - {"multistream"}


def _feed(detector: BaseDetector, ts: np.ndarray, values: np.ndarray) -> list[float]:
    scores = []
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        scores.append(detector.score_one(t, v))
        detector.learn_one(t, v)
    return scores


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


def test_input_is_not_mutated(case: Case) -> None:
    ts, values, _ = case.stream(1)
    ts_copy, values_copy = ts.copy(), values.copy()
    case.build().score_learn_many(ts, values)
    as_lists = (ts.tolist(), values.tolist())
    case.build().score_learn_many(*as_lists)
    assert np.array_equal(ts, ts_copy) and np.array_equal(values, values_copy)
    assert as_lists == (ts_copy.tolist(), values_copy.tolist())


def test_batch_equals_one_by_one(case: Case) -> None:
    ts, values, _ = case.stream(2)
    assert np.allclose(case.build().score_learn_many(ts, values), _feed(case.build(), ts, values))


def test_scores_lie_in_unit_interval_and_scoring_learns_nothing(case: Case) -> None:
    ts, values, _ = case.labelled()
    detector = case.build()
    half = len(ts) // 2
    scores = _feed(detector, ts[:half], values[:half])
    before = detector.snapshot()
    for t, v in zip(ts[half : half + 20].tolist(), values[half : half + 20].tolist(), strict=True):
        scores.append(detector.score_one(t, v))
    assert detector.snapshot() == before
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_pickle_round_trip_keeps_future_scores(case: Case) -> None:
    ts, values, _ = case.labelled()
    detector, half = case.build(), len(ts) // 2
    _feed(detector, ts[:half], values[:half])
    twin = pickle.loads(pickle.dumps(detector))
    assert _feed(twin, ts[half:], values[half:]) == _feed(detector, ts[half:], values[half:])


def test_snapshot_is_plain_data_and_restore_gives_identical_future_scores(case: Case) -> None:
    ts, values, _ = case.labelled()
    detector, half = case.build(), len(ts) // 2
    _feed(detector, ts[:half], values[:half])
    # strict JSON: the worker's table writes infinity as null
    plain = json.loads(json.dumps(detector.snapshot(), allow_nan=False))
    twin = case.bind(restore(plain))
    assert twin.snapshot() == detector.snapshot()
    assert _feed(twin, ts[half:], values[half:]) == _feed(detector, ts[half:], values[half:])


def test_same_seed_same_output(case: Case) -> None:
    first, second = case.stream(7), case.stream(7)
    assert _feed(case.build(), *first[:2]) == _feed(case.build(), *second[:2])


def test_quality_floor_on_a_labelled_series(case: Case) -> None:
    """It alarms in the labelled window and almost never outside it."""
    ts, values, (start, end) = case.labelled()
    scores = np.array(_feed(case.build(), ts, values))
    inside = (ts >= start) & (ts < end)
    assert scores[inside].max() >= 0.5
    assert (scores[~inside] >= 0.5).mean() <= 0.01


GRADED = ("default", "robust_z", "ewma", "cusum", "seasonal")
"""Statistical detectors: their score is a likelihood, graded, 0 during a warm-up."""


@pytest.mark.parametrize("name", GRADED)
def test_statistical_scores_are_graded_with_a_silent_warm_up(name: str) -> None:
    """Zero until the warm-up ends; after it, scores take many values. The repeated values
    allowed are 0 (a reading as ordinary as can be, e.g. a CUSUM back at zero) and the score
    that holds an alarm already raised; most judged readings score above 0."""
    ts, values, _ = CASES[name].labelled()
    scores = np.array(_feed(CASES[name].build(), ts, values))
    assert scores[:30].max() == 0.0
    judged = scores[np.flatnonzero(scores > 0)[0] :]
    judged = judged[judged != HELD]
    positive = judged[judged > 0]
    assert len(positive) >= 0.5 * len(judged)
    assert len(np.unique(positive)) >= 0.95 * len(positive)


# -- the group detector: same contract, members' scores as input ---------------------------


def group_stream(
    seed: int, faulty: str | None = "C", area: bool = False
) -> list[tuple[int, str, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for minute in range(240):
        for member in "ABCDE":
            score = float(rng.uniform(0, 0.3))
            if minute >= 120 and (member == faulty or area):
                score = 0.7
            out.append((minute * MIN, member, score))
    return out


def run_group(
    group: NeighbourGroup, stream: list[tuple[int, str, float]]
) -> list[tuple[bool, bool, float, float]]:
    out = []
    for ts, member, score in stream:
        verdict = group.score_member(ts, member, score)
        group.learn_member(ts, member, score)
        out.append((verdict.corroborated, verdict.isolated, verdict.area, verdict.fault))
    return out


def test_neighbour_group_contract() -> None:
    stream = group_stream(3)
    frozen = list(stream)
    group = NeighbourGroup()
    run_group(group, stream[:600])
    assert stream == frozen
    twin = NeighbourGroup.restore(json.loads(json.dumps(group.snapshot())))
    pickled = pickle.loads(pickle.dumps(group))
    expected = run_group(group, stream[600:])
    assert run_group(twin, stream[600:]) == expected == run_group(pickled, stream[600:])
    assert run_group(NeighbourGroup(), group_stream(3)) == run_group(
        NeighbourGroup(), group_stream(3)
    )


def test_neighbour_group_quality_fault_versus_area() -> None:
    lone = run_group(NeighbourGroup(), group_stream(4, faulty="C"))
    assert max(v[3] for v in lone) >= 0.5  # a fault for C ...
    assert max(v[2] for v in lone) == 0.0  # ... and never an area event
    together = run_group(NeighbourGroup(), group_stream(4, faulty=None, area=True))
    assert max(v[2] for v in together) >= 0.5
    assert max(v[3] for v in together) == 0.0
