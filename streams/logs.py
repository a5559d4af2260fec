"""The worker's logging: one line per event a person should look at, as text or JSON.

Throughput belongs in metrics: Faust warns "producer buffer full" and notes "producer
flush took" several times a second at an ordinary 200 events/s, which buried real
problems; those lines become the ``producer_waits`` counter instead. Likewise a periodic
task that ran longer than its interval ("Timer ... is overlapping", dozens a minute on a
busy two-core box) is a ``timer_overruns`` count per timer, not a warning: the next run
simply waits, and the stall watch warns when input really stops being read. The Kafka clients
and Faust speak at INFO of every rebalance detail, so they log from WARNING up. On a broker
just started the group coordinator is not ready for the first seconds and aiokafka says so
at ERROR ("GroupCoordinatorNotAvailableError", "Marking the coordinator dead"): in the
worker's first ``COORDINATOR_GRACE_S`` that is ``coordinator_waits``, after it a real
problem, said as aiokafka says it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.metrics import WorkerMetrics

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("aiokafka", "kafka", "faust", "mode")
"""Loggers of the clients and of Faust, kept to WARNING and above."""
THROUGHPUT_NOTES = ("producer buffer full", "producer flush took")
TIMER_OVERLAP = "Timer %s is overlapping"  # mode.timers' message, its first argument the name
COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
COORDINATOR_NOT_READY = ("GroupCoordinatorNotAvailable", "Marking the coordinator dead")
COORDINATOR_GRACE_S = 60.0
"""How long after the worker starts a coordinator not yet available is start-up, not news."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class ThroughputToMetrics(logging.Filter):
    """Drops Faust's producer-buffer notes, mode's timer overlaps and, in the start-up grace,
    aiokafka's coordinator-not-ready errors, counting them in ``producer_waits``,
    ``timer_overruns`` and ``coordinator_waits``."""

    def __init__(self, metrics: WorkerMetrics, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.metrics = metrics
        self.clock = clock
        self.started = clock()

    def _starting_up(self) -> bool:
        return self.clock() - self.started < COORDINATOR_GRACE_S

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == COORDINATOR_LOGGER:
            if self._starting_up() and any(n in record.getMessage() for n in COORDINATOR_NOT_READY):
                self.metrics.coordinator_waits.inc()
                return False
            return True
        message = str(record.msg)
        if message.startswith(TIMER_OVERLAP) and record.args:
            name = str(record.args[0] if isinstance(record.args, tuple) else record.args)
            self.metrics.timer_overruns.labels(name.rsplit(".", 1)[-1]).inc()
            return False
        if message.startswith(THROUGHPUT_NOTES[0]):
            self.metrics.producer_waits.inc()
        return not message.startswith(THROUGHPUT_NOTES)


def config(level: str, log_format: str, metrics: WorkerMetrics) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the worker (Faust's Worker applies it)."""
    formatter = {"()": JsonFormatter} if log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": formatter},
        "filters": {"throughput": {"()": ThroughputToMetrics, "metrics": metrics}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "line",
                "filters": ["throughput"],
            }
        },
        "loggers": {name: {"level": max(logging.WARNING, _number(level))} for name in QUIET},
        "root": {"level": _number(level), "handlers": ["stdout"]},
    }


def _number(level: str) -> int:
    return logging.getLevelNamesMapping()[level.upper()]
