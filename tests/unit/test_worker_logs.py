"""The worker's logs: a bad format setting stops it by name, JSON lines parse, and Faust's
producer-buffer notes become a metric instead of lines."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from infra.settings import SettingsError, WorkerSettings, load
from streams import logs
from streams.__main__ import use_event_loop
from streams.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[2]


def _record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_a_bad_log_format_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRAIN_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="CITYBRAIN_LOG_FORMAT='xml'.*'text' or 'json'"):
        load(WorkerSettings)


def test_detection_is_on_or_off_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITYBRAIN_WORKER_DETECTION", raising=False)
    assert load(WorkerSettings).worker_detection == "on"
    monkeypatch.setenv("CITYBRAIN_WORKER_DETECTION", "off")
    assert load(WorkerSettings).worker_detection == "off"
    monkeypatch.setenv("CITYBRAIN_WORKER_DETECTION", "false")
    with pytest.raises(SettingsError, match="CITYBRAIN_WORKER_DETECTION='false'.*'on' or 'off'"):
        load(WorkerSettings)


def test_the_event_loop_is_asyncio_unless_uvloop_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CITYBRAIN_WORKER_EVENT_LOOP", raising=False)
    assert load(WorkerSettings).worker_event_loop == "asyncio"
    monkeypatch.setenv("CITYBRAIN_WORKER_EVENT_LOOP", "trio")
    with pytest.raises(SettingsError, match="CITYBRAIN_WORKER_EVENT_LOOP='trio'.*'asyncio' or "
                       "'uvloop'"):  # fmt: skip
        load(WorkerSettings)
    made = {}
    try:
        for name in ("uvloop", "asyncio"):
            use_event_loop(name)
            loop = asyncio.new_event_loop()
            made[name] = type(loop).__module__.split(".")[0]
            loop.close()
    finally:
        asyncio.set_event_loop_policy(None)
    assert made == {"uvloop": "uvloop", "asyncio": "asyncio"}


def test_the_worker_stops_on_a_bad_log_format() -> None:
    env = {**os.environ, "CITYBRAIN_LOG_FORMAT": "yaml"}
    done = subprocess.run([sys.executable, "-m", "streams"], cwd=ROOT, env=env,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert b"CITYBRAIN_LOG_FORMAT='yaml'" in done.stderr


def test_json_lines_carry_level_logger_and_message() -> None:
    line = logs.JsonFormatter().format(_record("streams.app", logging.WARNING, "held %d"))
    parsed = orjson.loads(line)
    assert (parsed["level"], parsed["logger"], parsed["message"]) == ("WARNING", "streams.app",
                                                                      "held %d")  # fmt: skip
    assert parsed["ts"].endswith("+00:00")


def test_producer_buffer_notes_become_a_metric() -> None:
    metrics = WorkerMetrics.create(CollectorRegistry())
    keep = logs.ThroughputToMetrics(metrics).filter
    producer = "faust.transport.producer"
    assert not keep(_record(producer, logging.WARNING, "producer buffer full size 166"))
    assert not keep(_record(producer, logging.INFO, "producer flush took 0.08"))
    assert keep(_record("faust.transport.consumer", logging.WARNING, "wait_empty: Waiting"))
    assert metrics.producer_waits._value.get() == 1


def test_timer_overlaps_become_a_metric_per_timer() -> None:
    metrics = WorkerMetrics.create(CollectorRegistry())
    keep = logs.ThroughputToMetrics(metrics).filter
    record = _record("mode.timers", logging.WARNING, "Timer %s is overlapping (interval=%r "
                     "runtime=%r)")  # fmt: skip
    record.args = ("streams.app.create_app.<locals>.release_when_idle", 0.5, 0.79)
    assert not keep(record)
    assert not keep(record)
    assert metrics.timer_overruns.labels("release_when_idle")._value.get() == 2
    other = _record("mode.timers", logging.WARNING, "Timer %s woke up too late")
    other.args = ("x",)
    assert keep(other)  # anything else from the timers is still said


def test_a_coordinator_not_ready_at_start_up_is_a_metric_and_later_an_error() -> None:
    metrics = WorkerMetrics.create(CollectorRegistry())
    now = [100.0]
    keep = logs.ThroughputToMetrics(metrics, clock=lambda: now[0]).filter
    coordinator = "aiokafka.consumer.group_coordinator"
    failed = _record(coordinator, logging.ERROR, "Group Coordinator Request failed: %s")
    failed.args = ("[Error 15] GroupCoordinatorNotAvailableError",)
    dead = _record(
        coordinator, logging.WARNING, "Marking the coordinator dead (node 1)for group g."
    )
    assert not keep(failed) and not keep(dead)
    assert metrics.coordinator_waits._value.get() == 2
    assert keep(_record(coordinator, logging.ERROR, "Error sending JoinGroupRequest"))
    now[0] += logs.COORDINATOR_GRACE_S
    assert keep(failed) and keep(dead)  # still unavailable a minute on: worth a look
    assert metrics.coordinator_waits._value.get() == 2


def test_clients_and_faust_log_from_warning_up() -> None:
    config = logs.config("debug", "json", WorkerMetrics.create(CollectorRegistry()))
    assert {name: c["level"] for name, c in config["loggers"].items()} == {
        name: logging.WARNING for name in ("aiokafka", "kafka", "faust", "mode")
    }
    assert config["root"]["level"] == logging.DEBUG
