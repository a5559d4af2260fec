"""Child processes of the product, run one way everywhere (replay, tests, bench): a module as
``python -m <module> <args>`` with its output in a log file, stopped with SIGTERM and, after
a grace period, SIGKILL; plus waiting on a condition while watching such a child.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from infra.settings import CommonSettings
from infra.topics import worker_app_id

STOP_TIMEOUT_S = 30.0
TASK_REPORT_HEAD = "where the worker waits"
"""How the worker's report of where each task and thread waits begins (logged on SIGUSR1:
:func:`streams.watchdog.task_report`), as :meth:`StreamWorker.where_it_waits` finds it."""
KILL_TIMEOUT_S = 10.0


class ChildProcess:
    """``python -m <module> <args>`` in a child process, its stdout and stderr appended to
    ``log_path`` (kept for failure messages); a context manager that starts and stops it.

    ``own_session``: the child gets a session of its own, so a Ctrl-C meant for the parent
    reaches it only through :meth:`stop`.
    """

    def __init__(
        self, module: str, args: Sequence[str] = (), *, env: Mapping[str, str], log_path: Path,
        cwd: Path | None = None, own_session: bool = False, name: str | None = None,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ) -> None:  # fmt: skip
        self.command = [sys.executable, "-m", module, *args]
        self.env, self.log_path, self.cwd = dict(env), log_path, cwd
        self.own_session, self.stop_timeout_s = own_session, stop_timeout_s
        self.name = name or module
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=self.own_session,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self._started().pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout_s: float) -> int:
        """Its exit code once it has exited; ``subprocess.TimeoutExpired`` after ``timeout_s``."""
        return self._started().wait(timeout=timeout_s)

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout_s`` (the constructor's
        by default); its exit code, None if it never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout_s if timeout_s is None else timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=KILL_TIMEOUT_S)
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL at once, as a crash would; its exit code."""
        proc = self._started()
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of its log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> ChildProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _started(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.proc


class StreamWorker(ChildProcess):
    """The stream worker, ``python -m streams`` at info level, as a child process."""

    def __init__(
        self, env: Mapping[str, str], log_path: Path, *, cwd: Path | None = None,
        own_session: bool = False,
    ) -> None:  # fmt: skip
        super().__init__("streams", ("--loglevel", "info"), env=env, log_path=log_path,
                         cwd=cwd, own_session=own_session, name="worker")  # fmt: skip

    def where_it_waits(self, timeout_s: float = 5.0, limit: int = 30_000) -> str:
        """Ask a running worker where each task and thread waits (SIGUSR1: it logs
        :func:`streams.watchdog.task_report`) and return that report from its log, at
        most ``limit`` characters; empty if it is not running or did not answer."""
        if not self.alive() or not self.log_path.exists():
            return ""
        start = self.log_path.stat().st_size
        self._started().send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as log:
                log.seek(start)
                text = log.read().decode(errors="replace")
            at = text.find(TASK_REPORT_HEAD)
            if at >= 0:
                time.sleep(0.2)  # the rest of the report, written with it
                with open(self.log_path, "rb") as log:
                    log.seek(start)
                    text = log.read().decode(errors="replace")
                return text[at : at + limit]
            time.sleep(0.2)
        return ""


class WaitFailed(RuntimeError):
    """A condition did not come true in time, or the watched child died first."""


def wait_until(
    predicate: Callable[[], bool], timeout_s: float, what: str,
    watch: ChildProcess | Callable[[], str] | None = None, poll_s: float = 0.5,
) -> None:  # fmt: skip
    """Poll ``predicate`` until true; :class:`WaitFailed` naming ``what`` after ``timeout_s``
    seconds, or at once if ``watch`` is a child that died. The message ends with the watched
    child's log tail (or what a ``watch`` callable returns)."""
    child = watch if isinstance(watch, ChildProcess) else None
    report = _report_of(watch)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if child is not None and not child.alive():
            raise WaitFailed(f"{child.name} died while waiting for {what}\n{report()}")
        time.sleep(poll_s)
    tail = report()  # before the worker logs where it waits, which would fill the tail
    waits = child.where_it_waits() if isinstance(child, StreamWorker) else ""
    raise WaitFailed(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}"
                     + (f"\n{waits}" if waits else ""))  # fmt: skip


def _report_of(watch: ChildProcess | Callable[[], str] | None) -> Callable[[], str]:
    if isinstance(watch, ChildProcess):
        return watch.log_tail
    return watch if watch is not None else lambda: ""


class ChildFailed(RuntimeError):
    """A child run to its end exited with an error."""


def run_json(
    module: str, args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None,
    timeout_s: float = 300.0,
) -> Any:  # fmt: skip
    """Run a command-line module to its end and return the JSON summary it prints as its last
    line of output (the simulator's ``run``, the replay's ``run --json``)."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=dict(env),
                          capture_output=True, timeout=timeout_s)  # fmt: skip
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")[-3000:]
        raise ChildFailed(f"python -m {module} exited with {done.returncode}:\n{stderr}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def namespace_env(
    base: Mapping[str, str], settings: CommonSettings, worker_data_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a child pointed at ``settings``' database and topic prefix (the
    worker's consumer group named after the prefix), every metrics port left to the system
    so that children never collide; ``extra`` CITYBRAIN_* variables on top."""
    env = dict(base)
    env.update(
        CITYBRAIN_CLICKHOUSE_DATABASE=settings.clickhouse_database,
        CITYBRAIN_KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        CITYBRAIN_WORKER_APP_ID=worker_app_id(settings.kafka_topic_prefix),
        CITYBRAIN_WORKER_DATA_DIR=str(worker_data_dir),
        CITYBRAIN_WORKER_METRICS_PORT="0",
        CITYBRAIN_SIM_METRICS_PORT="0",
        CITYBRAIN_DASHBOARD_METRICS_PORT="0",
    )
    env.update(extra)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` just now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def dashboard_answers(url: str) -> bool:
    """Whether a dashboard at ``url`` serves its login page yet."""
    try:
        urllib.request.urlopen(url + "/login", timeout=2).close()
        return True
    except (urllib.error.URLError, OSError):
        return False
