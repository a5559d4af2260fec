"""The command center in a real browser: log in, drill down city -> district -> street ->
grid cell -> sensor (links, the map, back/forward), acknowledge an alert and see its new
state after a reload, a district operator refused another district's page and data, and
the wall screen refreshing without losing its scroll position. Screenshots of every tier
go to .local/artifacts/screenshots/."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import ids
from detectors.contract.levels import WarningLevel
from infra.settings import CommonSettings
from tests.browser.conftest import screenshot
from tests.browser.seed import ALERT_COLUMNS, Seeded, alert_row, insert
from tests.browser.worker_standin import WorkerStandIn

pytestmark = [pytest.mark.browser, pytest.mark.integration]

World = tuple[CommonSettings, Seeded]


FIRST_RENDER_S = 90
"""The first Dash page of a browser session loads and parses some megabytes of JavaScript
(React, Plotly) before its first callback: on a loaded two-core box, beside the live
product, that alone took over 15 s."""


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 30) -> Any:
    """Wait for a condition; elements redrawn by a refresh meanwhile are looked up again."""
    ignored = (StaleElementReferenceException,)
    return WebDriverWait(driver, timeout, 0.1, ignored_exceptions=ignored).until(condition)


_READ = """const e = arguments[0] === 'id' ? document.getElementById(arguments[1])
                                     : document.querySelector(arguments[1]);
