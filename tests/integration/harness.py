"""Processes and polling for integration tests: the real worker and simulator, as a user
runs them, against the real services."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.clickhouse import connect
from infra.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: CommonSettings, **extra: str) -> dict[str, str]:
    """Environment for a child process pointed at the test's own namespace."""
    env = dict(os.environ)
    env.update(
        CITYBRAIN_CLICKHOUSE_DATABASE=settings.clickhouse_database,
        CITYBRAIN_KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        CITYBRAIN_WORKER_APP_ID=f"{settings.kafka_topic_prefix}-worker",
        CITYBRAIN_WORKER_DATA_DIR=str(
            ROOT / ".local" / "test-worker" / settings.kafka_topic_prefix
        ),
        CITYBRAIN_WORKER_METRICS_PORT="0",
        CITYBRAIN_SIM_METRICS_PORT="0",
        CITYBRAIN_DASHBOARD_METRICS_PORT="0",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """``python -m streams`` in a child process, its log kept for failure messages."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "--loglevel", "info"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def run_sim(env: dict[str, str], *args: str, background: bool = False) -> Any:
    """Run the simulator CLI; returns its JSON summary, or the Popen when in background."""
    cmd = [sys.executable, "-m", "sensors_sim", "run", *args]
    if background:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    watch: WorkerProcess | Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds (with
    ``watch``'s log tail), or at once if the watched worker died."""
    deadline = time.monotonic() + timeout
    worker = watch if isinstance(watch, WorkerProcess) else None
    tail: Callable[[], str] = lambda: ""  # noqa: E731
    if worker is not None:
        tail = worker.log_tail
    elif watch is not None and not isinstance(watch, WorkerProcess):
        tail = watch
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and not worker.alive():
            raise AssertionError(f"worker died while waiting for {what}\n{tail()}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail()}")


def scalar(settings: CommonSettings, sql: str) -> Any:
    client = connect(settings)
    try:
        return client.execute(sql)[0][0]
    finally:
        client.disconnect()


def rows(settings: CommonSettings, sql: str) -> list[tuple[Any, ...]]:
    client = connect(settings)
    try:
        return list(client.execute(sql))
    finally:
        client.disconnect()


def stored_counts(settings: CommonSettings) -> dict[str, int]:
    """What queries see: each table read with FINAL (re-delivered rows collapse)."""
    return {
        "raw": scalar(settings, "SELECT count() FROM events_raw FINAL"),
        "cases": scalar(settings, "SELECT count() FROM cases_raw FINAL"),
        "dead": scalar(settings, "SELECT count() FROM dead_letters FINAL"),
    }


def rollup_totals(settings: CommonSettings) -> dict[str, int]:
    """Roll-up counts summed per level, read as queries read them."""
    return {
        level: int(total)
        for level, total in rows(
            settings, "SELECT level, sum(cnt) FROM rollups_1m FINAL GROUP BY level"
        )
    }
