"""Issue 11, items 2 and 6, in a real browser: an alert's link opens its sensor on the
alerting metric; the tier and overview charts mark the area's alerts and incidents in
time and stop at the last complete minute, which the pages name; ``?lang=`` in an address
switches the language; the radio buttons are readable; and every page is photographed at
1920x1080 and, in wall-screen mode, at 3840x2160 (.local/artifacts/screenshots/)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from dashboard import ids
from detectors.contract.levels import WarningLevel
from infra.settings import CommonSettings
from tests.browser.conftest import screenshot
from tests.browser.seed import ALERT_COLUMNS, MIN_MS, RAW_COLUMNS, Seeded, alert_row, insert
from tests.browser.test_dashboard_browser import (
    _click_link,
    _has_text,
    _login,
    _path,
    _text,
    _wait,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

World = tuple[CommonSettings, Seeded]
D1_G01 = ("CB", "D1", "D1-S1", "D1-S1-G01")


@dataclass(frozen=True)
class Extra:
    """What this module adds to the seeded data set."""

    sensor: str  # an air station whose first metric (humidity) is not the alerting one
    metric: str
    alert: str
    incident: str
    alert_ms: int
    incident_ms: int
    complete_minute: str  # HH:MM of the last complete minute of the roll-ups


@pytest.fixture(scope="module")
def extra(world: World) -> Extra:
    """A yellow pm10 alert on ENV-0001 twelve minutes ago, a yellow D1 incident six
    minutes ago (both inside the half hour the charts show) and an hour of ENV-0001's
    humidity and pm10 readings."""
    settings, seeded = world
    now = seeded.now_ms
    alert_ms, incident_ms = now - 12 * MIN_MS, now - 6 * MIN_MS
    alert = alert_row(
        "alert-pm10-env", WarningLevel.III, "active", D1_G01, "ENV-0001", "pm10", alert_ms
    )
    incident = alert_row(
        "incident-d1",
        WarningLevel.III,
        "active",
        ("CB", "D1", "", ""),
        "",
        "",
        incident_ms,
        subject="incident",
    )
    insert(settings, "alerts_current", ALERT_COLUMNS, [alert, incident])
    readings = []
    for m in range(60):
        ts = now - (60 - m) * MIN_MS
        for metric, value in (("humidity", 60.0 + m / 10), ("pm10", 80.0 + 2.0 * m)):
            readings.append((f"env-{metric}-{m}", ts // 1000, ts, "environment", "ENV-0001",
                             metric, value, *D1_G01, ts // 1000, ts))  # fmt: skip
    insert(settings, "events_raw", RAW_COLUMNS, readings)
    minute = datetime.fromtimestamp((now - MIN_MS) / 1000, UTC).strftime("%H:%M")
    return Extra("ENV-0001", "pm10", "alert-pm10-env", "incident-d1", alert_ms, incident_ms,
                 minute)  # fmt: skip


def _plot(driver: WebDriver, graph_id: str) -> dict[str, Any] | None:
    """A graph's traces (name, x, hover text) and title, as the browser has them."""
    found = driver.execute_script(
        """const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        if (!g || !g.data) return null;
        return {title: (g.layout.title || {}).text || '',
                traces: g.data.map(t => ({name: t.name || '', x: t.x || [],
                                          hovertext: t.hovertext || []}))};""",
        graph_id,
    )
    return dict(found) if found else None


def _marked(driver: WebDriver, graph_id: str, kind: str) -> list[str]:
    """The times a graph marks for ``kind`` ('alert' or 'incident')."""
    plot = _plot(driver, graph_id) or {"traces": []}
    return [x for t in plot["traces"] if t["name"].startswith(f"{kind}-marks") for x in t["x"]]


def _click(driver: WebDriver, xpath: str) -> None:
    """Click the first element at ``xpath``; a refresh may redraw it meanwhile, so it is
    looked up again until the click lands."""

    def click(d: WebDriver) -> bool:
        found = d.find_elements(By.XPATH, xpath)
        if found:
            found[0].click()
        return bool(found)

    _wait(driver, click)


