"""The worker's and the notifier's listening sockets are on CITYBRAIN_METRICS_ADDR and
nowhere else (the Faust web server stays off). They need Kafka and ClickHouse before they
listen; the processes that do not are in tests/unit/test_listening_addresses.py."""

from __future__ import annotations

import pytest

from infra.process import ChildProcess, free_port
from infra.settings import CommonSettings
from tests.integration.harness import ROOT, WorkerProcess, process_env
from tests.listening import METRICS_ADDR, listens_on

pytestmark = pytest.mark.integration


def test_worker_listens_only_on_the_metrics_address(isolated: CommonSettings) -> None:
    port = free_port(METRICS_ADDR)
    env = process_env(
        isolated, CITYBRAIN_METRICS_ADDR=METRICS_ADDR, CITYBRAIN_WORKER_METRICS_PORT=str(port)
    )
    log = ROOT / ".local" / "test-logs" / f"{isolated.kafka_topic_prefix}-worker.log"
    with WorkerProcess(env, log) as worker:
        assert listens_on(worker, {(METRICS_ADDR, port)}) == {(METRICS_ADDR, port)}


def test_notifier_listens_only_on_the_metrics_address(isolated: CommonSettings) -> None:
    port = free_port(METRICS_ADDR)
    env = process_env(
        isolated,
        CITYBRAIN_METRICS_ADDR=METRICS_ADDR,
        CITYBRAIN_NOTIFIER_METRICS_PORT=str(port),
        CITYBRAIN_NOTIFY_CONFIG=str(ROOT / ".local" / "no-such-notify.yaml"),  # no webhooks
        CITYBRAIN_NOTIFIER_GROUP_ID=f"{isolated.kafka_topic_prefix}-notifier",
    )
    log = ROOT / ".local" / "test-logs" / f"{isolated.kafka_topic_prefix}-notifier.log"
    args = ("--loglevel", "info")
    with ChildProcess("streams.notifier", args, env=env, log_path=log, cwd=ROOT) as notifier:
        assert listens_on(notifier, {(METRICS_ADDR, port)}) == {(METRICS_ADDR, port)}