return e ? [e.innerText] : null;"""


def _read(driver: WebDriver, how: str, what: str) -> str:
    """The text of an element, found and read in one step inside the page: a refresh may
    redraw the element between a remote find and a remote read (a stale element)."""
    found = WebDriverWait(driver, 30, 0.1).until(lambda d: d.execute_script(_READ, how, what))
    return str(found[0]).strip()


def _text(driver: WebDriver, element_id: str) -> str:
    """The text of the element with this id (waits until it is there)."""
    return _read(driver, "id", element_id)


def _css_text(driver: WebDriver, selector: str) -> str:
    """The text of the first element matching a CSS selector (waits until it is there)."""
    return _read(driver, "css", selector)


def _has_text(element_id: str, text: str) -> Callable[[WebDriver], bool]:
    def check(driver: WebDriver) -> bool:
        found = driver.find_elements(By.ID, element_id)
        return bool(found) and text in found[0].text

    return check


def _path(driver: WebDriver) -> str:
    return str(driver.execute_script("return location.pathname + location.search"))


def _login(driver: WebDriver, url: str, username: str, password: str) -> None:
    driver.get(url + "/")
    _wait(driver, ec.presence_of_element_located((By.ID, "username")))
    assert _path(driver).startswith("/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    _wait(driver, ec.presence_of_element_located((By.ID, "signed-in")), FIRST_RENDER_S)


def _click_link(driver: WebDriver, text: str, container: str) -> None:
    """Click a link inside ``container``. A refresh may redraw the table between finding a
    link and clicking it (under load the page is redrawn about as fast as a remote click
    takes), so the link is found and clicked in one step inside the page, until it is
    there to click."""
    script = (
        "const box = document.getElementById(arguments[0]);"
        "const link = box && [...box.querySelectorAll('a')]"
        "  .find(a => a.textContent.trim() === arguments[1]);"
        "if (!link) { return false; } link.click(); return true;"
    )
    WebDriverWait(driver, 30, 0.1).until(lambda d: d.execute_script(script, container, text))


def _press(driver: WebDriver, element_id: str) -> None:
    """Click the element with this id, found and clicked in one step inside the page (a
    refresh may redraw it between a remote find and a remote click)."""
    script = "const e = document.getElementById(arguments[0]); if (e) { e.click(); } return !!e;"
    WebDriverWait(driver, 30, 0.1).until(lambda d: d.execute_script(script, element_id))


def test_login_drill_down_back_forward_and_the_map(
    dashboard: str, world: World, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    driver.get(dashboard + "/district/D1")
    _wait(driver, ec.presence_of_element_located((By.ID, "username")))
    screenshot(driver, "0-login")
    driver.find_element(By.ID, "username").send_keys("commander")
    driver.find_element(By.ID, "password").send_keys("wrong password")
    driver.find_element(By.ID, "login-submit").click()
    _wait(driver, lambda d: "wrong username or password" in d.page_source)
    _login(driver, dashboard, "commander", "commander-demo")

    _wait(driver, _has_text("stage-reason", "stage 5"))
    _wait(driver, _has_text(ids.TIER_CHILDREN, "Riverside"))
    _wait(driver, _has_text(ids.ALARM_BANNER, "2 unacknowledged orange/red"))
    _wait(driver, lambda d: _alarms_heard(d) == 1)  # the two at login: one alarm
    screenshot(driver, "1-city")
    _click_link(driver, "Riverside", ids.TIER_CHILDREN)
    _wait(driver, _has_text("stage-reason", "district Riverside"))
    assert _path(driver) == "/district/D1"
    _wait(driver, _has_text(ids.TIER_CHILDREN, "Qingbo"))
    screenshot(driver, "2-district")
    _click_link(driver, "Qingbo", ids.TIER_CHILDREN)
    _wait(driver, lambda d: _path(d) == "/street/D1-S1")
    _wait(driver, _has_text(ids.TIER_CHILDREN, "Qingbo grid 01"))
    screenshot(driver, "3-street")
    _click_link(driver, "Qingbo grid 01", ids.TIER_CHILDREN)
    _wait(driver, lambda d: _path(d) == f"/grid/{world[1].grid}")
    _wait(driver, _has_text(ids.TIER_CHILDREN, world[1].sensor))
    _wait(driver, _has_text("stage-reason", "stage 5"))
    screenshot(driver, "4-grid")

    driver.back()
    _wait(driver, lambda d: _path(d) == "/street/D1-S1")
    _wait(driver, _has_text("breadcrumb", "Qingbo"))
    driver.forward()
    _wait(driver, lambda d: _path(d) == f"/grid/{world[1].grid}")
    _wait(driver, _has_text(ids.TIER_CHILDREN, world[1].sensor))

    _click_link(driver, world[1].sensor, ids.TIER_CHILDREN)
    # The sensor has an alert: it opens on that alert's metric.
    _wait(driver, lambda d: _path(d) == f"/sensor/{world[1].sensor}?metric=pipe_level")
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#{ids.SENSOR_CHART} .scatterlayer .trace"),
    )
    _wait(driver, _has_text(ids.SENSOR_ALERTS, "red"))
    screenshot(driver, "5-sensor")

    # A shared link opens the same view; the map's markers drill down on a click.
    driver.get(dashboard + "/district/D2")
    _wait(driver, _has_text("stage-reason", "West Lake"))
    _click_marker(driver, "/street/D2-S1")
    _wait(driver, lambda d: _path(d) == "/street/D2-S1")


def _click_marker(driver: WebDriver, target: str) -> None:
    """Click the map marker that drills down to ``target`` the way a mouse does: a
    plotly click event on that point."""
    _wait(
        driver,
        lambda d: d.execute_script(
            "const g = document.querySelector('#tier-map .js-plotly-plot');"
            "return g && g.data && g.data.some(t => (t.customdata || []).includes(arguments[0]));",
            target,
        ),
    )
    driver.execute_script(
        """const g = document.querySelector('#tier-map .js-plotly-plot');
        const curve = g.data.findIndex(t => (t.customdata || []).includes(arguments[0]));
        const index = g.data[curve].customdata.indexOf(arguments[0]);
        const point = {curveNumber: curve, pointNumber: index, pointIndex: index,
                       customdata: arguments[0], data: g.data[curve], fullData: g._fullData[curve]};
        g.emit('plotly_click', {points: [point], event: {}});""",
        target,
    )


def test_acknowledge_an_alert_and_see_it_after_a_reload(
    dashboard: str, world: World, worker: WorkerStandIn, browser: Callable[[], WebDriver]
) -> None:
    seeded = world[1]
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    driver.get(f"{dashboard}/alerts?alert={seeded.d2_alert}")
    _wait(driver, _has_text("detail-alert-id", seeded.d2_alert))
    # Choosing another alert changes only ?alert=: the page stays, back returns.
    driver.execute_script("document.querySelector('.console-page').dataset.mark = 'same'")
    _click_link(driver, "flood · pipe_level · WAT-0001", ids.CONSOLE_LIST)
    _wait(driver, _has_text("detail-alert-id", seeded.red_alert))
    assert _path(driver) == f"/alerts?alert={seeded.red_alert}"
    assert driver.execute_script("return document.querySelector('.console-page').dataset.mark")
    driver.back()
    _wait(driver, _has_text("detail-alert-id", seeded.d2_alert))
    driver.forward()
    _wait(driver, _has_text("detail-alert-id", seeded.red_alert))
    _wait(driver, lambda d: len(_alarm_rows(d)) == 2)  # red D1, orange D2: unacknowledged
    heard = _alarms_heard(driver)  # those were heard at login, before this page: no repeat

    # A new red alert arrives while the console is open: it sounds and is highlighted.
    settings = world[0]
    fresh = alert_row(
        "alert-new-red",
        WarningLevel.I,
        "active",
        ("CB", "D3", "D3-S1", "D3-S1-G02"),
        "WAT-0100",
        "pipe_level",
        seeded.now_ms,
    )
    insert(settings, "alerts_current", ALERT_COLUMNS, [fresh])
    _wait(driver, lambda d: _alarms_heard(d) == heard + 1)
    _wait(driver, lambda d: len(_alarm_rows(d)) == 3)
    screenshot(driver, "6-console-before")

    driver.find_element(By.ID, ids.ACTION_COMMENT).send_keys("crew dispatched to the drain")
    _press(driver, ids.ACTION_SUBMIT)
    _wait(driver, _has_text("action-message", "sent"))
    _wait(driver, lambda d: any(a["alert_id"] == seeded.red_alert for a in worker.applied))
    action = next(a for a in worker.applied if a["alert_id"] == seeded.red_alert)
    assert (action["action"], action["actor"], action["role"]) == (
        "acknowledge",
        "commander",
        "city_commander",
    )

    driver.refresh()
    _wait(driver, _has_text("detail-status", "acknowledged"))
    _wait(driver, _has_text(ids.CONSOLE_TRAIL, "crew dispatched to the drain"))
    assert "commander" in _text(driver, ids.CONSOLE_TRAIL)
    _wait(driver, lambda d: len(_alarm_rows(d)) == 2)  # the orange D2 and the new red blink
    screenshot(driver, "7-console-acknowledged")

    _press(driver, ids.ACTION_SUBMIT)
    _wait(driver, _has_text("action-message", "already acknowledged by commander: nothing sent"))

    driver.get(f"{dashboard}/alerts?alert={seeded.resolved_alert}")
    _wait(driver, _has_text("detail-status", "resolved"))
    _press(driver, ids.ACTION_SUBMIT)
    _wait(driver, _has_text("action-message", "already resolved: nothing sent"))


def test_a_district_operator_is_refused_another_districts_page_and_data(
    dashboard: str, world: World, browser: Callable[[], WebDriver]
) -> None:
    seeded = world[1]
    driver = browser()
    _login(driver, dashboard, "operator-d1", "operator-demo")
    _wait(driver, _has_text("stage-reason", "district Riverside"))

    driver.get(dashboard + "/district/D2")
    _wait(driver, _has_text("refusal-message", "district D2 is outside your scope (district D1)"))
    screenshot(driver, "8-operator-refused")
    driver.get(dashboard + "/city")
    _wait(driver, _has_text("refusal-message", "outside your scope"))

    # A forged callback asks the tier refresh for D2's data: refused, no D2 data.
    answer = _forged_tier_refresh(driver, "/district/D2")
    assert answer["status"] == 200
    body = json.loads(answer["body"])["response"]
    assert "district D2 is outside your scope (district D1)" in json.dumps(body[ids.TIER_STATUS])
    assert seeded.d2_alert not in answer["body"] and "WAT-0047" not in answer["body"]

    driver.get(dashboard + "/alerts")
    _wait(driver, _has_text(ids.CONSOLE_LIST, "WAT-0001"))
    assert "WAT-0047" not in _text(driver, ids.CONSOLE_LIST)
    driver.get(f"{dashboard}/alerts?alert={seeded.d2_alert}")
    _wait(driver, _has_text("detail-empty", f"no alert {seeded.d2_alert}"))
    _press(driver, ids.ACTION_SUBMIT)
    _wait(driver, _has_text("action-message", "not in your scope): nothing sent"))


def _alarm_rows(driver: WebDriver) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, f"#{ids.CONSOLE_LIST} tr.alarm"))


def _alarms_heard(driver: WebDriver) -> int:
    """How often the page sounded the alarm (for new orange/red alerts)."""
    return int(driver.find_element(By.ID, ids.ALARM_SOUND).get_attribute("textContent") or 0)


def _forged_tier_refresh(driver: WebDriver, pathname: str) -> dict[str, Any]:
    """POST the tier page's refresh with a forged pathname."""
    outputs = ["tier-status.children", "tier-stage.children", "tier-kpis.children",
               "tier-map.figure", "tier-children.children", "tier-alerts.children",
               "tier-stage-history.children", "tier-activity.figure"]  # fmt: skip
    return _forged_refresh(driver, "tier-refresh", outputs, pathname)


