"""The one way the product runs a child process (infra/process.py), against a tiny real
child (tests/unit/patient_child.py): start, graceful stop, kill, log tail, waiting."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from infra.process import (
    ChildFailed,
    ChildProcess,
    StreamWorker,
    WaitFailed,
    namespace_env,
    run_json,
    wait_until,
)
from infra.settings import CommonSettings, load

ROOT = Path(__file__).resolve().parents[2]
CHILD = "tests.unit.patient_child"


def child(tmp_path: Path, mode: str = "serve", stop_timeout_s: float = 30.0) -> ChildProcess:
    return ChildProcess(CHILD, (mode,), env={"PATH": "/usr/bin:/bin"}, cwd=ROOT,
                        log_path=tmp_path / "logs" / "child.log", name="child",
                        stop_timeout_s=stop_timeout_s)  # fmt: skip


def wait_ready(process: ChildProcess, times: int = 1) -> None:
    """Until the child (the ``times``-th one on this log) has put in its SIGTERM handler."""
    wait_until(lambda: process.log_tail(100).count("ready") >= times, 30, "the child's start",
               process, 0.05)  # fmt: skip


def test_a_started_child_is_alive_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    process = child(tmp_path)
    assert not process.alive() and process.stop() is None  # never started: nothing to stop
    process.start()
    wait_ready(process)
    assert process.alive() and process.pid > 0
    assert process.stop() == 0
    assert not process.alive()
    assert process.log_tail().splitlines() == ["ready (serve)", "leaving on SIGTERM"]


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    process = child(tmp_path, "stubborn", stop_timeout_s=0.5)
    process.start()
    wait_ready(process)
    assert process.stop() == -signal.SIGKILL
    assert "leaving" not in process.log_tail()


def test_kill_ends_the_child_at_once_without_its_sigterm_handler(tmp_path: Path) -> None:
    process = child(tmp_path)
    process.start()
    wait_ready(process)
    assert process.kill() == -signal.SIGKILL
    assert process.wait(1) == -signal.SIGKILL
    assert process.log_tail() == "ready (serve)"


def test_as_a_context_manager_it_runs_inside_the_block_only(tmp_path: Path) -> None:
    with child(tmp_path) as process:
        wait_ready(process)
        assert process.alive()
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(0.1)
    assert not process.alive() and process.proc is not None
    assert process.proc.returncode == 0


def test_the_log_is_appended_to_and_its_tail_is_the_last_lines(tmp_path: Path) -> None:
    for started in range(1, 4):
        with child(tmp_path) as process:
            wait_ready(process, started)
    assert process.log_tail(2).splitlines() == ["ready (serve)", "leaving on SIGTERM"]
    assert process.log_tail(100).count("ready (serve)") == 3


def test_an_unstarted_child_has_no_pid_and_no_log(tmp_path: Path) -> None:
    process = child(tmp_path)
    assert process.log_tail() == ""
    with pytest.raises(RuntimeError, match="child has not been started"):
        _ = process.pid


def test_waiting_fails_at_once_when_the_watched_child_died(tmp_path: Path) -> None:
    process = child(tmp_path)
    process.start()
    wait_ready(process)
    process.kill()
    with pytest.raises(WaitFailed, match=r"child died while waiting for rows(.|\n)*ready"):
        wait_until(lambda: False, 30, "rows", process, 0.01)


def test_waiting_times_out_naming_what_it_waited_for_with_the_report() -> None:
    with pytest.raises(WaitFailed, match=r"timed out after 0 s waiting for rows\nthe report"):
        wait_until(lambda: False, 0.05, "rows", lambda: "the report", 0.01)
    polls = iter([False, False, True])
    wait_until(lambda: next(polls), 5, "the third poll", poll_s=0.01)


def test_run_json_returns_the_last_line_or_fails_with_the_error_output() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    assert run_json(CHILD, ("report",), env, cwd=ROOT) == {"events": 3}
    with pytest.raises(ChildFailed, match="exited with 3:\nno such scenario"):
        run_json(CHILD, ("fail",), env, cwd=ROOT)


def test_the_namespace_env_points_a_child_at_its_database_and_topics() -> None:
    settings = load(CommonSettings, clickhouse_database="cb_x", kafka_topic_prefix="cb-x")
    env = namespace_env({"HOME": "/h", "CITYBRAIN_WORKER_METRICS_PORT": "9100"}, settings,
                        Path("/d"), CITYBRAIN_WORKER_BATCH_SIZE="7")  # fmt: skip
    assert env == {
        "HOME": "/h",
        "CITYBRAIN_CLICKHOUSE_DATABASE": "cb_x",
        "CITYBRAIN_KAFKA_TOPIC_PREFIX": "cb-x",
        "CITYBRAIN_WORKER_APP_ID": "cb-x-worker",
        "CITYBRAIN_WORKER_DATA_DIR": "/d",
        "CITYBRAIN_WORKER_METRICS_PORT": "0",
        "CITYBRAIN_SIM_METRICS_PORT": "0",
        "CITYBRAIN_DASHBOARD_METRICS_PORT": "0",
        "CITYBRAIN_WORKER_BATCH_SIZE": "7",
    }


def test_a_worker_that_times_out_a_wait_is_asked_where_it_waits_after_its_tail(
    tmp_path: Path,
) -> None:
    """The log tail is taken first (the report would fill it), then the report is asked
    for with SIGUSR1 and read from the log."""
    worker = StreamWorker({"PATH": "/usr/bin:/bin"}, tmp_path / "worker.log", cwd=ROOT)
    worker.command = [*worker.command[:2], CHILD, "tells"]  # the child stands in for it
    worker.start()
    try:
        wait_ready(worker)
        with pytest.raises(WaitFailed) as failed:
            wait_until(lambda: False, 0.05, "rows", worker, 0.01)
    finally:
        worker.stop()
    text = str(failed.value)
    assert text.startswith("timed out after 0 s waiting for rows\nready (tells)\n"), text
    assert text.endswith("where the worker waits: 1 tasks, 1 threads\ntask main (Task-1)\n")
    assert text.count("where the worker waits") == 1, text  # not in the tail as well
