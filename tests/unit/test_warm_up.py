"""Warm-ups that keep a cold start quiet: the forecast and the neighbour group score exactly
0 until they have a history, and still alarm on a real excursion after it; the case-burst
rate is learnt from the first reports rather than held to its prior for a day."""

from __future__ import annotations

import json
import random

import numpy as np

from detectors.contract.levels import ALARM
from detectors.scoring.base import restore
from detectors.scoring.bursts import CaseBurst
from detectors.scoring.forecast import ForecastWarning
from detectors.scoring.limits import aqi_bands
from detectors.scoring.neighbours import NeighbourGroup

MIN, DAY = 60_000, 86_400_000
STEP = 15_000  # the live simulator's spacing per stream (3042 streams at 200 events/s)


def pm25_forecast() -> ForecastWarning:
    """The forecast a PM2.5 station's bank runs (alpha from a 60 s cadence)."""
    return ForecastWarning(aqi_bands("pm25"), alpha=0.1, beta=0.05)


def score_learn(detector: ForecastWarning, ts: int, value: float) -> float:
    score = detector.score_one(ts, value)
    detector.learn_one(ts, value)
    return score


def test_forecast_is_zero_until_its_trend_has_been_watched_for_half_the_horizon() -> None:
    forecast, rng = pm25_forecast(), random.Random(1)
    assert forecast.warmup_ms == 30 * MIN

    def climbing(t: int) -> float:  # +0.5 µg/m³ a minute: the 75 µg/m³ band at 70 min
        return 40.0 + 0.5 * t / MIN + rng.gauss(0, 2)

    early = [score_learn(forecast, t, climbing(t)) for t in range(0, 30 * MIN, STEP)]
    assert early and max(early) == 0.0  # however steep the first slopes look
    later = [score_learn(forecast, t, climbing(t)) for t in range(30 * MIN, 40 * MIN, STEP)]
    assert max(later) >= 0.5  # a real climb towards the limit, warned before it crosses


def test_forecast_stays_quiet_on_a_flat_noisy_series_after_warm_up() -> None:
    forecast, rng = pm25_forecast(), random.Random(2)
    noise = 0.06 * 40.0  # the simulator's PM2.5 noise: 6 % of the level
    scores = [
        score_learn(forecast, t, 40.0 + rng.gauss(0, noise)) for t in range(0, 6 * 60 * MIN, STEP)
    ]
    assert max(scores) == 0.0


def test_forecast_starts_afresh_after_a_gap_its_trend_cannot_span() -> None:
    """A morning climb, then 5.6 hours without readings (a stopped product): Holt's method
    alone carries the old trend across the gap and forecasts the limit crossed at once."""
    forecast, rng = pm25_forecast(), random.Random(3)

    def climbing(t: int) -> float:  # +0.2 µg/m³ a minute, far below the limit
        return 30.0 + 0.2 * t / MIN + rng.gauss(0, 0.5)

    before = [score_learn(forecast, t, climbing(t)) for t in range(0, 60 * MIN, STEP)]
    assert max(before) < 0.5  # the 75 µg/m³ band is more than an hour away
    resumed = 60 * MIN + 339 * MIN
    after = [score_learn(forecast, t, 42.0 + rng.gauss(0, 0.5))
             for t in range(resumed, resumed + 2 * 60 * MIN, STEP)]  # fmt: skip
    assert max(after) == 0.0  # the flat series it resumed on, judged afresh
    assert not forecast.warm(resumed + 20 * MIN)  # its warm-up counts from the gap's end
    # the same flat series a reading late, not after a gap: an ordinary reading
    assert not forecast.after_gap(resumed + 2 * 60 * MIN)
    # a stream read hourly is not restarted by every reading
    hourly = pm25_forecast()
    for t in range(0, 48 * 60 * MIN, 60 * MIN):
        assert not hourly.after_gap(t)
        score_learn(hourly, t, 40.0)


def test_forecast_warm_up_survives_a_snapshot() -> None:
    forecast = pm25_forecast()
    for t in range(0, 10 * MIN, STEP):
        score_learn(forecast, t, 40.0)
    twin = restore(json.loads(json.dumps(forecast.snapshot())))
    assert isinstance(twin, ForecastWarning)
    assert not twin.warm(20 * MIN) and twin.warm(30 * MIN)


