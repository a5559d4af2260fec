"""Restart time: how long a worker holding the detector state of ~10,000 streams takes from
its start to storing new events again, after a clean stop and after a SIGKILL.

    .venv/bin/python bench/bench_restart.py [--sensors-per-cell 10] [--events 40000]

A larger city (``--sensors-per-cell 10``: about 3,000 sources, 10,000 streams) fills fresh
topics; a worker learns all of it and commits. Then, twice:

- clean: the worker is stopped (SIGTERM), more events are produced while it is down, and
  a new worker starts on them;
- kill -9: more events are produced, the worker is SIGKILLed while storing them, and a
  new worker starts.

"Processing again" is the first stored row beyond what was stored before the start; the
figure is the time from the new process's start to that row (it includes the Python
start and Kafka group join, not only state recovery). Needs scripts/services start.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.kafka import group_lag  # noqa: E402
from infra.namespace import child_env, fresh_namespace, new_tag  # noqa: E402
from infra.process import StreamWorker, run_json, wait_until  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from infra.topics import all_family_topics, worker_app_id  # noqa: E402
from replay.store import stored  # noqa: E402


def progress(settings: CommonSettings) -> int:
    """Rows stored so far (without FINAL: cheap to poll; re-delivered rows only add)."""
    return stored(settings, settings.clickhouse_database, final=False).messages


def streams_in_state(worker: StreamWorker) -> str:
    """The worker's own count of restored series, from its log (the last one logged)."""
    lines = [line for line in worker.log_path.read_text(errors="replace").splitlines()
             if "restored" in line]  # fmt: skip
    return lines[-1].split(": ", 1)[-1].strip() if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors-per-cell", type=int, default=10)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--more", type=int, default=3_000,
                        help="events produced for each restart")  # fmt: skip
    args = parser.parse_args()
    if args.sensors_per_cell < 1 or args.events < 1 or args.more < 1:
        parser.error("--sensors-per-cell, --events and --more must be positive")
    tag = new_tag(8)
    with fresh_namespace(load(CommonSettings), "cbbench", tag=tag, topics=True) as settings:
        restarts(args, settings, tag)
    return 0


def restarts(args: argparse.Namespace, settings: CommonSettings, tag: str) -> None:
    """Fill ``settings``' namespace, then time a restart after a clean stop and after a
    SIGKILL."""
    env = child_env(settings)
    logs = ROOT / ".local" / "bench"
    city = ("--seed", "5", "--sensors-per-cell", str(args.sensors_per_cell))

    def produce(count: int) -> None:
        run_json("sensors_sim", ("run", *city, "--rate", "400", "--count", str(count),
                                 "--max-speed", "--case-fraction", "0"),
                 env, cwd=ROOT)  # fmt: skip

    def caught_up(worker: StreamWorker) -> None:
        inputs = list(all_family_topics(settings.kafka_topic_prefix).values())
        group = worker_app_id(settings.kafka_topic_prefix)
        wait_until(lambda: group_lag(settings, group, inputs) == 0, 300,
                   "the worker to commit every input", worker)  # fmt: skip

    def restart(name: str, before: int) -> StreamWorker:
        worker = StreamWorker(env, logs / f"restart-{tag}-{name}.log", cwd=ROOT)
        started = time.perf_counter()
        worker.start()
        wait_until(lambda: progress(settings) > before, 300, "a new stored row", worker,
                   poll_s=0.1)  # fmt: skip
        took = time.perf_counter() - started
        wait_until(lambda: bool(streams_in_state(worker)), 60, "the restore log line", worker)
        print(f"{name}: processing again {took:.1f} s after the start; "
              f"{streams_in_state(worker)}")  # fmt: skip
        return worker

    first = StreamWorker(env, logs / f"restart-{tag}-fill.log", cwd=ROOT)
    workers = [first]
    try:
        produce(args.events)
        started = time.perf_counter()
        first.start()
        caught_up(first)
        print(f"filled: {args.events} events learnt and committed in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        first.stop()  # clean: SIGTERM, waits for the exit
        produce(args.more)
        second = restart("clean-stop", progress(settings))
        workers.append(second)
        caught_up(second)
        produce(args.more)
        wait_until(lambda: progress(settings) > 0, 60, "rows", second)
        second.kill()
        third = restart("kill-9", progress(settings))
        workers.append(third)
        caught_up(third)
    finally:
        for worker in workers:
            worker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
