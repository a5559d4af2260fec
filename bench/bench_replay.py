"""Replay throughput: a recorded range replayed as fast as possible through the real worker.

    .venv/bin/python bench/bench_replay.py --events 100000 [--source clickhouse|kafka]

A namespace of its own plays the live pipeline: the simulator and a worker record
``--events`` events into it. Then ``citybrain-replay run --speed max`` replays the whole
range, and the bench prints the replay's produce rate, its end-to-end rate (first message
sent to last row stored, the worker's start included) and the worker's sustained rate
(first to last stored row of the replay). Everything is deleted at the end. Needs
scripts/services start.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.clickhouse import connect  # noqa: E402
from infra.namespace import child_env, fresh_namespace, new_tag  # noqa: E402
from infra.process import (  # noqa: E402
    ChildFailed,
    StreamWorker,
    run_json,
    wait_until,
)
from infra.settings import CommonSettings, load  # noqa: E402
from replay.namespace import namespace  # noqa: E402
from replay.store import drop_namespace, stored  # noqa: E402


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
    return moment.isoformat(timespec="milliseconds")


def rows(settings: CommonSettings, sql: str) -> list[tuple[Any, ...]]:
    client = connect(settings)
    try:
        return list(client.execute(sql))
    finally:
        client.disconnect()


def record(live: CommonSettings, events: int, batch_size: int) -> tuple[float, int, int]:
    """Simulator and worker fill the live namespace; (seconds, first, last event time)."""
    env = child_env(live, CITYBRAIN_WORKER_BATCH_SIZE=str(batch_size))
    log = ROOT / ".local" / "bench" / f"{live.kafka_topic_prefix}.log"
    started = time.perf_counter()
    with StreamWorker(env, log, cwd=ROOT) as worker:
        run_json("sensors_sim", ("run", "--seed", "5", "--rate", "10000", "--count", str(events),
                 "--malformed", "0.01", "--max-speed"), env, cwd=ROOT)  # fmt: skip
        wait_until(lambda: stored(live, live.clickhouse_database, final=True).messages >= events,
                   600, "the recording", worker.log_tail)  # fmt: skip
    first, last = rows(live, "SELECT min(t), max(t) FROM (SELECT ts_ms AS t FROM events_raw "
                             "UNION ALL SELECT ts_ms AS t FROM cases_raw)")[0]  # fmt: skip
    return time.perf_counter() - started, int(first), int(last)


def replay(live: CommonSettings, name: str, source: str, first: int, last: int,
           wall: tuple[int, int]) -> dict[str, object]:  # fmt: skip
    window = (first, last + 1) if source == "clickhouse" else wall
    env = child_env(live, CITYBRAIN_REPLAY_DIR=str(ROOT / ".local" / "bench" / "replay"))
    command = ["run", "--name", name, "--from", iso(window[0]), "--to", iso(window[1]),
               "--source", source, "--speed", "max", "--json"]  # fmt: skip
    try:
        return dict(run_json("replay", command, env, cwd=ROOT, timeout_s=900))
    except ChildFailed as failed:
        raise SystemExit(f"replay failed:\n{failed}") from None


def sustained(live: CommonSettings, database: str) -> float:
    """Events per second between the first and the last stored row (1 s resolution)."""
    spans = [
        rows(live, f"SELECT count(), min(toUInt32(ingested_at)), max(toUInt32(ingested_at)) "
                   f"FROM {database}.{table}")[0]
        for table in ("events_raw", "cases_raw")
    ]  # fmt: skip
    low = min(s[1] for s in spans if s[0])
    high = max(s[2] for s in spans if s[0])
    return float(sum(s[0] for s in spans) / max(1, high - low))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--source", choices=["clickhouse", "kafka"], default="clickhouse")
    args = parser.parse_args()
    tag = new_tag(8)
    with fresh_namespace(load(CommonSettings), "cbbench", tag=tag) as live:
        bench(args, live, f"bench_{tag}")
    return 0


def bench(args: argparse.Namespace, live: CommonSettings, name: str) -> None:
    """Record into ``live``, replay it as replay ``name``, print the rates; the replay's
    namespace and files are deleted at the end."""
    try:
        wall_from = int(time.time() * 1000)
        seconds, first, last = record(live, args.events, args.batch_size)
        wall = (wall_from, int(time.time() * 1000))
        print(f"recorded {args.events} events in {seconds:.1f} s "
              f"({(last - first) / 1000:.0f} s of event time)")  # fmt: skip
        summary = replay(live, name, args.source, first, last, wall)
        print(f"replay from {args.source}, speed max: {summary['events']} events, "
              f"{summary['raw_rows']} raw rows, {summary['rollup_rows']} roll-up rows, "
              f"{summary['dead_letters']} dead letters")  # fmt: skip
        print(f"produce rate: {summary['produce_events_per_s']:,.0f} events/s "
              f"({summary['produce_seconds']:.1f} s)")  # fmt: skip
        print(f"end to end (first sent to last stored, worker start included): "
              f"{summary['events_per_s']:,.0f} events/s ({summary['seconds']:.1f} s)")  # fmt: skip
        print(f"worker sustained (first to last stored row): "
              f"{sustained(live, namespace(name).database):,.0f} events/s")  # fmt: skip
    finally:
        drop_namespace(live, namespace(name))
        shutil.rmtree(ROOT / ".local" / "bench" / "replay" / name, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
