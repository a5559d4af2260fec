"""What each sensor reads at a given time: daily cycles of a city plus seeded noise.

Every model is a pure function of (source, metric, event time, random generator); the
time fixes the cycle (local time is UTC+8), the source id fixes a site's own level, and
the generator adds the noise. Values are clamped to the metric's plausible range, so a
valid event is never rejected as out of range.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from functools import lru_cache

from detectors.contract.events import METRICS, Source

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
LOCAL_OFFSET_H = 8.0

Model = Callable[[str, int, random.Random], float]
"""(source id, ts_ms, rng) -> raw value, before clamping and rounding."""


def value(
    source: Source, metric: str, ts_ms: int, rng: random.Random, elapsed_ms: int | None = None
) -> float:
    """The reading of ``source``'s ``metric`` at ``ts_ms``, inside the metric's range. An
    accumulated metric (rain: mm since the last reading) covers ``elapsed_ms`` since the
    stream's previous reading (its model's own span when None): a gauge read every 15 s
    reports a twentieth of what it would report every 5 minutes, not as much."""
    model, decimals = MODELS[metric]
    spec = METRICS[metric]
    raw = model(source.source_id, ts_ms, rng)
    span = ACCUMULATED_MS.get(metric)
    if span is not None and elapsed_ms is not None:
        raw *= elapsed_ms / span
    return round(min(max(raw, spec.low), spec.high), decimals)


def local_hour(ts_ms: int) -> float:
    """Hour of the day in the city (UTC+8), 0 <= h < 24.

    >>> local_hour(0)
    8.0
    """
    return (ts_ms / HOUR_MS + LOCAL_OFFSET_H) % 24


@lru_cache(maxsize=65536)
def site_factor(source_id: str, salt: str) -> float:
    """A site's own fixed draw in [0, 1): what makes one station read higher than another."""
    return zlib.crc32(f"{salt}:{source_id}".encode()) / 2**32


def _peak(hour: float, at: float, width: float) -> float:
    """A daily bump centred on hour ``at``, 1 at its top, wrapping round midnight."""
    distance = min(abs(hour - at), 24 - abs(hour - at))
    return math.exp(-0.5 * (distance / width) ** 2)


def _cosine(hour: float, peak_at: float) -> float:
    """-1 .. 1 over the day, 1 at ``peak_at``."""
    return math.cos(2 * math.pi * (hour - peak_at) / 24)


def traffic_demand(ts_ms: int) -> float:
    """Share of peak traffic, 0..1: rush hours at 08:00 and 18:00, a midday plateau, quiet
    nights."""
    hour = local_hour(ts_ms)
    rush = max(_peak(hour, 8.0, 1.1), _peak(hour, 18.0, 1.4))
    daytime = 0.55 * _peak(hour, 13.0, 3.5)
    return min(1.0, 0.08 + rush * 0.92 + daytime * (1 - rush))


def power_demand(ts_ms: int) -> float:
    """Share of peak electric load, 0..1: a morning ramp, an office-hours block, an evening
    peak."""
    hour = local_hour(ts_ms)
    return min(1.0, 0.35 + 0.4 * _peak(hour, 11.0, 2.5) + 0.5 * _peak(hour, 20.0, 2.0))


def rain_intensity(ts_ms: int) -> float:
    """City-wide rain, 0..1: about one three-hour block in five is a shower that swells and
    fades."""
    block, offset = divmod(ts_ms, 3 * HOUR_MS)
    draw = zlib.crc32(f"rain:{block}".encode()) / 2**32
    if draw >= 0.2:
        return 0.0
    strength = 0.2 + 4 * draw  # 0.2 .. 1.0
    return strength * math.sin(math.pi * offset / (3 * HOUR_MS))


def _season(ts_ms: int) -> float:
    """-1 in mid-January .. 1 in mid-July."""
    day_of_year = (ts_ms / DAY_MS) % 365.2425
    return math.cos(2 * math.pi * (day_of_year - 196) / 365.2425)


def _noisy(level: float, rng: random.Random, relative: float) -> float:
    return level * (1 + rng.gauss(0, relative))