def report(group: NeighbourGroup, ts: int, member: str, score: float) -> tuple[float, ...]:
    verdict = group.score_member(ts, member, score)
    group.learn_member(ts, member, score)
    return (verdict.area, verdict.fault, float(verdict.isolated), float(verdict.corroborated))


def test_neighbours_say_nothing_until_members_have_an_hour_of_history() -> None:
    group = NeighbourGroup()
    verdicts = [
        report(group, t, name, 0.9)  # every member anomalous from its first reading
        for t in range(0, 60 * MIN, MIN)
        for name in "ABCD"
    ]
    assert {v[0] for v in verdicts} == {0.0}  # no area event
    assert {v[1] for v in verdicts} == {0.0}  # no fault
    assert all(v[2] == 1.0 and v[3] == 0.0 for v in verdicts)  # isolated, never corroborated


def test_warm_up_anomalies_do_not_count_as_agreement_afterwards() -> None:
    group = NeighbourGroup()
    for t in range(0, 60 * MIN, MIN):
        for name in "ABCD":
            report(group, t, name, 0.9 if t >= 50 * MIN else 0.1)
    area, _, isolated, corroborated = report(group, 60 * MIN, "A", 0.9)
    assert (area, isolated, corroborated) == (0.0, 0.0, 0.0)  # B-D's warm-up votes are gone


def test_neighbours_still_see_an_area_event_and_a_fault_after_warm_up() -> None:
    group = NeighbourGroup()
    for t in range(0, 90 * MIN, MIN):
        for name in "ABCD":
            report(group, t, name, 0.1)
    assert report(group, 90 * MIN, "A", 0.7)[0] == 0.0  # alone: held back
    assert report(group, 91 * MIN, "B", 0.65)[0] == 0.7  # B agrees: an area event
    lone = NeighbourGroup()
    faults = [
        report(lone, t, name, 0.9 if name == "C" and t >= 70 * MIN else 0.1)[1]
        for t in range(0, 120 * MIN, MIN)
        for name in "ABCD"
    ]
    assert max(faults) >= 0.5  # C alone for half an hour: its fault


def test_a_member_that_joins_late_warms_up_alone() -> None:
    group = NeighbourGroup()
    for t in range(0, 90 * MIN, MIN):
        for name in "ABC":
            report(group, t, name, 0.1)
    newcomer = []
    for t in range(90 * MIN, 150 * MIN, MIN):
        for name in "ABC":
            report(group, t, name, 0.1)
        newcomer.append(report(group, t, "D", 0.9)[:3])
    assert set(newcomer) == {(0.0, 0.0, 1.0)}  # isolated: its own detectors decide
    assert report(group, 150 * MIN, "D", 0.9)[2] == 0.0  # now judged by its peers


def test_a_group_stored_before_warm_ups_is_warm() -> None:
    group = NeighbourGroup()
    for name in "ABC":
        report(group, 0, name, 0.1)
    snapshot = json.loads(json.dumps(group.snapshot()))
    for entry in snapshot["state"]["members"].values():
        del entry[4]  # the shape stored before warm-ups existed
    old = NeighbourGroup.restore(snapshot)
    assert all(old.warm(name, MIN) for name in "ABC")


def _busy_cell(days: float, per_day: float, seed: int) -> list[int]:
    """Report times of a cell that files ``per_day`` reports a day at random (Poisson)."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(DAY / per_day, size=int(days * per_day * 2))
    times = np.cumsum(gaps)
    return [int(t) for t in times[times < days * DAY]]


def test_a_busy_cell_is_learnt_on_its_first_day_not_held_to_the_prior() -> None:
    # 200 cells filing 8 reports a day, 16 times the prior: the old rule judged day one by
    # the prior alone, so a cell's four reports in an hour were a burst
    alarms = []
    for seed in range(200):
        burst = CaseBurst()
        for t in _busy_cell(1.0, 8.0, seed):
            if burst.score_one(t, 1.0) >= ALARM:
                alarms.append((seed, t))
            burst.learn_one(t, 1.0)
    assert alarms == []


def test_a_real_surge_on_the_first_day_still_alarms() -> None:
    burst = CaseBurst()
    for t in _busy_cell(0.5, 8.0, 1):
        burst.learn_one(t, 1.0)
    surge = [DAY // 2 + k * 120_000 for k in range(12)]  # 12 reports in 24 minutes
    scores = []
    for t in surge:
        scores.append(burst.score_one(t, 1.0))
        burst.learn_one(t, 1.0)
    assert max(scores) >= ALARM
