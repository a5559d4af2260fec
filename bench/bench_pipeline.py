"""Whole-path benchmark: events/s through the real worker into the real ClickHouse, and the
worker's peak memory.

    .venv/bin/python bench/bench_pipeline.py --events 200000

The simulator first fills fresh topics (its own rate is printed too); then a worker starts
on the backlog and the clock runs from its first stored row to the last, so the figure is
the worker's sustained rate, not the producer's. Needs scripts/services start.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.clickhouse import drop_database, ensure_schema  # noqa: E402
from infra.kafka import delete_topics, ensure_topics, namespace_topics  # noqa: E402
from infra.process import StreamWorker, namespace_env, run_json  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from replay.store import stored  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def progress(settings: CommonSettings) -> int:
    """Rows stored so far; without FINAL, so polling costs the server little (no crash
    happens here, so there are no re-delivered duplicates to collapse)."""
    return stored(settings, settings.clickhouse_database, final=False).messages


def run_sim(env: dict[str, str], *args: str) -> dict[str, object]:
    """The simulator run to its end; its JSON summary."""
    return dict(run_json("sensors_sim", ("run", *args), env, cwd=ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--malformed", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    settings = load(CommonSettings, clickhouse_database=f"cbbench_{tag}",
                    kafka_topic_prefix=f"cbbench-{tag}")  # fmt: skip
    ensure_schema(settings)
    ensure_topics(settings)
    data_dir = ROOT / ".local" / "test-worker" / settings.kafka_topic_prefix
    env = namespace_env(os.environ, settings, data_dir,
                        CITYBRAIN_WORKER_BATCH_SIZE=str(args.batch_size))  # fmt: skip
    worker = StreamWorker(env, ROOT / ".local" / "bench" / f"worker-{tag}.log", cwd=ROOT)
    try:
        started = time.perf_counter()
        summary = run_sim(
            env,
            "--seed",
            "5",
            "--rate",
            "10000",
            "--count",
            str(args.events),
            "--malformed",
            str(args.malformed),
            "--max-speed",
        )
        produce_s = time.perf_counter() - started
        worker.start()
        first = done = None
        while done is None:
            n = progress(settings)
            now = time.perf_counter()
            if first is None and n > 0:
                first, first_n = now, n
            if n >= args.events:
                done = now
            elif not worker.alive():
                raise SystemExit("worker died:\n" + worker.log_tail())
            time.sleep(0.25)
        rss = peak_rss_mb(worker.pid)
        rate = (args.events - first_n) / (done - first) if done > first else float("nan")
        print(
            f"events: {args.events} ({summary['malformed']} malformed), batch size "
            f"{args.batch_size}"
        )
        print(f"simulator produce rate: {args.events / produce_s:,.0f} events/s")
        print(f"worker sustained rate (first to last stored row): {rate:,.0f} events/s")
        print(f"worker peak memory (VmHWM): {rss:,.0f} MB")
        final = stored(settings, settings.clickhouse_database, final=True)
        print(f"stored (FINAL): raw {final.raw}, cases {final.cases}, dead {final.dead}")
    finally:
        worker.stop()
        drop_database(settings, settings.clickhouse_database)
        delete_topics(settings, namespace_topics(settings.kafka_topic_prefix))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