def _pm25(source_id: str, ts_ms: int, rng: random.Random) -> float:
    hour = local_hour(ts_ms)
    # Ordinary days stay below the 75 ug/m3 band (HJ 633); episodes come from scenarios.
    base = 15 + 15 * site_factor(source_id, "pm")
    return _noisy(base * (1 + 0.35 * _cosine(hour, 7.0) - 0.25 * _season(ts_ms)), rng, 0.06)


def _pm10(source_id: str, ts_ms: int, rng: random.Random) -> float:
    return 1.7 * _pm25(source_id, ts_ms, rng)


def _no2(source_id: str, ts_ms: int, rng: random.Random) -> float:
    base = 10 + 15 * site_factor(source_id, "no2")
    return _noisy(base + 25 * traffic_demand(ts_ms), rng, 0.07)


def _o3(source_id: str, ts_ms: int, rng: random.Random) -> float:
    sun = max(0.0, math.sin(math.pi * (local_hour(ts_ms) - 7) / 12))
    return _noisy(20 + (60 + 40 * site_factor(source_id, "o3")) * sun, rng, 0.06)


def _noise(source_id: str, ts_ms: int, rng: random.Random) -> float:
    base = 40 + 8 * site_factor(source_id, "noise")
    return base + 22 * traffic_demand(ts_ms) + rng.gauss(0, 1.5)


def _temperature(source_id: str, ts_ms: int, rng: random.Random) -> float:
    mean = 17.5 + 11.5 * _season(ts_ms) + 1.5 * site_factor(source_id, "heat")
    return mean + 4.5 * _cosine(local_hour(ts_ms), 15.0) + rng.gauss(0, 0.15)


def _humidity(source_id: str, ts_ms: int, rng: random.Random) -> float:
    wet = 20 * rain_intensity(ts_ms)
    base = 70 + 6 * site_factor(source_id, "humid")
    return base - 14 * _cosine(local_hour(ts_ms), 15.0) + wet + rng.gauss(0, 0.8)


def _flow(source_id: str, ts_ms: int, rng: random.Random) -> float:
    capacity = 900 + 1800 * site_factor(source_id, "road")
    return _noisy(capacity * traffic_demand(ts_ms), rng, 0.05)


def _speed(source_id: str, ts_ms: int, rng: random.Random) -> float:
    free_flow = 45 + 35 * site_factor(source_id, "limit")
    return free_flow * (1 - 0.6 * traffic_demand(ts_ms) ** 2) + rng.gauss(0, 2.0)


def _occupancy(source_id: str, ts_ms: int, rng: random.Random) -> float:
    return 3 + 55 * math.pow(traffic_demand(ts_ms), 1.5) + rng.gauss(0, 1.5)


def rare_window(source_id: str, ts_ms: int, salt: str, window_ms: int, odds: int) -> bool:
    """Whether a fault is on: a source is faulty for whole windows, about one in ``odds``."""
    window = ts_ms // window_ms
    return zlib.crc32(f"{salt}:{source_id}:{window}".encode()) % odds == 0


def _signal_fault(source_id: str, ts_ms: int, rng: random.Random) -> float:
    return 1.0 if rare_window(source_id, ts_ms, "signal", 20 * 60_000, 4000) else 0.0


def _water_level(source_id: str, ts_ms: int, rng: random.Random) -> float:
    # The Qiantang is tidal: a 12.42 h semi-diurnal swing on a slowly rain-fed level.
    base = 3.0 + 2.0 * site_factor(source_id, "datum")
    tide = 0.35 * math.sin(
        2 * math.pi * ts_ms / (12.42 * HOUR_MS) + 6 * site_factor(source_id, "tide")
    )
    swell = 0.6 * rain_intensity(ts_ms - 2 * HOUR_MS)
    return base + tide + swell + rng.gauss(0, 0.005)


