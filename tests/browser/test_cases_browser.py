"""Case actions in a real browser: the city commander takes an overdue case from dispatch
to close on its page; each action is applied by the worker (its stand-in, through the
worker's own case step) and the page shows the case's step move on; an action out of
order is refused on the page with nothing sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from dashboard import ids
from infra.settings import CommonSettings
from tests.browser.conftest import screenshot
from tests.browser.seed import Seeded
from tests.browser.test_dashboard_browser import _has_text, _login, _press, _wait
from tests.browser.worker_standin import WorkerStandIn

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _choose(driver: WebDriver, dropdown_id: str, label: str) -> None:
    """Pick ``label`` in a dcc.Dropdown as a user does: open it, click the option."""
    driver.find_element(By.ID, dropdown_id).click()
    option = f"//*[@role='option' and normalize-space()='{label}']"

    def shown(d: WebDriver) -> bool:
        if d.find_elements(By.XPATH, option):
            return True
        if not d.find_elements(By.XPATH, "//*[@role='option']"):
            # the page's refresh redrew the dropdown with the case's next steps and closed
            # the menu opened before it (CI, 2026-12-07): open it again, as a user would
            d.find_element(By.ID, dropdown_id).click()
        return False

    _wait(driver, shown)
    # A click by script: the menu's search box may lie over the first option.
    driver.execute_script("arguments[0].click()", driver.find_element(By.XPATH, option))
    if driver.find_elements(By.XPATH, option):  # a menu left open covers what is below it
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    _wait(driver, lambda d: not d.find_elements(By.XPATH, option))


def _act(driver: WebDriver, worker: WebDriver | WorkerStandIn, action: str, label: str) -> None:
    assert isinstance(worker, WorkerStandIn)
    before = len(worker.applied)
    _choose(driver, ids.CASE_ACTION, label)
    _press(driver, ids.CASE_SUBMIT)
    _wait(driver, _has_text("case-message", f"sent: {label} on case C-OVERDUE"))
    _wait(driver, lambda d: len(worker.applied) > before)
    assert worker.applied[-1]["action"] == action


def test_take_an_overdue_case_from_dispatch_to_close(
    dashboard: str,
    world: tuple[CommonSettings, Seeded],
    worker: WorkerStandIn,
    browser: Callable[[], WebDriver],
) -> None:
    driver = browser()
    _login(driver, dashboard, "commander", "commander-demo")
    driver.get(dashboard + "/case/C-OVERDUE")
    _wait(driver, _has_text("case-step", "step: filed"))
    _wait(driver, _has_text(ids.CASE_TIMELINE, "escalated to the city center"))

    _choose(driver, ids.CASE_ACTION, "close")  # out of order: refused here
    _press(driver, ids.CASE_SUBMIT)
    _wait(driver, _has_text("case-message", "cannot close a case that is filed"))

    _choose(driver, ids.CASE_DEPARTMENT, "Municipal Works")
    _act(driver, worker, "dispatch", "dispatch to a department")
    assert worker.applied[-1]["department"] == "municipal"
    _wait(driver, _has_text("case-step", "step: dispatched"))
    for action, label in (("accept", "accept (department)"), ("handle", "mark handled"),
                          ("verify", "verify: passed"), ("close", "close")):  # fmt: skip
        _act(driver, worker, action, label)
    _wait(driver, _has_text("case-step", "step: closed"))
    assert [a["actor"] for a in worker.applied[-5:]] == ["commander"] * 5
    screenshot(driver, "11-case-closed")
