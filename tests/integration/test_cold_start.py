"""Cold start is quiet: the first 30 minutes of the ordinary simulated city (the one
``scripts/up`` runs) through the real worker from empty state raise no area incident and
at most 1 alert per 100 sensor-days (``bench/bench_cold_start.py`` plays 24 hours of it).

The simulator plays the 30 minutes of event time at full speed (``--max-speed --count``:
the events keep their spacing at 200 a second, the last one lands at now), so the worker
sees exactly the readings a live start sees in its first half hour, only sooner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.settings import CommonSettings
from tests.integration.harness import (
    ROOT,
    WorkerProcess,
    process_env,
    rows,
    run_sim,
    settled,
)

pytestmark = pytest.mark.integration

RATE, MINUTES = 200, 30
UP_ARGS = ("--seed", "42", "--rate", str(RATE), "--case-fraction", "0.002")  # as scripts/up
EVENTS = RATE * 60 * MINUTES  # 360,000 events: 30 minutes of event time at scripts/up's rate
SENSORS = 903  # `citybrain-sim city --seed 42`: 927 sources, 24 of them grid workers
SENSOR_DAYS = SENSORS * MINUTES / (24 * 60)  # 18.81
MAX_ALERTS = int(SENSOR_DAYS / 100)  # 1 per 100 sensor-days of 18.81: 0 alerts


def _alerts(settings: CommonSettings) -> tuple[list[tuple[object, ...]], int, int]:
    """(source, metric, detector, level, event time) of every alert raised on readings;
    incidents opened; overdue-case alerts. The run files cases and, as ``scripts/up
    --no-demo``, nobody moves them on, so a case alert is a true one: counted apart."""
    raised = rows(
        settings,
        "SELECT visitParamExtractString(evidence, 'source_id'), "
        "visitParamExtractString(evidence, 'metric'), visitParamExtractString(evidence, "
        "'detector'), level, ts_ms FROM alert_events FINAL WHERE kind = 'raised' "
        "AND category != 'case' ORDER BY ts_ms",
    )
    opened = rows(settings, "SELECT count() FROM alert_events FINAL WHERE kind = 'incident_opened'")
    cases = rows(settings, "SELECT count() FROM alert_events FINAL "
                           "WHERE kind = 'raised' AND category = 'case'")  # fmt: skip
    return raised, int(opened[0][0]), int(cases[0][0])


def _device_faults(settings: CommonSettings) -> set[tuple[object, ...]]:
    """(source, flag) of every device that really reported a fault: the simulator's ordinary
    city has rare ones (a dark traffic signal, a tripped breaker), at the wall-clock times the
    run happened to cover. An alert for one is true, not a cold-start false alarm."""
    found = rows(
        settings,
        "SELECT DISTINCT source_id, metric FROM events_raw FINAL "
        "WHERE metric IN ('signal_fault', 'breaker_open') AND value >= 1",
    )
    return {tuple(row) for row in found}


def test_the_first_half_hour_of_the_ordinary_city_is_quiet(namespace: CommonSettings) -> None:
    log = ROOT / ".local" / "test-logs" / f"{namespace.kafka_topic_prefix}-cold.log"
    worker = WorkerProcess(process_env(namespace), Path(log))
    worker.start()
    try:
        sim = run_sim(process_env(namespace), *UP_ARGS, "--count", str(EVENTS), "--max-speed",
                      background=True)  # fmt: skip
        out, err = sim.communicate(timeout=1200)  # a busy box sends about 1,000 a second
        assert sim.returncode == 0, err.decode(errors="replace")[-3000:]
        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert summary["sent"] == EVENTS and summary["send_errors"] == 0, summary
        settled(namespace, worker, 1200)
        stored = rows(namespace, "SELECT uniqExact(source_id), count() FROM events_raw FINAL")
        raised, incidents, late_cases = _alerts(namespace)
        faults = _device_faults(namespace)
    finally:
        worker.stop()
    assert stored[0][0] == SENSORS  # every sensor was heard from: the sensor-days are real
    assert incidents == 0, raised  # a device's own fault never opens one
    false = [alert for alert in raised if tuple(alert[:2]) not in faults]
    assert len(false) <= MAX_ALERTS, raised
    print(f"cold start: {len(raised)} alerts on readings ({len(raised) - len(false)} for "
          f"faults the devices reported), {late_cases} overdue-case alerts")  # fmt: skip