ACCUMULATED_MS = {"rainfall": 5 * 60_000}
"""Metrics whose value is an amount since the last reading, and the span their model
gives an amount for (see :func:`value`)."""
SHOWER_MM = 0.25
"""Rain in one 5-minute reading at a shower's peak (3 mm an hour, moderate rain): the
ordinary city's showers leave 1-8 mm each, some 1,600 mm a year (Hangzhou has about 1,400),
far from any rainstorm warning; rainstorms come from scenarios. (It was 6 mm a reading,
so an ordinary shower left up to 180 mm in three hours, a level-I rainstorm every few
days, and the live product raised rainstorm alerts on ordinary weather.)"""


def _rainfall(source_id: str, ts_ms: int, rng: random.Random) -> float:
    intensity = rain_intensity(ts_ms)
    if intensity <= 0:
        return 0.0
    local = 0.7 + 0.6 * site_factor(source_id, "rain")
    return max(0.0, SHOWER_MM * intensity * local * (1 + rng.gauss(0, 0.1)))


DRAIN_FILL = 15.0
"""Drain fill (% of the pipe) at an ordinary shower's peak, 3 mm an hour: drains fill by a
sixth, far from their 70 % warning; full drains come from the flood scenario. (It was 55 %,
sized for the old 72 mm-an-hour showers: an ordinary shower brought drains to 85 %, and
the forecast rightly warned on every one.)"""


def _pipe_level(source_id: str, ts_ms: int, rng: random.Random) -> float:
    base = 12 + 10 * site_factor(source_id, "pipe")
    use = 8 * max(_peak(local_hour(ts_ms), 7.5, 1.5), _peak(local_hour(ts_ms), 20.0, 2.0))
    rain = DRAIN_FILL * rain_intensity(ts_ms - 30 * 60_000)
    return base + use + rain + rng.gauss(0, 0.6)


def _main_pressure(source_id: str, ts_ms: int, rng: random.Random) -> float:
    # Demand pulls pressure down at breakfast and supper time.
    hour = local_hour(ts_ms)
    demand = max(_peak(hour, 7.0, 1.2), _peak(hour, 19.0, 1.5))
    return 0.32 + 0.06 * site_factor(source_id, "head") - 0.05 * demand + rng.gauss(0, 0.003)


def _load(source_id: str, ts_ms: int, rng: random.Random) -> float:
    # An ordinary day's peak is 50-80 % of a feeder's rating (headroom to carry a neighbour
    # after a fault); up to 95 % had the forecast warn of overloads every evening.
    rating = 0.5 + 0.3 * site_factor(source_id, "rating")
    return _noisy(100 * rating * power_demand(ts_ms), rng, 0.02)


def _voltage(source_id: str, ts_ms: int, rng: random.Random) -> float:
    # A 10 kV feeder sags a little under load (GB/T 12325 allows +-7 %).
    sag = 0.25 * power_demand(ts_ms)
    return 10.35 + 0.1 * site_factor(source_id, "tap") - sag + rng.gauss(0, 0.02)


def _frequency(source_id: str, ts_ms: int, rng: random.Random) -> float:
    return 50.0 + rng.gauss(0, 0.015)


def _breaker_open(source_id: str, ts_ms: int, rng: random.Random) -> float:
    return 1.0 if rare_window(source_id, ts_ms, "breaker", 30 * 60_000, 6000) else 0.0


MODELS: dict[str, tuple[Model, int]] = {
    "pm25": (_pm25, 1),
    "pm10": (_pm10, 1),
    "no2": (_no2, 1),
    "o3": (_o3, 1),
    "noise": (_noise, 1),
    "temperature": (_temperature, 2),
    "humidity": (_humidity, 1),
    "flow": (_flow, 0),
    "speed": (_speed, 1),
    "occupancy": (_occupancy, 1),
    "signal_fault": (_signal_fault, 0),
    "water_level": (_water_level, 3),
    "rainfall": (_rainfall, 4),  # small amounts when read often: rounding must not add rain
    "pipe_level": (_pipe_level, 1),
    "main_pressure": (_main_pressure, 4),
    "load": (_load, 1),
    "voltage": (_voltage, 3),
    "frequency": (_frequency, 3),
    "breaker_open": (_breaker_open, 0),
}
"""The model of every sensor metric and the decimals its readings are sent with."""
