"""Every listening socket of the processes that start without Kafka and ClickHouse (the
simulator's metrics endpoint, the dashboard and its metrics endpoint) is on the address its
setting names, and there is no other. The worker and the notifier need the services first:
tests/integration/test_listening_addresses.py holds them to the same rule."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.process import ChildProcess, free_port
from tests.listening import METRICS_ADDR, listens_on

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_HOST = "127.0.0.3"


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A bootstrap address that accepts connections and never answers: the simulator waits
    on it for its topics after its metrics endpoint is up, so there is time to look."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def _env(broker: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRAIN_")}
    env.update(
        CITYBRAIN_KAFKA_BOOTSTRAP=broker,
        CITYBRAIN_CLICKHOUSE_PORT=str(free_port("127.0.0.1")),  # nothing there: never used
        CITYBRAIN_METRICS_ADDR=METRICS_ADDR,
        **settings,
    )
    return env


def test_simulator_metrics_bind_the_metrics_address(tmp_path: Path, silent_broker: str) -> None:
    port = free_port(METRICS_ADDR)
    args = ("run", "--no-reference", "--rate", "1", "--metrics-port", str(port))
    env = _env(silent_broker)
    with ChildProcess("sensors_sim", args, env=env, log_path=tmp_path / "sim.log", cwd=ROOT) as sim:
        assert listens_on(sim, {(METRICS_ADDR, port)}) == {(METRICS_ADDR, port)}


def test_dashboard_and_its_metrics_bind_their_addresses(tmp_path: Path, silent_broker: str) -> None:
    port, metrics_port = free_port(DASHBOARD_HOST), free_port(METRICS_ADDR)
    env = _env(
        silent_broker,
        CITYBRAIN_DASHBOARD_HOST=DASHBOARD_HOST,
        CITYBRAIN_DASHBOARD_PORT=str(port),
        CITYBRAIN_DASHBOARD_METRICS_PORT=str(metrics_port),
        CITYBRAIN_DASHBOARD_SECRET_KEY="listening-test",
    )
    expected = {(DASHBOARD_HOST, port), (METRICS_ADDR, metrics_port)}
    with ChildProcess("dashboard", env=env, log_path=tmp_path / "dash.log", cwd=ROOT) as dash:
        assert listens_on(dash, expected) == expected
