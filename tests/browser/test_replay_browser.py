"""Issue 11, item 7, in a real browser: the replay page lists a finished replay, opens it,
plays and pauses it, and seeks into its labelled incident, where the map, the active
alerts, the district stages and the charts' moment line show that moment, in English and
in Chinese; the page is photographed at 1920x1080 and, in wall-screen mode, at 3840x2160."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from dashboard import ids
from dashboard.components import when
from dashboard.marks import MOMENT_NAME
from detectors.contract.levels import WarningLevel
from infra.settings import CommonSettings
from replay.store import drop_namespace
from tests.browser.conftest import screenshot
from tests.browser.replay_seed import SeededReplay, seed_replay
from tests.browser.seed import Seeded
from tests.browser.test_dashboard_browser import (
    _READ,
    _click_link,
    _has_text,
    _login,
    _path,
    _press,
    _wait,
)
from tests.browser.test_dashboard_views_browser import SCREENS, _png_size, _ready, commander_screen

pytestmark = [pytest.mark.browser, pytest.mark.integration]

World = tuple[CommonSettings, Seeded]


@pytest.fixture(scope="module")
def recorded(world: World) -> Iterator[SeededReplay]:
    settings, seeded = world
    replay = seed_replay(settings, seeded)
    yield replay
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        drop_namespace(settings, replay.ns)


def _text(driver: WebDriver, element_id: str) -> str:
    """The element's text now ('' while it is not there), read inside the page in one step
    (a refresh may redraw it between a remote find and a remote read)."""
    found = driver.execute_script(_READ, "id", element_id)
    return str(found[0]).strip() if found else ""


def _moment_lines(driver: WebDriver, graph_id: str) -> list[dict[str, Any]]:
    """The moment lines a chart draws (x and label), as the browser has them."""
    found = driver.execute_script(
        """const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        if (!g || !g.layout) return [];
        return (g.layout.shapes || []).filter(s => s.name === arguments[1])
            .map(s => ({x: String(s.x0), label: (s.label || {}).text || ''}));""",
        graph_id,
        MOMENT_NAME,
    )
    return list(found or [])


def _at(x: str) -> int:
    """Epoch ms of a time as plotly keeps it ('2026-01-01 12:03:00' or ISO, UTC)."""
    text = x.replace("T", " ").replace("Z", "").split("+")[0]
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _seek(driver: WebDriver, t_ms: int) -> None:
    """Type the moment into the slider's own input, as an operator can."""
    box = driver.find_element(By.CSS_SELECTOR, f"#{ids.REPLAY_SLIDER} input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(t_ms), Keys.TAB)  # the slider takes a typed value when it loses focus


def _shows_moment(t_ms: int) -> Callable[[WebDriver], bool]:
    """The moment label and both charts' moment lines say ``t_ms``."""

    def check(driver: WebDriver) -> bool:
        if _text(driver, ids.REPLAY_MOMENT) != when(t_ms):
            return False
        lines = [_moment_lines(driver, g) for g in (ids.REPLAY_ACTIVITY, ids.REPLAY_ROLLUP)]
        return all(len(found) == 1 and _at(found[0]["x"]) == t_ms for found in lines)

    return check


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_replay_played_paused_and_seeked_into_its_incident(
    dashboard: str, recorded: SeededReplay, browser: Callable[[], WebDriver], lang: str
) -> None:
    driver = browser()
    _login(driver, dashboard, "engineer", "engineer-demo")
    driver.get(f"{dashboard}/replay?lang={lang}")
    name = recorded.ns.name
    _wait(driver, _has_text(ids.REPLAY_LIST, name), 60)
    assert when(recorded.from_ms) in _text(driver, ids.REPLAY_LIST)
    _click_link(driver, name, ids.REPLAY_LIST)
    _wait(driver, lambda d: _path(d).startswith(f"/replay/{name}"))

    # Opened at its start: nothing active yet, every district at stage 1, charts drawn.
    _wait(driver, _shows_moment(recorded.from_ms), 60)
    assert "rp-" not in _text(driver, ids.REPLAY_ALERTS)

    # Play moves the moment forward; pause holds it.
    _press(driver, ids.REPLAY_PLAY)
    _wait(driver, lambda d: _text(d, ids.REPLAY_MOMENT) not in ("", when(recorded.from_ms)), 30)
    _press(driver, ids.REPLAY_PAUSE)
    # Once paused, two ticks of the clock (1 s each) leave the moment where it is.
    held = _wait(driver, _stable_moment, 30)
    assert recorded.from_ms < _at(held) < recorded.to_ms

    # Seek into the labelled incident, after the drain alert turned red.
    _seek(driver, recorded.seek_ms)
    _wait(driver, _shows_moment(recorded.seek_ms), 30)
    alerts = _text(driver, ids.REPLAY_ALERTS)
    red, orange = (
        f"{level.roman} {level.zh if lang == 'zh' else level.colour}"
        for level in (WarningLevel.I, WarningLevel.II)
    )
    assert red in alerts and orange in alerts, alerts  # the drain alert and the incident
    assert "D1-S1-G01" in alerts and "D2-S1-G01" not in alerts  # the early alert is over
    stages = _text(driver, ids.REPLAY_STAGES)
    assert recorded.red_stage_reason in stages, stages
    assert ("5级" if lang == "zh" else "stage 5") in stages
    fills = driver.execute_script(
        "const g = document.querySelector('#replay-map .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => t.name || '') : [];"
    )
    assert "level-4" in fills, fills  # D1 red on the map
    label = _moment_lines(driver, ids.REPLAY_ROLLUP)[0]["label"]
    assert when(recorded.seek_ms)[11:] in label
    assert ("回放时刻" if lang == "zh" else "replay at") in label
    # The charts mark the replay's alerts and incident where they were raised.
    marks = driver.execute_script(
        "const g = document.querySelector('#replay-activity .js-plotly-plot');"
        "return g.data.filter(t => (t.name || '').includes('-marks-'))"
        ".flatMap(t => t.x.map(String));"
    )
    raised = sorted(_at(x) for x in marks)
    assert recorded.incident.start_ms + 5 * 60_000 in raised, raised
    assert recorded.from_ms + 10 * 60_000 in raised, raised


def _stable_moment(driver: WebDriver) -> str | None:
    """The moment shown once it has not moved for 2.5 s (more than two ticks)."""
    before = _text(driver, ids.REPLAY_MOMENT)
    try:
        _wait(driver, lambda d: _text(d, ids.REPLAY_MOMENT) != before, 2.5)
    except TimeoutException:  # what a held moment looks like
        return before
    return None


@pytest.mark.parametrize(("width", "height", "wall"), SCREENS)
def test_the_replay_page_photographed_at_full_hd_and_on_the_wall_screen(
    dashboard: str,
    recorded: SeededReplay,
    browser: Callable[[], WebDriver],
    width: int,
    height: int,
    wall: bool,
) -> None:
    driver = commander_screen(browser(), dashboard, width, height)
    for lang in ("en", "zh"):
        address = f"/replay/{recorded.ns.name}?lang={lang}" + ("&wall=1" if wall else "")
        driver.get(dashboard + address)
        _wait(driver, _shows_moment(recorded.from_ms), 60)
        _seek(driver, recorded.seek_ms)
        _wait(driver, _shows_moment(recorded.seek_ms), 30)
        _wait(driver, _ready(ids.REPLAY_STAGES, recorded.red_stage_reason), 30)
        path = screenshot(driver, f"page-replay-{lang}-{width}x{height}")
        assert _png_size(path) == (width, height)