def _forged_refresh(
    driver: WebDriver, refresh: str, outputs: list[str], pathname: str
) -> dict[str, Any]:
    """POST a page's refresh (its ``refresh`` interval; ``outputs`` as 'id.property') with a
    forged pathname, from inside the logged-in page (its session cookie and CSRF token), as
    a tampering user could."""
    script = """
    const [refresh, outputs, pathname, done] = arguments;
    const body = {
      output: ".." + outputs.join("...") + "..",
      outputs: outputs.map(o => ({id: o.split(".")[0], property: o.split(".")[1]})),
      inputs: [{id: refresh, property: "n_intervals", value: 1}],
      state: [{id: "url", property: "pathname", value: pathname},
              {id: "url", property: "search", value: ""},
              {id: "language", property: "data", value: "en"}],
      changedPropIds: [refresh + ".n_intervals"]};
    const token = document.cookie.split("; ").find(c => c.startsWith("_csrf_token=")).split("=")[1];
    fetch("/_dash-update-component", {method: "POST", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRFToken": token}})
      .then(r => r.text().then(t => done({status: r.status, body: t})));
    """
    return dict(driver.execute_async_script(script, refresh, outputs, pathname))


def test_wall_screen_refreshes_in_place_and_speaks_chinese(
    dashboard: str, world: World, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "wall", "wall-demo")
    _wait(driver, _has_text("stage-reason", "stage 5"))
    assert "wall" in (driver.find_element(By.ID, ids.ROOT).get_attribute("class") or "")
    assert not driver.find_element(By.ID, ids.HEADER).is_displayed()
    screenshot(driver, "9-wall-city")

    scrolled = driver.execute_script(
        "window.scrollTo(0, 300); document.getElementById('tier-map').dataset.mark = 'same';"
        "return window.scrollY;"
    )
    assert scrolled > 100
    start = _refreshes(driver)
    _wait(driver, lambda d: _refreshes(d) >= start + 3)  # three more refreshes (1 s each)
    assert driver.execute_script("return window.scrollY") == scrolled
    assert (
        driver.execute_script("return document.getElementById('tier-map').dataset.mark") == "same"
    )

    _press(driver, ids.LANG_ZH)
    _wait(driver, _has_text(ids.TIER_STAGE, "5级"))
    _wait(driver, _has_text(ids.TIER_CHILDREN, "滨江区"))
    page = _text(driver, ids.PAGE)
    for english in ("active alerts", "unacknowledged", "open cases", "sensors", "stage history"):
        assert english not in page
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, "10-wall-city-zh")
    driver.get(dashboard + "/quality")
    _wait(driver, _has_text("refusal-message", "无权"))


def _refreshes(driver: WebDriver) -> int:
    """Dash callback requests made by the page so far."""
    return int(
        driver.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('_dash-update-component')).length"
        )
    )


def test_the_content_security_policy_blocks_nothing_dash_needs_and_logins_are_audited(
    dashboard: str, world: World, browser: Callable[[], WebDriver]
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    _wait(driver, _has_text(ids.TIER_CHILDREN, "Riverside"))  # the renderer ran
    for path in ("/district/D1", "/alerts", "/quality", "/overview", "/access"):
        driver.get(dashboard + path)
        _wait(driver, ec.presence_of_element_located((By.ID, "signed-in")))
    _wait(driver, lambda d: "login" in _css_text(d, ".access-page"))
    assert "cli:" in _css_text(driver, ".access-page")  # users demo
    screenshot(driver, "9-access-audit")
    log = driver.get_log("browser")  # type: ignore[attr-defined]
    blocked = [e["message"] for e in log if "Content Security Policy" in e["message"]]
    assert blocked == []
