"""The scorecard in headless Chromium over the seeded indicators (seed_scores): the
commander reads the city's five scores and formulas, drills down to a district and to its
worst cell's sensors, in both languages and on the wall; a district operator gets their
district and is refused another's, by address and by a forged refresh."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from dashboard import ids
from detectors.contract.indicators import INDICATORS, Indicator
from infra.settings import CommonSettings
from tests.browser.conftest import screenshot
from tests.browser.seed import Seeded
from tests.browser.seed_scores import SeededScores, base_score, seed_scores
from tests.browser.test_dashboard_browser import (
    _click_link,
    _forged_refresh,
    _has_text,
    _login,
    _path,
    _wait,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

World = tuple[CommonSettings, Seeded]


@pytest.fixture(scope="module")
def scores(world: World) -> SeededScores:
    settings, seeded = world
    return seed_scores(settings, seeded.city, seeded.now_ms // 1000 - 120)


def _scores(driver: WebDriver) -> dict[str, str]:
    """Each card's score, read in one step inside the page (a refresh may redraw it)."""
    found = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.score-value')]"
        "  .map(e => [e.id, e.textContent.trim()]));"
    )
    return dict(found or {})


def _expect(code: str) -> dict[str, str]:
    return {f"score-{i.value}": f"{base_score(code, i):.0f}" for i in INDICATORS}


def _name(world: World, code: str) -> str:
    return next(a.name for a in world[1].city.areas if a.code == code)


def test_commander_reads_the_scores_and_drills_down_to_a_cells_sensors(
    dashboard: str, world: World, scores: SeededScores, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    _click_link(driver, "scorecard", ids.HEADER)
    _wait(driver, lambda d: _path(d) == "/scorecard")
    _wait(driver, lambda d: _scores(d) == _expect("CB"))
    _wait(driver, _has_text("card-data", "catalog freshness target"))  # the formula
    screenshot(driver, "scorecard-1-city")

    _click_link(driver, _name(world, "D1"), ids.SCORE_CHILDREN)  # down a tier
    _wait(driver, lambda d: _path(d) == "/scorecard/district/D1")
    _wait(driver, lambda d: _scores(d) == _expect("D1"))
    low_cell = scores.low[1][0]  # D1's lowest environment score: first among its worst
    # the city's table, which can hold the same cell, stays up until the district's comes:
    # wait for the district's rows rather than for the cell
    expected = [(scores.low[1][0], "10"), (scores.low[2][0], "12")]
    try:
        _wait(driver, lambda d: _lowest_environment(d) == expected)
    except TimeoutException:
        raise AssertionError(f"worst cells {_lowest_environment(driver)}, not {expected}") from None

    _click_link(driver, _name(world, low_cell), ids.SCORE_WORST)  # to the cell
    _wait(driver, lambda d: _path(d) == f"/scorecard/grid/{low_cell}")
    sensor = next(
        s.source_id
        for s in world[1].city.sources
        if s.location.grid == low_cell and s.family.value != "case"
    )
    _wait(driver, _has_text(ids.SCORE_CHILDREN, sensor))
    _wait(driver, lambda d: _scores(d)["score-environment"] == "10")
    _click_link(driver, sensor, ids.SCORE_CHILDREN)  # to the sensor behind it
    _wait(driver, lambda d: _path(d).startswith(f"/sensor/{sensor}"))

    driver.get(dashboard + "/scorecard?wall=1")
    _wait(driver, lambda d: _scores(d) == _expect("CB"))
    assert "wall" in (driver.find_element(By.ID, ids.ROOT).get_attribute("class") or "")
    driver.find_element(By.ID, ids.LANG_ZH).click()
    _wait(driver, _has_text("card-data", "计算方法"))
    _wait(driver, _has_text(ids.SCORE_MINUTE, "评分"))
    screenshot(driver, "scorecard-2-city-wall-zh")


def test_a_district_operator_gets_their_district_and_is_refused_another(
    dashboard: str, world: World, scores: SeededScores, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "operator-d1", "operator-demo")
    driver.get(dashboard + "/scorecard")
    _wait(driver, lambda d: _scores(d) == _expect("D1"))
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#score-worst tbody tr')]"
        "  .map(r => r.cells[2].textContent.trim());"
    )
    assert rows and all(code.startswith("D1-") for code in rows)
    assert scores.low[0][0] not in rows  # D2's lowest cell is not theirs

    driver.get(dashboard + "/scorecard/district/D2")
    _wait(driver, _has_text("refusal-message", "district D2 is outside your scope (district D1)"))
    driver.get(dashboard + "/scorecard/city")
    _wait(driver, _has_text("refusal-message", "outside your scope"))

    outputs = [f"{i}.{'figure' if i in (ids.SCORE_DAY, ids.SCORE_MONTH) else 'children'}"
               for i in (ids.SCORE_STATUS, ids.SCORE_MINUTE, ids.SCORE_CARDS, ids.SCORE_DAY,
                         ids.SCORE_MONTH, ids.SCORE_CHILDREN, ids.SCORE_WORST)]  # fmt: skip
    answer = _forged_refresh(driver, ids.SCORE_REFRESH, outputs, "/scorecard/district/D2")
    assert answer["status"] == 200
    body = json.loads(answer["body"])["response"]
    assert "district D2 is outside your scope" in json.dumps(body[ids.SCORE_STATUS])
    assert f"{base_score('D2', Indicator.DATA):.0f}" not in json.dumps(body[ids.SCORE_CARDS])
    assert scores.low[0][0] not in answer["body"]


def _lowest_environment(driver: WebDriver) -> list[tuple[str, str]]:
    """The first two environment rows of the table of worst cells: (cell, score)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#score-worst tbody tr')]"
        "  .map(r => [...r.cells].map(c => c.textContent.trim()));"
    )
    return [(r[2], r[3]) for r in rows or [] if r[0] == "Environment"][:2]
