"""Behaviours the contract suite does not pin down: rush hour, forecast times, voting,
the multivariate model's calibration, model files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detectors.contract.levels import ALARM, CLEAR_BELOW
from detectors.scoring.bank import Bank
from detectors.scoring.health import StuckSensor
from detectors.scoring.limits import aqi_bands
from detectors.scoring.multivariate import MODEL_VERSION, TAIL_P, calibrated, dumps, loads, train
from detectors.scoring.profiles import bank_for, default_bank, member
from detectors.scoring.robust import RobustZScore
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.static import StaticLimit

MIN, DAY = 60_000, 86_400_000


def traffic(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(0, days * DAY, MIN, dtype=np.int64)
    hours = (ts / 3_600_000 + 8) % 24
    rush = np.exp(-0.5 * ((hours - 8) / 1.1) ** 2) + np.exp(-0.5 * ((hours - 18) / 1.4) ** 2)
    # noise bounded at 3 sigma: a graded score rightly alarms on a 4.5-sigma draw (one in
    # 150,000), and these tests are about the daily shape, not the noise's far tail
    noise = np.clip(rng.standard_normal(len(ts)), -3.0, 3.0)
    return ts, 150 + 1200 * rush * (1 + 0.05 * noise)


def test_rush_hour_is_not_an_anomaly_but_a_midday_jam_is() -> None:
    ts, flow = traffic(4, 1)
    profile = SeasonalBaseline()
    scores = profile.score_learn_many(ts, flow)
    assert (scores[2 * 24 * 60 :] >= 0.5).sum() == 0  # days 3-4, rush hours included
    noon = 4 * DAY + 6 * 3_600_000  # 14:00 local
    assert profile.score_one(noon, 1300.0) >= 0.5


def test_just_after_midnight_the_usual_value_lies_between_the_slots_either_side() -> None:
    # a pressure dip centred on 01:00 local: a reading at 00:05 is on its flank, and its
    # usual value is interpolated from the slots centred 23:45 and 00:15, not 00:15 and 00:45
    def pressure(ts: np.ndarray) -> np.ndarray:
        hours = (ts / 3_600_000 + 8) % 24
        return 0.34 - 0.05 * np.exp(-0.5 * ((hours - 1) / 0.6) ** 2)

    profile = SeasonalBaseline(weekend_split=False)
    ts = np.arange(0, 3 * DAY, MIN, dtype=np.int64)
    profile.score_learn_many(ts, pressure(ts))
    after_midnight = 3 * DAY + 16 * 3_600_000 + 5 * MIN  # 00:05 local
    slot = 30 * MIN
    centres = np.array([after_midnight - 20 * MIN, after_midnight + 10 * MIN])  # 23:45, 00:15
    between = float(np.interp(after_midnight, centres, [
        pressure(np.arange(c - slot // 2, c + slot // 2, MIN)).mean() for c in centres
    ]))  # fmt: skip
    usual = profile.expected(after_midnight)
    assert usual is not None and abs(usual[0] - between) < 1e-4
    assert profile.score_one(after_midnight, float(pressure(np.array([after_midnight]))[0])) < 0.1


def test_the_forecast_names_the_time_of_crossing() -> None:
    bank = bank_for("river_gauge", "water_level", 300, {"warning": 4.0, "guaranteed": 5.0})
    forecast_ts = None
    for step in range(200):
        ts = step * 5 * MIN
        result = bank.assess(ts, 2.5 + 0.01 * step)  # +12 cm an hour
        if result.condition_by == "forecast" and forecast_ts is None:
            forecast_ts, warned_at = result.condition_evidence["forecast_ts_ms"], ts
    assert forecast_ts is not None
    crossing = (3.7 - 2.5) / 0.01 * 5 * MIN  # the first band, 0.3 m under the warning level
    assert warned_at < crossing and abs(forecast_ts - crossing) < 30 * MIN


def test_one_statistical_voter_alone_does_not_raise_a_condition() -> None:
    bank = Bank([
        member("robust_z", "stat", RobustZScore(window=20)),
        member("stuck", "fault", StuckSensor()),
        member("other", "stat", RobustZScore(window=2000)),  # not warm: votes 0
    ])  # fmt: skip
    for i in range(300):  # past robust_z's warm-up
        bank.assess(i * MIN, 10.0 + i % 3)
    spike = bank.assess(300 * MIN, 90.0)
    assert spike.scores[0] >= 0.5 and spike.condition < 0.5


def test_a_limit_alone_raises_a_condition_with_its_evidence() -> None:
    bank = Bank([member("static", "limit", StaticLimit(bands=aqi_bands("pm25")))])
    result = bank.assess(0, 160.0)
    assert result.condition_by == "static" and result.condition_evidence["threshold"] == 150.0


def test_the_default_bank_knows_nothing_of_limits() -> None:
    assert default_bank().labels == ("default", "silent")
    assert "static" not in bank_for("air_station", "temperature", 60).labels


def test_a_stuck_sensor_is_the_default_banks_fault_not_a_condition_of_its_place() -> None:
    # default's still question finds a sensor stuck in a stream that never repeats itself;
    # as a statistical vote it raised the place's condition, an area's anomaly
    rng, bank = np.random.default_rng(1), default_bank(300)
    values = 10.0 + rng.normal(0.0, 1.0, 3000)
    for i, value in enumerate(values):
        ordinary = bank.assess(i * 300_000, float(value))
    assert ordinary.fault < ALARM
    results = [bank.assess((3000 + i) * 300_000, float(values[-1])) for i in range(10)]
    worst = max(results, key=lambda result: result.fault)
    assert worst.fault >= ALARM and worst.fault_by == "default"
    assert worst.fault_evidence["fault"] == "stuck"
    assert max(result.condition for result in results) < ALARM


def test_the_default_bank_holds_an_alert_while_its_episode_goes_on() -> None:
    # default scores an episode's later readings as no news; the bank counts them as their
    # own scores up to HELD, over the engine's clearing level and under an alarm, so the
    # alert raised at the onset neither clears nor is raised again while it goes on
    rng, bank = np.random.default_rng(3), default_bank(60)
    for i, value in enumerate(10.0 + rng.normal(0.0, 1.0, 2000)):
        bank.assess(i * 60_000, float(value))
    onset = bank.assess(2000 * 60_000, 30.0)
    assert onset.condition >= ALARM
    going_on = [bank.assess((2001 + i) * 60_000, 16.0) for i in range(3)]
    assert all(CLEAR_BELOW <= result.condition < ALARM for result in going_on), going_on
    assert all(result.scores[0] < CLEAR_BELOW for result in going_on)  # default's own: no news


def test_calibration_reads_the_training_tail_and_extends_it() -> None:
    grid = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0])  # most training rows score 0
    out = calibrated(np.array([0.0, 0.5, 3.0, 4.0, 4.0 + np.log(10.0)]), grid, excess=1.0)
    levels = -np.log10(TAIL_P)
    assert out[0] == 0.0  # as ordinary as the most ordinary training row
    assert out[1] == pytest.approx((levels[2] + levels[3]) / 2)  # halfway, on a log scale
    assert out[2] == pytest.approx(levels[5]) and out[3] == pytest.approx(levels[6])
    assert out[4] == pytest.approx(levels[6] + 1.0)  # one mean excess further: a decade


def test_the_multivariate_model_finds_a_reading_that_breaks_from_its_averages() -> None:
    ts, flow = traffic(3, 2)
    model = train([(ts, flow)], "flow", seed=5, slow_alpha=1 / 1440)
    calm = model.scores(np.array([[0.2, 0.1, 0.05, 0.0, 1.0]]))
    jump = model.scores(np.array([[8.0, 8.0, 8.0, 0.0, 1.0]]))  # far off every average
    assert calm[0] < 0.1 and jump[0] >= 0.5


def test_model_files_are_versioned_and_deterministic() -> None:
    ts, flow = traffic(2, 2)
    model = train([(ts, flow)], "flow", seed=5, slow_alpha=1 / 1440)
    again = train([(ts, flow)], "flow", seed=5, slow_alpha=1 / 1440)
    assert model.model_id == again.model_id and model.model_id.startswith(f"flow-v{MODEL_VERSION}-")
    restored = loads(dumps(model))
    rows = np.random.default_rng(1).normal(size=(50, 5))
    assert np.array_equal(restored.scores(rows), model.scores(rows))
    with pytest.raises(ValueError, match="not a citybrain model"):
        loads(pickle.dumps({"format": "somebody.iforest", "model": model}))
    old = {"format": "citybrain.iforest", "version": 2, "model": model}  # a forest
    with pytest.raises(ValueError, match="version"):
        loads(pickle.dumps(old))
