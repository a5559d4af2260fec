"""Sensor signals: always in range, with the daily cycles of a city."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from detectors.contract.events import METRICS, SENSOR_FAMILIES, Family, Location, Source
from detectors.scoring.static import RainstormWarning
from sensors_sim import signals

WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")


def _source(metric: str, source_id: str = "SRC-0001") -> Source:
    family = METRICS[metric].family
    return Source(source_id, family, "test", frozenset({metric}), WHERE, 120.2, 30.25, 60)


def _local(year: int, month: int, day: int, hour: int) -> int:
    """Epoch ms of a local (UTC+8) wall-clock hour."""
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000) - 8 * 3_600_000


SENSOR_METRICS = [m for m, spec in METRICS.items() if spec.family in SENSOR_FAMILIES]


def test_every_sensor_metric_has_a_model() -> None:
    assert set(signals.MODELS) == set(SENSOR_METRICS)


@pytest.mark.parametrize("metric", SENSOR_METRICS)
def test_values_stay_in_range_over_a_year(metric: str) -> None:
    spec = METRICS[metric]
    rng = random.Random(3)
    start = _local(2025, 1, 1, 0)
    for step in range(0, 365 * 24 * 4, 7):  # every 105 minutes through a year
        ts = start + step * 15 * 60_000
        for source_id in ("S-1", "S-2", "S-3"):
            value = signals.value(_source(metric, source_id), metric, ts, rng)
            assert spec.low <= value <= spec.high


def _mean(metric: str, ts_ms: int, sources: int = 40) -> float:
    rng = random.Random(1)
    values = [signals.value(_source(metric, f"X-{n}"), metric, ts_ms, rng) for n in range(sources)]
    return sum(values) / len(values)


def test_traffic_peaks_in_rush_hours() -> None:
    day = (2025, 6, 3)
    assert _mean("flow", _local(*day, 8)) > 2 * _mean("flow", _local(*day, 3))
    assert _mean("flow", _local(*day, 18)) > 2 * _mean("flow", _local(*day, 3))
    assert _mean("speed", _local(*day, 8)) < _mean("speed", _local(*day, 3))
    assert _mean("occupancy", _local(*day, 18)) > _mean("occupancy", _local(*day, 23))


def test_temperature_peaks_mid_afternoon_and_in_summer() -> None:
    assert _mean("temperature", _local(2025, 7, 10, 15)) > _mean(
        "temperature", _local(2025, 7, 10, 5)
    )
    assert _mean("temperature", _local(2025, 7, 10, 15)) > _mean(
        "temperature", _local(2025, 1, 10, 15)
    )


def test_particulates_higher_in_the_morning_than_the_afternoon() -> None:
    assert _mean("pm25", _local(2025, 3, 3, 7)) > _mean("pm25", _local(2025, 3, 3, 16))


def test_power_load_follows_the_day() -> None:
    assert _mean("load", _local(2025, 3, 3, 20)) > _mean("load", _local(2025, 3, 3, 4))
    assert 49.8 < _mean("frequency", _local(2025, 3, 3, 12)) < 50.2


def test_water_level_changes_slowly() -> None:
    source = _source("water_level")
    rng = random.Random(2)
    start = _local(2025, 5, 5, 0)
    levels = [signals.value(source, "water_level", start + m * 60_000, rng) for m in range(120)]
    assert max(abs(b - a) for a, b in zip(levels, levels[1:], strict=False)) < 0.05


def test_flags_are_zero_or_one_and_mostly_zero() -> None:
    rng = random.Random(0)
    start = _local(2025, 5, 5, 0)
    for metric in ("signal_fault", "breaker_open"):
        values = [
            signals.value(_source(metric, f"F-{n}"), metric, start + n * 600_000, rng)
            for n in range(2000)
        ]
        assert set(values) <= {0.0, 1.0}
        assert sum(values) < 20


def test_same_inputs_same_value() -> None:
    source = _source("pm25")
    first = signals.value(source, "pm25", 1_764_115_200_000, random.Random(9))
    again = signals.value(source, "pm25", 1_764_115_200_000, random.Random(9))
    assert first == again


def test_local_hour_is_utc_plus_eight() -> None:
    assert signals.local_hour(_local(2025, 1, 1, 8)) == pytest.approx(8.0)


def test_rain_comes_in_showers() -> None:
    start = _local(2025, 6, 1, 0)
    hours = [signals.rain_intensity(start + h * 3_600_000) for h in range(24 * 30)]
    wet = sum(1 for h in hours if h > 0)
    assert 0 < wet < len(hours) / 2
    assert Family.WATER is METRICS["rainfall"].family


def test_ordinary_showers_raise_no_rainstorm_warning() -> None:
    """A month of a gauge's 5-minute readings through the rainstorm rule: showers, no
    warning (rainstorms are scenarios, not the ordinary city's weather)."""
    rng, start = random.Random(3), _local(2025, 6, 1, 0)
    warning, wet = RainstormWarning(), 0.0
    for step in range(30 * 24 * 12):
        ts = start + step * 300_000
        mm = signals.MODELS["rainfall"][0]("WAT-0001", ts, rng)
        wet += mm
        assert warning.score_one(ts, mm) == 0.0, f"a rainstorm warning at {step * 5} min"
        warning.learn_one(ts, mm)
    assert 20.0 < wet < 400.0  # it does rain: a wet month has some 100-250 mm


def test_a_gauge_read_more_often_reports_the_same_rain_in_smaller_amounts() -> None:
    """Rain is mm since the last reading: a gauge the simulator visits every 15 s (3042
    streams at 200 events/s) must not report a 5-minute amount each time."""
    start = _local(2025, 6, 1, 0)
    wet_block = next(
        b for b in range(200) if signals.rain_intensity(start + b * 10_800_000 + 5_400_000) > 0.3
    )
    begin, source = start + wet_block * 10_800_000, _source("rainfall", "WAT-0001")

    def total(every_ms: int) -> float:
        rng = random.Random(5)
        return sum(signals.value(source, "rainfall", begin + t, rng, every_ms)
                   for t in range(every_ms, 10_800_000 + 1, every_ms))  # fmt: skip

    five_minutes, fifteen_seconds = total(300_000), total(15_000)
    assert five_minutes > 1.0
    assert fifteen_seconds == pytest.approx(five_minutes, rel=0.15)


def test_an_ordinary_shower_leaves_drains_far_below_their_warning() -> None:
    rng, start = random.Random(4), _local(2025, 6, 1, 0)
    levels = [signals.value(_source("pipe_level", f"WAT-{n:04d}"), "pipe_level",
                            start + m * 60_000, rng)
              for n in range(20) for m in range(0, 30 * 24 * 60, 7)]  # fmt: skip
    assert max(levels) < 60.0  # the first warning band is at 70 %
