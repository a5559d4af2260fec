"""Processes and polling for integration tests: the real worker and simulator, as a user
runs them, against the real services."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from infra.clickhouse import connect
from infra.kafka import group_lags, group_members
from infra.namespace import child_env
from infra.process import (
    ChildProcess,
    StreamWorker,
    WaitFailed,
    run_json,
    wait_until,
)
from infra.settings import CommonSettings
from infra.topics import alert_actions_topic, alerting_topic, all_family_topics, worker_app_id

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings: CommonSettings, **extra: str) -> dict[str, str]:
    """Environment for a child process pointed at the test's own namespace."""
    return child_env(settings, **extra)


class WorkerProcess(StreamWorker):
    """``python -m streams`` run from the repository root, as a user runs it. Its log tail
    (what a failed wait shows) ends with the inputs its group has not committed."""

    def __init__(
        self, env: dict[str, str], log_path: Path, settings: CommonSettings | None = None
    ) -> None:
        super().__init__(env, log_path, cwd=ROOT)
        self.settings = settings

    def log_tail(self, lines: int = 40) -> str:
        if self.settings is None:
            return super().log_tail(lines)
        try:
            behind = {tp: n for tp, n in _input_lags(self.settings).items() if n}
        except Exception as exc:  # the broker is the thing that failed: say so, keep the log
            behind_text = f"(uncommitted inputs unknown: {exc})"
        else:
            behind_text = "uncommitted inputs: " + (
                ", ".join(f"{tp.topic}/{tp.partition} {n}" for tp, n in sorted(behind.items()))
                or "none"
            )
        return f"{super().log_tail(lines)}\n{behind_text}"


def worker_process(settings: CommonSettings, name: str, **env: str) -> WorkerProcess:
    """A worker in the test's namespace (``env``: extra settings), logging to
    ``.local/test-logs/<prefix>-<name>.log``."""
    log = ROOT / ".local" / "test-logs" / f"{settings.kafka_topic_prefix}-{name}.log"
    return WorkerProcess(process_env(settings, **env), log, settings)


def workers_in_group(settings: CommonSettings) -> int:
    """Workers sharing the namespace's input partitions (0 while the group rebalances)."""
    return group_members(settings, worker_app_id(settings.kafka_topic_prefix))


def _input_lags(settings: CommonSettings) -> dict[Any, int]:
    """Per partition, the messages of the worker's inputs its group has not committed."""
    prefix = settings.kafka_topic_prefix
    inputs = [*all_family_topics(prefix).values(), alerting_topic(prefix),
              alert_actions_topic(prefix)]  # fmt: skip
    return group_lags(settings, worker_app_id(prefix), inputs)


def settled(settings: CommonSettings, worker: ChildProcess, timeout_s: float) -> None:
    """Wait until the worker has committed every message of its inputs (held readings are
    acked only once detected, decisions only once the engine applied them): a count of
    messages, not a quiet spell, so no guess at the machine's speed."""
    wait_for(lambda: sum(_input_lags(settings).values()) == 0, timeout_s,
             "the worker to commit every message it read", worker)  # fmt: skip


def topic_messages(settings: CommonSettings, topic: str) -> int:
    """How many messages a topic holds (end minus beginning offsets, every partition; 0
    for a topic that does not exist)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        starts, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
    finally:
        consumer.close()
    return sum(ends[tp] - starts[tp] for tp in parts)


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
