"""Whole-path benchmark: events/s through the real worker into the real ClickHouse, and the
worker's peak memory; with detection on, the decisions it made and sent and the latency
from event time to alert; with detection off (``CITYBRAIN_WORKER_DETECTION=off``), the
cost of storage alone.

    .venv/bin/python bench/bench_pipeline.py --events 200000 [--detection on|off|both]

The simulator first fills fresh topics (its own rate is printed too); then a worker starts
on the backlog and the clock runs from its first stored row to the last, so the figure is
the worker's sustained rate, not the producer's. Event-to-alert latency (an alert row's
``created_ms`` minus the event time of the reading that raised it) therefore includes the
time the event waited in that backlog. Needs scripts/services start.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.clickhouse import connect  # noqa: E402
from infra.kafka import group_lag  # noqa: E402
from infra.namespace import child_env, fresh_namespace, new_tag  # noqa: E402
from infra.process import StreamWorker, free_port, run_json  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from infra.topics import alerting_topic  # noqa: E402
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


def worker_counters(port: int) -> dict[str, float]:
    """The worker's Prometheus counters (``*_total`` samples), by sample name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("citybrain_worker_") and sample.name.endswith("_total")
    }


def alert_latency(settings: CommonSettings) -> tuple[int, float, float]:
    """Raised alerts and the p50/p99 seconds from the raising reading's event time to the
    alert row's creation."""
    client = connect(settings)
    try:
        [(n, (p50, p99))] = client.execute(
            "SELECT count(), quantiles(0.5, 0.99)(toInt64(created_ms) - toInt64(ts_ms)) "
            "FROM alert_events FINAL WHERE kind = 'raised' AND created_ms > 0"
        )
    finally:
        client.disconnect()
    return int(n), p50 / 1000, p99 / 1000


@dataclass(frozen=True)
class Figures:
    detection: str
    produce_rate: float
    rate: float
    rss_mb: float
    stored: str
    counters: dict[str, float]
    alerts: tuple[int, float, float]


def run(args: argparse.Namespace, detection: str) -> Figures:
    """One worker on a fresh namespace's backlog, with detection on or off."""
    tag = new_tag(8)
    with fresh_namespace(load(CommonSettings), "cbbench", tag=tag, topics=True) as settings:
        return measure(args, detection, settings, tag)


def measure(
    args: argparse.Namespace, detection: str, settings: CommonSettings, tag: str
) -> Figures:
    """The figures of one worker started on a backlog in ``settings``' namespace."""
    port = free_port()
    env = child_env(settings, CITYBRAIN_WORKER_BATCH_SIZE=str(args.batch_size),
                    CITYBRAIN_WORKER_DETECTION=detection,
                    CITYBRAIN_WORKER_METRICS_PORT=str(port))  # fmt: skip
    worker = StreamWorker(env, ROOT / ".local" / "bench" / f"worker-{tag}.log", cwd=ROOT)
    try:
        started = time.perf_counter()
        run_sim(env, "--seed", "5", "--rate", str(args.event_rate), "--count", str(args.events),
                "--malformed", str(args.malformed), "--max-speed")  # fmt: skip
        produce_s = time.perf_counter() - started
        worker.start()
        first: float | None = None
        done: float | None = None
        while done is None or first is None:
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
        group = f"{settings.kafka_topic_prefix}-worker"
        alerting = alerting_topic(settings.kafka_topic_prefix)
        while group_lag(settings, group, [alerting]) > 0:  # the engine has all decisions
            if not worker.alive():
                raise SystemExit("worker died:\n" + worker.log_tail())
            time.sleep(0.5)
        final = stored(settings, settings.clickhouse_database, final=True)
        return Figures(
            detection, args.events / produce_s, rate, rss,
            f"raw {final.raw}, cases {final.cases}, dead {final.dead}",
            worker_counters(port), alert_latency(settings),
        )  # fmt: skip
    finally:
        worker.stop()


def report(f: Figures) -> None:
    c = f.counters
    print(f"-- detection {f.detection}")
    print(f"simulator produce rate: {f.produce_rate:,.0f} events/s")
    print(f"worker sustained rate (first to last stored row): {f.rate:,.0f} events/s")
    print(f"worker peak memory (VmHWM): {f.rss_mb:,.0f} MB")
    print(f"stored (FINAL): {f.stored}")
    made = c.get("citybrain_worker_decisions_made_total", 0)
    sent = c.get("citybrain_worker_decisions_total", 0)
    print(f"decisions: {made:,.0f} made, {sent:,.0f} sent to the alert engine")
    n, p50, p99 = f.alerts
    if n:
        print(f"event time to alert row: p50 {p50:,.2f} s, p99 {p99:,.2f} s ({n} raised)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--malformed", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--event-rate", type=int, default=10_000,
                        help="events per second of event time (200: as a live city's; keep "
                        "events/rate under 300 s, CITYBRAIN_WORKER_MAX_FUTURE_S). A fresh "
                        "city decided nothing in 250 s of it: its detectors are still "
                        "warming up")  # fmt: skip
    parser.add_argument("--detection", choices=("on", "off", "both"), default="on",
                        help="run the worker with detection on, off, or once each")  # fmt: skip
    args = parser.parse_args()
    print(f"events: {args.events} (malformed share {args.malformed}, {args.event_rate} per "
          f"second of event time), batch size {args.batch_size}")  # fmt: skip
    for detection in ("on", "off") if args.detection == "both" else (args.detection,):
        report(run(args, detection))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
