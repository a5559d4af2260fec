"""A real dashboard process on a spare port over a seeded, isolated ClickHouse database,
driven by Debian's headless Chromium through chromedriver (selenium)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.clickhouse import drop_database, ensure_schema
from infra.kafka import delete_topics, ensure_topics
from infra.process import ChildProcess, dashboard_answers, free_port, wait_until
from infra.settings import CommonSettings, load
from infra.topics import alert_actions_topic
from tests.browser.seed import Seeded, seed
from tests.browser.worker_standin import WorkerStandIn

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".local" / "artifacts" / "screenshots"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.path.exists(CHROMIUM) or not os.path.exists(CHROMEDRIVER):
        reason = (
            f"browser tests need {CHROMIUM} and {CHROMEDRIVER} "
            "(apt-get install chromium chromium-driver)"
        )
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def world(services: CommonSettings) -> Iterator[tuple[CommonSettings, Seeded]]:
    """A fresh database and topic prefix with the seeded data set, dropped after."""
    tag = uuid.uuid4().hex[:10]
    settings = load(
        type(services), clickhouse_database=f"cbtest_{tag}", kafka_topic_prefix=f"cbtest-{tag}"
    )
    ensure_schema(settings)
    ensure_topics(settings, [alert_actions_topic(settings.kafka_topic_prefix)])
    now_ms = int(time.time() // 60 * 60_000)
    yield settings, seed(settings, now_ms)
    delete_topics(settings, [alert_actions_topic(settings.kafka_topic_prefix)])
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        drop_database(settings, settings.clickhouse_database)


def _env(settings: CommonSettings, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRAIN_")}
    env.update(
        CITYBRAIN_CLICKHOUSE_HOST=settings.clickhouse_host,
        CITYBRAIN_CLICKHOUSE_PORT=str(settings.clickhouse_port),
        CITYBRAIN_CLICKHOUSE_DATABASE=settings.clickhouse_database,
        CITYBRAIN_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        CITYBRAIN_KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        CITYBRAIN_DASHBOARD_PORT=str(port),
        CITYBRAIN_DASHBOARD_METRICS_PORT="0",
        CITYBRAIN_DASHBOARD_REFRESH_MS="1000",
        CITYBRAIN_DASHBOARD_SECRET_KEY=uuid.uuid4().hex,
    )
    return env


@pytest.fixture(scope="module")
def dashboard(world: tuple[CommonSettings, Seeded]) -> Iterator[str]:
    """The dashboard's base URL; its users made with the CLI (``users demo``)."""
    settings, _ = world
    port = free_port()
    env = _env(settings, port)
    made = subprocess.run(
        [sys.executable, "-m", "dashboard", "users", "demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    log_path = ROOT / ".local" / "test-logs" / f"{settings.kafka_topic_prefix}-dashboard.log"
    url = f"http://127.0.0.1:{port}"
    with ChildProcess("dashboard", env=env, log_path=log_path, cwd=ROOT, stop_timeout_s=10) as dash:
        wait_until(lambda: dashboard_answers(url), 30, f"the dashboard on {url}", dash)
        yield url
    # A server error the page hid (a script that failed to load, a callback that raised)
    # is a failure even when every assertion passed.
    errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
    assert not errors, f"the dashboard logged {len(errors)} server errors: see {log_path}"


@pytest.fixture(scope="module")
def worker(world: tuple[CommonSettings, Seeded]) -> Iterator[WorkerStandIn]:
    """The tests' stand-in for the worker: applies operator actions (see its module)."""
    standin = WorkerStandIn(world[0])
    standin.start()
    assert standin.ready.wait(30), "the stand-in consumer did not start"
    yield standin
    standin.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def _show_failure(name: str, driver: object) -> None:
    """What a failed browser test saw: a screenshot, the address and the console log."""
    try:
        screenshot(driver, f"FAILED-{name}")
        print(f"address at failure: {driver.current_url}")  # type: ignore[attr-defined]
        for entry in driver.get_log("browser")[-30:]:  # type: ignore[attr-defined]
            print(f"console: {entry['level']} {entry['message'][:300]}")
    except Exception as exc:  # the session itself may be what broke
        print(f"no failure evidence from the browser: {exc!r}")


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Callable[[], object]]:
    """Makes headless Chromium sessions, each with a fresh profile (its own cookies).
    When the test fails, each session's screen, address and console log are saved."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    made: list[tuple[object, str]] = []

    def make() -> object:
        profile = tempfile.mkdtemp(prefix="cb-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1600,1000",
            "--autoplay-policy=no-user-gesture-required",
            "--lang=en-US",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        # The console log, so a test can see what the content security policy blocked.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        made.append((driver, profile))
        return driver

    yield make
    report = getattr(request.node, "report_call", None)
    for number, (driver, profile) in enumerate(made):
        if report is not None and report.failed:
            _show_failure(f"{request.node.name}-{number}", driver)
        driver.quit()  # type: ignore[attr-defined]
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: object, name: str) -> Path:
    """Save the page as ``.local/artifacts/screenshots/<name>.png`` and print the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    print(f"screenshot: {path}")
    return path
