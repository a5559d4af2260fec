"""Domain limits from public Chinese standards, as bands that static rules check.

A band ``(level, low, high)`` says: a value outside ``[low, high]`` reaches ``level``
(``None`` means unbounded on that side). Where a standard gives one tolerance and not four
steps, the steps above it are citybrain's defaults and say so; every number here can be
overridden per site (``Site.limits``).

>>> [round(b.high, 1) for b in aqi_bands("pm25")]   # IAQI 100, 150, 200, 300
[75.0, 115.0, 150.0, 250.0]
>>> round(iaqi("pm25", 75.0)), round(iaqi("pm25", 55.0))
(100, 75)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from detectors.contract.levels import WarningLevel


class Band(NamedTuple):
    """A value outside ``[low, high]`` reaches ``level`` (1=IV .. 4=I)."""

    level: int
    low: float | None
    high: float | None

    def breached(self, value: float) -> bool:
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )

    def threshold(self, value: float) -> float | None:
        """The limit on the side ``value`` lies (or the nearer side)."""
        if self.low is None or (self.high is not None and value >= self.low):
            return self.high
        return self.low


IAQI_STEPS: tuple[float, ...] = (0, 50, 100, 150, 200, 300, 400, 500)
AQI_BREAKPOINTS: dict[str, tuple[float, ...]] = {
    # HJ 633-2012 table 1, the limits of real-time (hourly) reporting: NO2 and CO by their
    # 1 h limits, which the standard keeps for real-time reports (their 24 h limits, 80
    # ug/m3 NO2 at IAQI 100, are for daily means: ordinary evening traffic reached them
    # minute by minute); O3 by its 1 h limit; PM2.5 and PM10, which have no 1 h limits,
    # and SO2 (whose 1 h limits stop at 800) by their 24 h limits.
    "pm25": (0, 35, 75, 115, 150, 250, 350, 500),
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),
    "no2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "o3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "so2": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "co": (0, 5, 10, 35, 60, 90, 120, 150),
}
AQI_LEVELS: tuple[tuple[float, WarningLevel], ...] = (
    (100, WarningLevel.IV),  # above 100: lightly polluted (轻度污染)
    (150, WarningLevel.III),  # moderately polluted (中度污染)
    (200, WarningLevel.II),  # heavily polluted (重度污染)
    (300, WarningLevel.I),  # severely polluted (严重污染)
)
RAINSTORM: tuple[tuple[WarningLevel, int, float], ...] = (
    # China Meteorological Administration rainstorm warnings: (level, window hours, mm).
    (WarningLevel.IV, 12, 50.0),
    (WarningLevel.III, 6, 50.0),
    (WarningLevel.II, 3, 50.0),
    (WarningLevel.I, 3, 100.0),
)
NOISE_LIMITS_DB: dict[str, tuple[float, float]] = {
    # GB 3096-2008 (day, night) dB(A) per acoustic zone class.
    "0": (50, 40), "1": (55, 45), "2": (60, 50), "3": (65, 55), "4a": (70, 55),
}  # fmt: skip
FREQUENCY_HZ, FREQUENCY_TOLERANCE_HZ = 50.0, 0.2  # GB/T 15945
MIN_SERVICE_PRESSURE_MPA = 0.14  # CJJ 207: pressure at the ends of the network
_STEPS = (1.0, 1.5, 2.5, 5.0)  # citybrain: tolerance multiples for levels IV .. I


def iaqi(pollutant: str, concentration: float) -> float:
    """The individual air-quality index of a concentration (HJ 633-2012, linear between
    breakpoints, 500 above the top)."""
    points = AQI_BREAKPOINTS[pollutant]
    for i in range(1, len(points)):
        if concentration <= points[i]:
            low, high = points[i - 1], points[i]
            share = (concentration - low) / (high - low)
            return IAQI_STEPS[i - 1] + share * (IAQI_STEPS[i] - IAQI_STEPS[i - 1])
    return IAQI_STEPS[-1]


def concentration_at(pollutant: str, index: float) -> float:
    """The concentration whose IAQI is ``index`` (the inverse of :func:`iaqi`)."""
    points = AQI_BREAKPOINTS[pollutant]
    for i in range(1, len(IAQI_STEPS)):
        if index <= IAQI_STEPS[i]:
            share = (index - IAQI_STEPS[i - 1]) / (IAQI_STEPS[i] - IAQI_STEPS[i - 1])
            return points[i - 1] + share * (points[i] - points[i - 1])
    return points[-1]


def aqi_bands(pollutant: str) -> list[Band]:
    """Bands at the concentrations of IAQI 100, 150, 200 and 300."""
    return [Band(int(lv), None, concentration_at(pollutant, ix)) for ix, lv in AQI_LEVELS]


def flood_bands(warning_m: float, guaranteed_m: float, nearing_m: float = 0.3) -> list[Band]:
    """A river gauge's bands: nearing the warning level (IV, citybrain), at the warning
    level 警戒水位 (III), halfway to the guaranteed level (II, citybrain), at the
    guaranteed level 保证水位 (I)."""
    halfway = (warning_m + guaranteed_m) / 2
    steps = (warning_m - nearing_m, warning_m, halfway, guaranteed_m)
    return [Band(int(lv), None, m) for lv, m in zip(WarningLevel, steps, strict=True)]


def frequency_bands(nominal_hz: float = FREQUENCY_HZ) -> list[Band]:
    """+-0.2 Hz (GB/T 15945) is level IV; 1.5, 2.5 and 5 times it are III, II, I."""
    return _tolerance(nominal_hz, FREQUENCY_TOLERANCE_HZ, FREQUENCY_TOLERANCE_HZ)


def voltage_bands(nominal_kv: float) -> list[Band]:
    """GB/T 12325 supply voltage deviation: 20 kV and below +-7 %; 220 V single-phase
    +7 % / -10 %. The tolerance is level IV; 1.5, 2.5, 5 times it are III, II, I."""
    if nominal_kv <= 0.25:
        return _tolerance(nominal_kv, 0.07 * nominal_kv, 0.10 * nominal_kv)
    return _tolerance(nominal_kv, 0.07 * nominal_kv, 0.07 * nominal_kv)


def _tolerance(nominal: float, above: float, below: float) -> list[Band]:
    return [
        Band(int(lv), nominal - below * k, nominal + above * k)
        for lv, k in zip(WarningLevel, _STEPS, strict=True)
    ]


def above_bands(thresholds: Sequence[float]) -> list[Band]:
    """Levels IV .. I above increasing thresholds."""
    return [Band(int(lv), None, t) for lv, t in zip(WarningLevel, thresholds, strict=True)]


def below_bands(thresholds: Sequence[float]) -> list[Band]:
    """Levels IV .. I below decreasing thresholds."""
    return [Band(int(lv), t, None) for lv, t in zip(WarningLevel, thresholds, strict=True)]


def default_bands(metric: str, site: Mapping[str, float]) -> list[Band] | None:
    """The static bands of a metric at a site, or None where no limit applies.

    ``site`` carries the per-site references: ``warning`` and ``guaranteed`` water levels
    for a river gauge, ``nominal_kv`` for a feeder (10 kV if absent).
    """
    if metric in ("pm25", "pm10", "no2", "o3"):
        return aqi_bands(metric)
    if metric == "water_level":
        if "warning" not in site or "guaranteed" not in site:
            return None
        return flood_bands(site["warning"], site["guaranteed"])
    if metric == "frequency":
        return frequency_bands()
    if metric == "voltage":
        return voltage_bands(site.get("nominal_kv", 10.0))
    return _FIXED.get(metric)


_FIXED: dict[str, list[Band]] = {
    # citybrain defaults, no public standard: load in % of rating (100 = overload), drain
    # pipe fill in %, and the two status flags.
    "load": above_bands((100.0, 110.0, 130.0, 150.0)),
    "pipe_level": above_bands((70.0, 80.0, 90.0, 98.0)),
    "main_pressure": below_bands((0.20, MIN_SERVICE_PRESSURE_MPA, 0.10, 0.05)),
    "signal_fault": [Band(int(WarningLevel.III), None, 0.5)],
    "breaker_open": [Band(int(WarningLevel.II), None, 0.5)],
}
