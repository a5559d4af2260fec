"""Processes and polling for integration tests: the real worker and simulator, as a user
runs them, against the real services."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.clickhouse import connect
from infra.process import (
    ChildProcess,
    StreamWorker,
    WaitFailed,
    namespace_env,
    run_json,
    wait_until,
)
from infra.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: CommonSettings, **extra: str) -> dict[str, str]:
    """Environment for a child process pointed at the test's own namespace."""
    data_dir = ROOT / ".local" / "test-worker" / settings.kafka_topic_prefix
    return namespace_env(os.environ, settings, data_dir, **extra)


class WorkerProcess(StreamWorker):
    """``python -m streams`` run from the repository root, as a user runs it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path, cwd=ROOT)


def run_sim(env: dict[str, str], *args: str, background: bool = False) -> Any:
    """Run the simulator CLI; returns its JSON summary, or the Popen when in background."""
    if background:  # the caller reads its summary from the pipe when it has finished
        return subprocess.Popen(
            [sys.executable, "-m", "sensors_sim", "run", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
    return run_json("sensors_sim", ("run", *args), env, cwd=ROOT)


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    watch: ChildProcess | Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds (with
    ``watch``'s log tail), or at once if the watched process died."""
    try:
        wait_until(condition, timeout, what, watch)
    except WaitFailed as failed:
        raise AssertionError(str(failed)) from None


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
