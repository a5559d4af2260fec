"""The same worker the live pipeline runs (``python -m streams``), pointed at a replay's
namespace through its environment, consuming the replay's one merged topic (every family,
in replay order, one partition) so that it sees the events in one total order.

History was validated when it was recorded, so the worker's wall-clock checks (too old,
in the future) are opened up for the raw archive; everything else about the worker is
unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from infra.process import StreamWorker
from replay.namespace import Namespace

OPEN_TIME_CHECK_S = 100 * 365 * 24 * 3600  # a century: any recorded event passes
_ERROR = re.compile(r"\[(ERROR|CRITICAL)\]|Crashed reason=|^\w*Error: ")


def worker_env(
    base: Mapping[str, str],
    ns: Namespace,
    data_dir: Path,
    detector_config: Path | None,
    validated: bool = True,
) -> dict[str, str]:
    """The environment of a replay's worker: ``base`` (the caller's) re-pointed at ``ns``.

    ``validated``: the events passed the live checks already (the raw archive), so both
    wall-clock checks are opened. Else (raw Kafka messages) only "too old" is: a message
    live found too far in the future is then still refused, as live refused it.

    >>> from replay.namespace import namespace
    >>> env = worker_env({}, namespace("r1"), Path("/tmp/r1"), None)
    >>> env["CITYBRAIN_CLICKHOUSE_DATABASE"], env["CITYBRAIN_KAFKA_PARTITIONS"]
    ('replay_r1', '1')
    """
    env = dict(base)
    env.update(
        CITYBRAIN_CLICKHOUSE_DATABASE=ns.database,
        CITYBRAIN_KAFKA_TOPIC_PREFIX=ns.topic_prefix,
        CITYBRAIN_WORKER_APP_ID=ns.app_id,
        CITYBRAIN_WORKER_METRICS_PORT="0",
        CITYBRAIN_KAFKA_PARTITIONS="1",  # one partition per topic: its order is total
        CITYBRAIN_WORKER_INPUT="merged",  # every family in one topic: one total order
        CITYBRAIN_WORKER_MAX_AGE_S=str(OPEN_TIME_CHECK_S),
        CITYBRAIN_WORKER_DATA_DIR=str(data_dir),
    )
    if validated:
        env["CITYBRAIN_WORKER_MAX_FUTURE_S"] = str(OPEN_TIME_CHECK_S)
    if detector_config is not None:
        env["CITYBRAIN_DETECTOR_CONFIG"] = str(detector_config)
    return env


class ReplayWorker(StreamWorker):
    """One worker process with its log; its own session, so a Ctrl-C of the replay
    command reaches it only through :meth:`stop`."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path, own_session=True)

    def log_tail(self, lines: int = 30) -> str:
        """The first error the worker logged (why it stopped, usually) and its last lines."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        first = next((line for line in text if _ERROR.search(line)), None)
        head = [f"first error: {first[:2000]}", "..."] if first else []
        return (
            "\n".join(head + [line[:500] for line in text[-lines:]]) + f"\n(log: {self.log_path})"
        )


def stop_kept_worker(pid: int, ns: Namespace, timeout_s: float = 30.0) -> bool:
    """Stop a worker left running by ``run --keep-running``: only if process ``pid`` is
    still that replay's worker (its environment names the replay's app id)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    if f"CITYBRAIN_WORKER_APP_ID={ns.app_id}".encode() not in environ:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)  # usually not our child: poll until it is gone
    if _running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not; one that is our child is reaped)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
