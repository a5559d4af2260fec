"""Static limits from the public standards, as tables: (input, expected)."""

from __future__ import annotations

import pytest

from detectors.contract.levels import WarningLevel, level_for, parse_level
from detectors.scoring.limits import (
    aqi_bands,
    default_bands,
    flood_bands,
    frequency_bands,
    iaqi,
    voltage_bands,
)
from detectors.scoring.static import RainstormWarning, StaticLimit

MIN = 60_000


def level_of(bands: list, value: float, hold_ms: int = 0) -> WarningLevel | None:
    """The level a static rule gives a value held for ``hold_ms``."""
    rule = StaticLimit(bands=bands, hold_ms=hold_ms)
    rule.learn_one(0, value)
    return level_for(rule.score_one(hold_ms, value))


# HJ 633-2012: each pollutant's breakpoints at IAQI 100, 150, 200, 300 (NO2 by its 1 h
# limits, those of real-time reports).
AQI_BREAKPOINTS = [
    ("pm25", (75, 115, 150, 250)),
    ("pm10", (150, 250, 350, 420)),
    ("no2", (200, 700, 1200, 2340)),
    ("o3", (200, 300, 400, 800)),
]


@pytest.mark.parametrize(("pollutant", "breakpoints"), AQI_BREAKPOINTS)
def test_aqi_bands_sit_on_the_published_breakpoints(pollutant: str, breakpoints: tuple) -> None:
    assert [b.high for b in aqi_bands(pollutant)] == pytest.approx(breakpoints)
    levels = [WarningLevel.IV, WarningLevel.III, WarningLevel.II, WarningLevel.I]
    for concentration, level in zip(breakpoints, levels, strict=True):
        assert level_of(aqi_bands(pollutant), concentration) == (
            None if level is WarningLevel.IV else WarningLevel(level - 1)
        )  # at the breakpoint the class below still holds ...
        assert level_of(aqi_bands(pollutant), concentration + 0.1) == level  # ... above, not


@pytest.mark.parametrize(
    ("pollutant", "concentration", "index"),
    [("pm25", 35, 50), ("pm25", 55, 75), ("pm25", 500, 500), ("pm25", 900, 500),
     ("pm10", 150, 100), ("no2", 1200, 200), ("o3", 1200, 500), ("co", 10, 100), ("so2", 0, 0)],
)  # fmt: skip
def test_individual_aqi(pollutant: str, concentration: float, index: float) -> None:
    assert iaqi(pollutant, concentration) == pytest.approx(index)


@pytest.mark.parametrize(
    ("level_m", "expected"),
    [(3.5, None), (3.71, WarningLevel.IV), (4.01, WarningLevel.III), (4.6, WarningLevel.II),
     (5.01, WarningLevel.I)],
)  # fmt: skip
def test_flood_levels_of_a_gauge(level_m: float, expected: WarningLevel | None) -> None:
    """Warning level 4.0 m (警戒水位), guaranteed safe level 5.0 m (保证水位)."""
    assert level_of(flood_bands(4.0, 5.0), level_m) == expected


@pytest.mark.parametrize(
    ("hz", "expected"),
    [(50.0, None), (50.2, None), (49.8, None), (50.21, WarningLevel.IV), (49.79, WarningLevel.IV),
     (50.35, WarningLevel.III), (49.45, WarningLevel.II), (51.2, WarningLevel.I)],
)  # fmt: skip
def test_grid_frequency_tolerance_is_two_tenths_of_a_hertz(
    hz: float, expected: WarningLevel | None
) -> None:
    assert level_of(frequency_bands(), hz) == expected


@pytest.mark.parametrize(
    ("nominal_kv", "kv", "expected"),
    [
        (10.0, 10.69, None), (10.0, 10.71, WarningLevel.IV), (10.0, 9.31, None),
        (10.0, 9.29, WarningLevel.IV), (10.0, 0.0, WarningLevel.I),
        # 220 V single phase: +7 % / -10 %
        (0.22, 0.2353, None), (0.22, 0.2356, WarningLevel.IV), (0.22, 0.1981, None),
        (0.22, 0.1979, WarningLevel.IV),
    ],
)  # fmt: skip
def test_supply_voltage_deviation(
    nominal_kv: float, kv: float, expected: WarningLevel | None
) -> None:
    assert level_of(voltage_bands(nominal_kv), kv) == expected


def test_a_limit_must_be_held_for_its_duration() -> None:
    rule = StaticLimit(bands=aqi_bands("pm25"), hold_ms=10 * MIN)
    scores = []
    for minute in range(15):
        value = 90.0 if minute != 5 else 60.0  # one dip restarts the clock
        scores.append(rule.score_one(minute * MIN, value))
        rule.learn_one(minute * MIN, value)
    assert all(s == 0.0 for s in scores)  # held since minute 6: 8 minutes at most
    assert rule.score_one(16 * MIN, 90.0) == WarningLevel.IV.score


@pytest.mark.parametrize(
    ("mm_per_5min", "hours", "expected"),
    [(0.3, 12, None), (0.4, 12, WarningLevel.IV), (0.8, 6, WarningLevel.III),
     (1.2, 3, None), (1.5, 3, WarningLevel.II), (3.0, 3, WarningLevel.I)],
)  # fmt: skip
def test_rainstorm_warnings_from_rolling_totals(
    mm_per_5min: float, hours: int, expected: WarningLevel | None
) -> None:
    """CMA: 50 mm in 12 h blue, in 6 h yellow, in 3 h orange; 100 mm in 3 h red."""
    rule, steps = RainstormWarning(), hours * 12
    for i in range(steps - 1):
        rule.learn_one(i * 5 * MIN, mm_per_5min)
    assert level_for(rule.score_one((steps - 1) * 5 * MIN, mm_per_5min)) == expected


def test_per_site_limits_and_metrics_without_limits() -> None:
    assert default_bands("water_level", {}) is None  # a gauge needs its own levels
    assert default_bands("water_level", {"warning": 4.0, "guaranteed": 5.0}) == flood_bands(
        4.0, 5.0
    )
    assert default_bands("voltage", {"nominal_kv": 0.22}) == voltage_bands(0.22)
    assert default_bands("temperature", {}) is None
    assert level_of(default_bands("main_pressure", {}) or [], 0.13) == WarningLevel.III  # CJJ 207
    assert level_of(default_bands("breaker_open", {}) or [], 1.0) == WarningLevel.II


def test_levels_have_names_colours_and_parse_back() -> None:
    assert [lv.colour for lv in WarningLevel] == ["blue", "yellow", "orange", "red"]
    assert [lv.zh for lv in WarningLevel] == ["一般", "较大", "重大", "特别重大"]
    assert parse_level("orange") is parse_level("II") is parse_level(3) is WarningLevel.II
    assert all(level_for(lv.score) is lv and level_for(lv.floor) is lv for lv in WarningLevel)