def _wait_for_marks(driver: WebDriver, graph_id: str, kind: str) -> None:
    """Wait for a graph to mark ``kind``; when it does not, say what it draws."""
    try:
        _wait(driver, lambda d: _marked(d, graph_id, kind), 60)
    except TimeoutException:
        plot = _plot(driver, graph_id) or {"traces": []}
        names = [(t["name"], len(t["x"])) for t in plot["traces"]]
        raise AssertionError(f"no {kind} marked on {graph_id}; it draws {names}") from None


def _hovers(driver: WebDriver, graph_id: str) -> str:
    plot = _plot(driver, graph_id) or {"traces": []}
    return " ".join(h for t in plot["traces"] if "-marks-" in t["name"] for h in t["hovertext"])


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _parsed(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp.replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _last_rate_minute(driver: WebDriver, graph_id: str) -> str:
    plot = _plot(driver, graph_id)
    assert plot is not None
    return _parsed(plot["traces"][0]["x"][-1]).strftime("%H:%M")


def _selected_metric(driver: WebDriver) -> str:
    """What the sensor page's metric selector shows (Dash 4 draws the chosen option's
    label in its own element)."""
    shown = driver.execute_script(
        "const v = document.querySelector('.sensor-page .dash-dropdown-value');"
        "return v ? v.textContent : '';"
    )
    return str(shown)


def test_an_alert_link_opens_the_sensor_on_the_alerting_metric(
    dashboard: str, extra: Extra, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    # Without a metric in the address the page opens on the sensor's first (humidity).
    driver.get(f"{dashboard}/sensor/{extra.sensor}")
    _wait(driver, lambda d: "humidity" in _selected_metric(d))
    _wait(driver, _has_text(ids.SENSOR_ALERTING, "active alerts on"))
    assert "pm10" in _text(driver, ids.SENSOR_ALERTING)

    driver.get(f"{dashboard}/alerts?alert={extra.alert}")
    _wait(driver, _has_text("detail-alert-id", extra.alert))
    _click_link(driver, extra.sensor, ids.CONSOLE_DETAIL)
    _wait(driver, lambda d: _path(d) == f"/sensor/{extra.sensor}?metric={extra.metric}")
    _wait(driver, lambda d: "pm10" in _selected_metric(d))
    _wait(driver, lambda d: f"{extra.sensor} · pm10" in (_plot(d, ids.SENSOR_CHART) or {}).get(
        "title", ""))  # fmt: skip
    _wait(driver, _has_text(ids.SENSOR_ALERTING, "III yellow"))
    screenshot(driver, "views-1-sensor-from-alert")

    # The grid cell's alert list links the sensor on the alert's metric too.
    driver.get(f"{dashboard}/grid/D1-S1-G01")
    link = f'//*[@id="{ids.TIER_ALERTS}"]//a[contains(@href, "metric=pm10")]'
    _click(driver, link)
    _wait(driver, lambda d: _path(d) == f"/sensor/{extra.sensor}?metric={extra.metric}")
    _wait(driver, lambda d: "pm10" in _selected_metric(d))

    # The alarm banner names the gravest alarm's sensor and opens it on its metric.
    _click_link(driver, "sensor WAT-0001 · drainage pipe level", ids.ALARM_BANNER)
    _wait(driver, lambda d: _path(d) == "/sensor/WAT-0001?metric=pipe_level")
    _wait(driver, lambda d: "pipe_level" in _selected_metric(d))


def test_tier_and_overview_charts_mark_alerts_and_stop_at_the_last_complete_minute(
    dashboard: str, extra: Extra, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    driver.get(f"{dashboard}/district/D1")
    _wait_for_marks(driver, ids.TIER_ACTIVITY, "incident")
    alerts = {_parsed(x) for x in _marked(driver, ids.TIER_ACTIVITY, "alert")}
    incidents = {_parsed(x) for x in _marked(driver, ids.TIER_ACTIVITY, "incident")}
    assert alerts == {_at(extra.alert_ms)}  # the seeded alerts were raised before the chart
    assert incidents == {_at(extra.incident_ms)}
    hover = _hovers(driver, ids.TIER_ACTIVITY)
    # the metric by its name (the alarm banner above keeps the code: a sensor reference)
    assert "III yellow · air quality · PM10 · ENV-0001" in hover and "incidents" in hover
    assert _last_rate_minute(driver, ids.TIER_ACTIVITY) == extra.complete_minute
    minute = f"last complete minute {extra.complete_minute} UTC"
    _wait(driver, _has_text("tier-minute", minute))
    screenshot(driver, "views-2-district-marks")

    driver.get(f"{dashboard}/grid/D1-S1-G02")  # another cell: neither is marked there
    _wait(driver, lambda d: _plot(d, ids.TIER_ACTIVITY) and _plot(d, ids.TIER_ACTIVITY)["traces"])
    assert _marked(driver, ids.TIER_ACTIVITY, "alert") == []

    driver.get(f"{dashboard}/overview")
    _wait_for_marks(driver, ids.EVENT_RATE, "incident")
    assert _at(extra.alert_ms) in {_parsed(x) for x in _marked(driver, ids.EVENT_RATE, "alert")}
    assert _last_rate_minute(driver, ids.EVENT_RATE) == extra.complete_minute
    _wait(driver, _has_text(ids.COMPLETE_MINUTE, minute))
    _wait(driver, lambda d: minute in (_plot(d, ids.CITY_MAP) or {}).get("title", ""))
    # Every district's row is of the last complete minute (30 pm25 events), not the newest.
    _wait(driver, _has_text(ids.DISTRICT_TABLE, extra.complete_minute))

    def of_the_complete_minute(d: WebDriver) -> bool:
        found = _district_rows(d)
        return bool(found) and all(extra.complete_minute in r and " 30 " in f" {r} " for r in found)

    _wait(driver, of_the_complete_minute)
    screenshot(driver, "views-3-overview-marks")


def _district_rows(driver: WebDriver) -> list[str]:
    return [
        str(text)
        for text in driver.execute_script(
            f"return [...document.querySelectorAll('#{ids.DISTRICT_TABLE} tbody tr')]"
            ".map(r => r.innerText.replace(/\\s+/g, ' '));"
        )
    ]


_CONTRAST = """
function rgb(c) { const m = c.match(/[\\d.]+/g).map(Number); return m.length > 3 && m[3] === 0
  ? null : m.slice(0, 3); }
function lum(c) { const [r, g, b] = c.map(v => { v /= 255;
  return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
const found = [];
for (const label of document.querySelectorAll('#' + arguments[0] + ' label')) {
  const text = label.querySelector('.dash-options-list-option-text') || label;
  let node = text, back = null;
  while (node && !(back = rgb(getComputedStyle(node).backgroundColor))) node = node.parentElement;
  const fore = lum(rgb(getComputedStyle(text).color)), base = lum(back || [255, 255, 255]);
  found.push([label.innerText.trim(),
              (Math.max(fore, base) + 0.05) / (Math.min(fore, base) + 0.05)]);
}
return found;
"""


def test_the_address_sets_the_language_and_radio_labels_are_readable(
    dashboard: str, world: World, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    _wait(driver, _has_text(ids.HEADER, "alert console"))
    driver.get(f"{dashboard}/district/D1?lang=zh")
    _wait(driver, _has_text(ids.TIER_STAGE, "5级"))
    _wait(driver, _has_text(ids.HEADER, "预警处置台"))
    _wait(driver, _has_text(ids.TIER_CHILDREN, "清波街道"))
    _wait(driver, _has_text("breadcrumb", "滨江区"))
    screenshot(driver, "views-4-district-lang-zh")
    driver.get(f"{dashboard}/alerts")  # the choice is kept, as the switch's is
    _wait(driver, _has_text(ids.CONSOLE_FILTER, "全部（含已解除"))
    driver.get(f"{dashboard}/alerts?lang=en")
    _wait(driver, _has_text(ids.HEADER, "alert console"))
    _wait(driver, _has_text(ids.CONSOLE_FILTER, "all (incl. cleared"))
    for page, radios in (("/alerts", ids.CONSOLE_FILTER), ("/cases", ids.CASES_FILTER)):
        driver.get(dashboard + page)
        _wait(driver, lambda d, r=radios: len(d.find_elements(By.CSS_SELECTOR, f"#{r} label")) > 1)
        contrast = driver.execute_script(_CONTRAST, radios)
        assert len(contrast) > 1 and all(ratio >= 4.5 for _, ratio in contrast), contrast
    screenshot(driver, "views-5-cases-radios")
    driver.get(f"{dashboard}/overview?lang=zh&wall=1")
    _wait(driver, _has_text(ids.COMPLETE_MINUTE, "最近完整分钟"))
    screenshot(driver, "views-6-overview-zh-wall")


PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("city", "/city", ids.TIER_CHILDREN, "Riverside"),
    ("district", "/district/D1", ids.TIER_CHILDREN, "Qingbo"),
    ("street", "/street/D1-S1", ids.TIER_CHILDREN, "Qingbo grid 01"),
    ("grid", "/grid/D1-S1-G01", ids.TIER_CHILDREN, "ENV-0001"),
    ("sensor", "/sensor/ENV-0001?metric=pm10", ids.SENSOR_ALERTS, "pm10"),
    ("sensor-water", "/sensor/WAT-0001", ids.SENSOR_ALERTS, "pipe_level"),
    ("alerts", "/alerts?alert=alert-red-d1", ids.CONSOLE_DETAIL, "alert-red-d1"),
    ("cases", "/cases", ids.CASES_LIST, "C-OVERDUE"),
    ("case", "/case/C-OVERDUE", ids.CASE_TIMELINE, "filed"),
    ("quality", "/quality", ids.QUALITY_TABLE, "D1"),
    ("catalog", "/catalog", ids.CATALOG_TABLE, "Ecology and Environment Bureau"),
    ("overview", "/overview", ids.DISTRICT_TABLE, "Riverside"),
    ("replay", "/replay", ids.REPLAY_LIST, "replay"),
    ("access", "/access", ids.PAGE, "cli:"),
)
"""Every page: its name, address, and the element its refresh fills with that text."""


def _ready(element_id: str, text: str) -> Callable[[WebDriver], bool]:
    """The page's panel says ``text`` and every graph on it is drawn."""

    def check(driver: WebDriver) -> bool:
        found = driver.find_elements(By.ID, element_id)
        if not found or text not in found[0].text:
            return False
        return bool(
            driver.execute_script(
                "return [...document.querySelectorAll('.js-plotly-plot')]"
                ".every(g => g.data && g._fullLayout);"
            )
        )

    return check


def _png_size(path: Any) -> tuple[int, int]:
    with open(path, "rb") as png:
        header = png.read(24)
    return struct.unpack(">II", header[16:24])


SCREENS = [(1920, 1080, False), (3840, 2160, True)]
"""(width, height, wall-screen mode) of the screens every page is photographed on."""


def commander_screen(driver: WebDriver, url: str, width: int, height: int) -> WebDriver:
    """``driver`` signed in as the city commander, on a screen of exactly that size."""
    _login(driver, url, "commander", "commander-demo")
    driver.set_window_size(width, height)
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # type: ignore[attr-defined]
    return driver


@pytest.mark.parametrize(("width", "height", "wall"), SCREENS)
def test_every_page_photographed_at_full_hd_and_on_the_wall_screen(
    dashboard: str,
    extra: Extra,
    browser: Callable[[], WebDriver],
    width: int,
    height: int,
    wall: bool,
) -> None:
    driver = commander_screen(browser(), dashboard, width, height)
    for name, address, filled, text in PAGES:
        joiner = "&" if "?" in address else "?"
        driver.get(dashboard + address + (f"{joiner}wall=1" if wall else ""))
        _wait(driver, _ready(filled, text), 60)
        assert "wall" in (driver.find_element(By.ID, ids.ROOT).get_attribute("class") or "") or (
            not wall
        )
        path = screenshot(driver, f"page-{name}-{width}x{height}")
        assert _png_size(path) == (width, height), name
