"""The five indicators of every area of the seeded city, written as the worker writes them
(indicators_1m, indicators_1h via indicator_row), for the scorecard's integration and
browser tests.

Every area scores ``base_score`` (20-99, from its code and the indicator) in every minute
and hour, with these exceptions, so tests know the answers exactly:

- LOW: three grid cells with the lowest environment scores of all (one in D2, two in D1);
- the city's data score has an older version (99) replaced by the newer (the base);
- cell NULLED's service has an older version scored 1 replaced by a NULL (nothing to judge):
  it is not judged, so it is not among the worst;
- the newest minute (``minute`` + 1) is partial: only the data indicator is written.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from detectors.contract.indicators import INDICATORS, Component, Indicator, Score, specs_of
from detectors.contract.places import AreaLevel
from detectors.contract.tables import INDICATORS_1H, INDICATORS_1M, indicator_row
from infra.settings import CommonSettings
from sensors_sim.city import CityModel
from tests.browser.seed import insert


@dataclass(frozen=True)
class SeededScores:
    minute_s: int  # the latest complete minute
    low: tuple[tuple[str, float], ...]  # (cell, environment score), lowest first
    nulled: str  # the cell whose service is not judged


def base_score(code: str, indicator: Indicator) -> float:
    return float(20 + zlib.crc32(f"{code}:{indicator}".encode()) % 80)


def score_of(level: str, code: str, indicator: Indicator, at_s: int, value: float | None) -> Score:
    """An indicator row: every component scored ``value`` (so the indicator is ``value``)."""
    parts = tuple(
        Component(s.name, value, s.unit, value, s.weight) for s in specs_of(indicator)
    )  # fmt: skip
    return Score(AreaLevel(level), code, indicator, at_s * 1000, value, parts)


def seed_scores(
    settings: CommonSettings, city: CityModel, minute_s: int, minutes: int = 3, hours: int = 3
) -> SeededScores:
    cells = {d: [a.code for a in city.level("grid") if a.code.startswith(f"{d}-")]
             for d in ("D1", "D2")}  # fmt: skip
    low = ((cells["D2"][0], 5.0), (cells["D1"][1], 10.0), (cells["D1"][2], 12.0))
    nulled = cells["D1"][3]
    special = {(code, Indicator.ENVIRONMENT): value for code, value in low}
    rows_1m: list[tuple[object, ...]] = []
    rows_1h: list[tuple[object, ...]] = []
    for area in city.areas:
        for indicator in INDICATORS:
            value = special.get((area.code, indicator), base_score(area.code, indicator))
            for m in range(minutes):
                at = minute_s - m * 60
                final = None if (area.code, indicator) == (nulled, Indicator.SERVICE) else value
                rows_1m.append(indicator_row(score_of(area.level, area.code, indicator, at,
                                                      final), 2))  # fmt: skip
            if indicator is Indicator.DATA:
                rows_1m.append(indicator_row(score_of(area.level, area.code, indicator,
                                                      minute_s + 60, value), 2))  # fmt: skip
            for h in range(1, hours + 1):
                at = minute_s // 3600 * 3600 - h * 3600
                rows_1h.append(indicator_row(score_of(area.level, area.code, indicator, at,
                                                      value), 1))  # fmt: skip
    older = [
        indicator_row(score_of("city", city.level("city")[0].code, Indicator.DATA, minute_s,
                               99.0), 1),
        indicator_row(score_of("grid", nulled, Indicator.SERVICE, minute_s, 1.0), 1),
    ]  # fmt: skip
    insert(settings, "indicators_1m", INDICATORS_1M.column_list, rows_1m + older)
    insert(settings, "indicators_1h", INDICATORS_1H.column_list, rows_1h)
    return SeededScores(minute_s, low, nulled)
