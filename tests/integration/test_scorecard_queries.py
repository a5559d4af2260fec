"""The scorecard query against the real ClickHouse, over the seeded indicators
(tests/browser/seed_scores.py): the latest complete minute, the newest version of each
row (a NULL score included), the worst cells' order, the trends, and the district scope."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest

from dashboard.model import Scorecard
from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope, ScopeError
from detectors.contract.indicators import INDICATORS, Indicator, specs_of
from infra.clickhouse import connect, drop_database, ensure_schema
from infra.settings import CommonSettings, load
from tests.browser.seed import Seeded, seed
from tests.browser.seed_scores import SeededScores, base_score, seed_scores

pytestmark = pytest.mark.integration

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")

World = tuple[ClickHouseQueries, Seeded, SeededScores]


@pytest.fixture(scope="module")
def world(services: CommonSettings) -> Iterator[World]:
    tag = uuid.uuid4().hex[:10]
    settings = load(
        type(services), clickhouse_database=f"cbtest_{tag}", kafka_topic_prefix=f"cbtest-{tag}"
    )
    ensure_schema(settings)
    now_ms = int(time.time() // 60 * 60_000)
    seeded = seed(settings, now_ms)
    scores = seed_scores(settings, seeded.city, now_ms // 1000 - 120)
    yield ClickHouseQueries(lambda: connect(settings), tree_ttl_s=0), seeded, scores
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        drop_database(settings, settings.clickhouse_database)


def _expected_worst(world: World, indicator: Indicator, district: str = "") -> list[str]:
    """The five lowest judged cells (then by code), computed from the seed's rules."""
    _, seeded, scores = world
    low = dict(scores.low)
    cells = [a.code for a in seeded.city.level("grid") if a.code.startswith(district)]
    scored = [
        (low.get(c, base_score(c, indicator)) if indicator is Indicator.ENVIRONMENT
         else base_score(c, indicator), c)
        for c in cells
        if not (indicator is Indicator.SERVICE and c == scores.nulled)
    ]  # fmt: skip
    return [c for _, c in sorted(scored)[:5]]


def test_the_city_now_is_its_latest_complete_minute_newest_versions(world: World) -> None:
    queries, seeded, scores = world
    card = queries.scorecard(COMMANDER, "city", "")
    assert card.minute == scores.minute_s  # not the partial minute after it
    assert {s.indicator: s.score for s in card.now} == {i: base_score("CB", i) for i in INDICATORS}
    data = next(s for s in card.now if s.indicator is Indicator.DATA)
    assert data.score == base_score("CB", Indicator.DATA)  # version 2 wins over the 99
    assert [c.name for c in data.components] == [s.name for s in specs_of(Indicator.DATA)]
    assert {(s.code, s.indicator): s.score for s in card.children} == {
        (d.code, i): base_score(d.code, i)
        for d in seeded.city.level("district")
        for i in INDICATORS
    }


def test_the_worst_cells_are_the_lowest_judged_per_indicator(world: World) -> None:
    queries, _, scores = world
    card = queries.scorecard(COMMANDER, "city", "")
    by_indicator = {i: [s.code for s in card.worst if s.indicator is i] for i in INDICATORS}
    assert by_indicator == {i: _expected_worst(world, i) for i in INDICATORS}
    assert by_indicator[Indicator.ENVIRONMENT][:3] == [code for code, _ in scores.low]
    environment = [s.score for s in card.worst if s.indicator is Indicator.ENVIRONMENT]
    assert environment[:3] == [5.0, 10.0, 12.0]
    # The cell whose newest service row is NULL (an older one scored 1) is not judged.
    assert scores.nulled not in by_indicator[Indicator.SERVICE]
    cell = queries.scorecard(COMMANDER, "grid", scores.nulled)
    assert {s.indicator: s.score for s in cell.now}[Indicator.SERVICE] is None
    assert cell.worst == () and cell.children == ()


def test_a_district_operator_gets_their_district_only(world: World) -> None:
    queries, seeded, scores = world
    card = queries.scorecard(OPERATOR_D1, "district", "D1")
    environment = [s.code for s in card.worst if s.indicator is Indicator.ENVIRONMENT]
    assert environment == _expected_worst(world, Indicator.ENVIRONMENT, "D1-")
    assert environment[:2] == [code for code, _ in scores.low[1:]]  # not D2's lowest
    assert all(s.code.startswith("D1-") for s in card.worst)
    streets = {a.code for a in seeded.city.level("street") if a.code.startswith("D1-")}
    assert {s.code for s in card.children} == streets
    for level, code in (("district", "D2"), ("city", ""), ("grid", scores.low[0][0])):
        with pytest.raises(ScopeError):
            queries.scorecard(OPERATOR_D1, level, code)


def test_the_trends_are_the_areas_minutes_and_hours(world: World) -> None:
    queries, _, scores = world
    card = queries.scorecard(COMMANDER, "district", "D2")
    minute = scores.minute_s
    assert card.day == {
        i: ([(minute - m * 60) * 1000 for m in (2, 1, 0)], [base_score("D2", i)] * 3)
        for i in INDICATORS
    }  # the partial minute after ``minute`` is left out
    hour = minute // 3600 * 3600
    assert card.month == {
        i: ([(hour - h * 3600) * 1000 for h in (3, 2, 1)], [base_score("D2", i)] * 3)
        for i in INDICATORS
    }


def test_an_area_without_indicators_has_no_scorecard_yet(services: CommonSettings) -> None:
    tag = uuid.uuid4().hex[:10]
    settings = load(type(services), clickhouse_database=f"cbtest_{tag}")
    ensure_schema(settings)
    try:
        seeded = seed(settings, int(time.time() // 60 * 60_000))
        queries = ClickHouseQueries(lambda: connect(settings))
        assert queries.scorecard(COMMANDER, "district", "D1") == Scorecard(0)
        assert seeded.city.level("district")
    finally:
        drop_database(settings, settings.clickhouse_database)
