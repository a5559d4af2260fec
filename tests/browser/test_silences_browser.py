"""Silences in a real browser: the city commander makes a maintenance window on the
silences page, sees it listed once the worker (its stand-in, through the worker's own
alerting stage) wrote it, and sees a silenced alert marked in the console."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from dashboard import ids
from detectors.contract.levels import WarningLevel
from infra.settings import CommonSettings
from tests.browser.conftest import screenshot
from tests.browser.seed import ALERT_COLUMNS, Seeded, alert_row, insert
from tests.browser.test_dashboard_browser import _css_text, _has_text, _login, _press, _text, _wait
from tests.browser.worker_standin import WorkerStandIn

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_make_a_silence_see_it_listed_and_a_silenced_alert_marked(
    dashboard: str,
    world: tuple[CommonSettings, Seeded],
    worker: WorkerStandIn,
    browser: Callable[[], WebDriver],
) -> None:
    settings, seeded = world
    muted = alert_row(
        "alert-muted-orange", WarningLevel.II, "active", ("CB", "D3", "D3-S1", "D3-S1-G01"),
        "WAT-0200", "water_level", seeded.now_ms,
        evidence={"detector": "static", "value": 4.2, "silence_id": "seeded-silence"},
    )  # fmt: skip
    insert(settings, "alerts_current", ALERT_COLUMNS, [muted])
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")

    driver.get(dashboard + "/silences")
    _wait(driver, _has_text(ids.SILENCE_LIST, "no silences"))
    driver.find_element(By.ID, ids.SILENCE_VALUE).send_keys("WAT-0200")  # scope: sensor
    driver.find_element(By.ID, ids.SILENCE_REASON).send_keys("pump station maintenance")
    _press(driver, ids.SILENCE_CREATE)
    _wait(driver, _has_text("silence-message", "sent: create silence"))
    _wait(driver, lambda d: any(a["action"] == "create_silence" for a in worker.applied))
    made = next(a for a in worker.applied if a["action"] == "create_silence")
    assert (made["scope"], made["value"], made["actor"]) == ("sensor", "WAT-0200", "commander")
    assert made["end_ms"] - made["start_ms"] == 2 * 3_600_000
    _wait(driver, _has_text(ids.SILENCE_LIST, "pump station maintenance"))
    listed = _text(driver, ids.SILENCE_LIST)
    assert "sensor WAT-0200" in listed and "active" in listed and "commander" in listed
    screenshot(driver, "9-silences")

    driver.get(f"{dashboard}/alerts?alert=alert-muted-orange")
    _wait(driver, _has_text("detail-status", "silenced"))

    def marked_and_quiet(d: WebDriver) -> bool:  # the list is redrawn every refresh
        rows = d.find_elements(By.CSS_SELECTOR, f"#{ids.CONSOLE_LIST} tr.silenced")
        classes = (rows[0].get_attribute("class") or "") if rows else ""
        return bool(rows) and "silenced" in rows[0].text and "alarm" not in classes

    _wait(driver, marked_and_quiet)
    evidence = json.loads(_css_text(driver, "pre.evidence"))
    assert evidence["silence_id"] == "seeded-silence"
    screenshot(driver, "10-console-silenced")
