"""Whole-path benchmark: events/s through the real workers into the real ClickHouse, their
CPU per event and peak memory, with detection on and off, for one worker and for two
sharing the input's partitions; then the latency from event time to stored row and to
alert at a fixed offered load.

    .venv/bin/python bench/bench_pipeline.py --events 200000 [--detection on|off|both]
        [--workers 1,2] [--offered 10000 --offered-seconds 30]

Sustained rate: the simulator first fills fresh topics (its own rate is printed too); then
the workers start on the backlog and the clock runs from the first stored row to the
last, so the figure is the workers' rate, not the producer's. CPU ms per event is the
workers' user+system CPU over that same span divided by the events stored in it. Peak
memory is each worker's VmHWM. Detection off (``CITYBRAIN_WORKER_DETECTION=off``) is the
cost of storage alone.

Latency: the workers start on empty topics and are given their partitions; then the
simulator sends ``--offered`` events per second of wall clock for ``--offered-seconds``,
stamped with the wall clock (``--start now``). A stored row's ``ingested_ms - ts_ms`` is
the event-to-storage latency; a raised alert row's ``created_ms - ts_ms`` (the reading
that raised it) the event-to-alert latency. When the workers are slower than the offered
load, the queue grows for the whole run and the latencies say so. Needs
``scripts/services start``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.clickhouse import connect  # noqa: E402
from infra.kafka import group_lag, group_members  # noqa: E402
from infra.namespace import child_env, fresh_namespace, new_tag, worker_data_dir  # noqa: E402
from infra.process import StreamWorker, free_port, run_json, wait_until  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from infra.topics import alerting_topic, worker_app_id  # noqa: E402
from replay.store import stored  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds a live process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def progress(settings: CommonSettings) -> int:
    """Rows stored so far; without FINAL, so polling costs the server little (no crash
    happens here, so there are no re-delivered duplicates to collapse)."""
    return stored(settings, settings.clickhouse_database, final=False).messages


def run_sim(env: dict[str, str], *args: str) -> dict[str, object]:
    """The simulator run to its end; its JSON summary."""
    return dict(run_json("sensors_sim", ("run", *args), env, cwd=ROOT, timeout_s=900))


def worker_counters(port: int) -> Counter[str]:
    """A worker's Prometheus counters (``*_total`` samples), by sample name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return Counter({
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("citybrain_worker_") and sample.name.endswith("_total")
    })  # fmt: skip


def quantiles(settings: CommonSettings, sql: str) -> tuple[int, float, float]:
    """``SELECT count(), quantiles(0.5, 0.99)(ms)``: n, then p50 and p99 in seconds."""
    client = connect(settings)
    try:
        [(n, (p50, p99))] = client.execute(sql)
    finally:
        client.disconnect()
    return int(n), p50 / 1000, p99 / 1000


def alert_latency(settings: CommonSettings) -> tuple[int, float, float]:
    """Raised alerts, and the seconds from the raising reading's event time to the alert."""
    return quantiles(settings, "SELECT count(), quantiles(0.5, 0.99)(toInt64(created_ms) - "
                     "toInt64(ts_ms)) FROM alert_events FINAL "
                     "WHERE kind = 'raised' AND created_ms > 0")  # fmt: skip


def storage_latency(settings: CommonSettings) -> tuple[int, float, float]:
    """Stored readings, and the seconds from their event time to their storage."""
    return quantiles(settings, "SELECT count(), quantiles(0.5, 0.99)(toInt64(ingested_ms) - "
                     "toInt64(ts_ms)) FROM events_raw WHERE ingested_ms > 0")  # fmt: skip


class Workers:
    """``n`` workers in one namespace, each with its own data folder, metrics port and log."""

    def __init__(self, settings: CommonSettings, n: int, tag: str, **extra: str) -> None:
        self.settings = settings
        self.ports = [free_port() for _ in range(n)]
        self.procs = [
            StreamWorker(
                child_env(
                    settings,
                    CITYBRAIN_WORKER_METRICS_PORT=str(port),
                    CITYBRAIN_WORKER_DATA_DIR=str(worker_data_dir(settings) / f"w{i}"),
                    **extra,
                ),
                ROOT / ".local" / "bench" / f"worker-{tag}-{i}.log",
                cwd=ROOT,
            )  # fmt: skip
            for i, port in enumerate(self.ports)
        ]

    def start(self) -> None:
        for proc in self.procs:
            proc.start()

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    def check(self) -> None:
        for proc in self.procs:
            if not proc.alive():
                raise SystemExit("worker died:\n" + proc.log_tail())

    def cpu_s(self) -> float:
        return sum(cpu_s(proc.pid) for proc in self.procs)

    def rss_mb(self) -> list[float]:
        return [peak_rss_mb(proc.pid) for proc in self.procs]

    def counters(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for port in self.ports:
            total.update(worker_counters(port))
        return total

    def members(self) -> int:
        return group_members(self.settings, worker_app_id(self.settings.kafka_topic_prefix))

    def drain_alerting(self) -> None:
        """Wait until the alert engine has applied every decision sent to it."""
        group = worker_app_id(self.settings.kafka_topic_prefix)
        alerting = alerting_topic(self.settings.kafka_topic_prefix)
        while group_lag(self.settings, group, [alerting]) > 0:
            self.check()
            time.sleep(0.5)


@contextmanager
def workers_in_fresh_namespace(
    n: int, args: argparse.Namespace, detection: str
) -> Iterator[Workers]:
    tag = new_tag(8)
    with fresh_namespace(load(CommonSettings), "cbbench", tag=tag, topics=True) as settings:
        workers = Workers(settings, n, tag, CITYBRAIN_WORKER_BATCH_SIZE=str(args.batch_size),
                          CITYBRAIN_WORKER_DETECTION=detection)  # fmt: skip
        try:
            yield workers
        finally:
            workers.stop()


@dataclass(frozen=True)
class Figures:
    detection: str
    workers: int
    produce_rate: float
    rate: float
    cpu_ms: float
    rss_mb: list[float]
    stored: str
    counters: Counter[str]
    alerts: tuple[int, float, float]


def sustained(args: argparse.Namespace, detection: str, n: int) -> Figures:
    """``n`` workers started on a backlog of ``args.events`` in a fresh namespace."""
    with workers_in_fresh_namespace(n, args, detection) as workers:
        settings = workers.settings
        started = time.perf_counter()
        run_sim(child_env(settings), "--seed", "5", "--rate", str(args.event_rate),
                "--count", str(args.events), "--malformed", str(args.malformed),
                "--max-speed")  # fmt: skip
        produce_s = time.perf_counter() - started
        workers.start()
        first: tuple[float, int, float] | None = None
        while True:
            n_stored = progress(settings)
            now = time.perf_counter()
            if first is None and n_stored > 0:
                first = now, n_stored, workers.cpu_s()
            if n_stored >= args.events:
                break
            workers.check()
            time.sleep(0.25)
        cpu = workers.cpu_s()
        assert first is not None
        began, first_n, first_cpu = first
        rate = (args.events - first_n) / (now - began) if now > began else float("nan")
        cpu_ms = (cpu - first_cpu) * 1000 / max(1, args.events - first_n)
        rss = workers.rss_mb()
        workers.drain_alerting()
        final = stored(settings, settings.clickhouse_database, final=True)
        return Figures(
            detection, n, args.events / produce_s, rate, cpu_ms, rss,
            f"raw {final.raw}, cases {final.cases}, dead {final.dead}",
            workers.counters(), alert_latency(settings),
        )  # fmt: skip


def report(f: Figures) -> None:
    c = f.counters
    print(f"-- detection {f.detection}, {f.workers} worker{'s' if f.workers > 1 else ''}")
    print(f"simulator produce rate: {f.produce_rate:,.0f} events/s")
    print(f"sustained rate (first to last stored row): {f.rate:,.0f} events/s")
    print(f"worker CPU over that span: {f.cpu_ms:.3f} ms per event")
    print("peak memory (VmHWM): " + ", ".join(f"{mb:,.0f} MB" for mb in f.rss_mb))
    print(f"stored (FINAL): {f.stored}")
    made = c.get("citybrain_worker_decisions_made_total", 0)
    sent = c.get("citybrain_worker_decisions_total", 0)
    print(f"decisions: {made:,.0f} made, {sent:,.0f} sent to the alert engine")
    n, p50, p99 = f.alerts
    if n:
        print(f"event time to alert row: p50 {p50:,.2f} s, p99 {p99:,.2f} s ({n} raised; "
              "includes the time the reading waited in the backlog)")  # fmt: skip


def offered(args: argparse.Namespace, n: int) -> None:
    """Latency at ``args.offered`` events/s of wall clock, ``n`` workers, detection on."""
    with workers_in_fresh_namespace(n, args, "on") as workers:
        settings = workers.settings
        workers.start()
        wait_until(lambda: workers.members() == n, 300, f"{n} workers to share the input")
        count = args.offered * args.offered_seconds
        # the alert engine's clock starts on the workers' first tick, one per minute of event
        # time; a run that crosses no minute boundary has its alerts applied only once every
        # worker is idle, 10 s after the end (none at all before 0478702), so the run starts
        # where its middle falls on one
        time.sleep((-args.offered_seconds / 2 - time.time()) % 60)
        started = time.perf_counter()
        summary = run_sim(child_env(settings), "--seed", "5", "--rate", str(args.offered),
                          "--count", str(count), "--malformed", "0", "--start", "now",
                          "--metrics-port", "0")  # fmt: skip
        sent_s = time.perf_counter() - started
        valid = int(str(summary["valid"]))
        wait_until(lambda: progress(settings) >= valid, 900, f"{valid} events stored",
                   lambda: "\n".join(p.log_tail() for p in workers.procs))  # fmt: skip
        caught_up_s = time.perf_counter() - started
        workers.drain_alerting()
        print(f"-- offered load {args.offered:,} events/s for {args.offered_seconds} s, "
              f"{n} worker{'s' if n > 1 else ''}, detection on")  # fmt: skip
        print(f"simulator sent {valid:,} in {sent_s:,.1f} s ({valid / sent_s:,.0f} events/s); "
              f"all stored {caught_up_s:,.1f} s after the first was sent")  # fmt: skip
        m, p50, p99 = storage_latency(settings)
        print(f"event time to stored row: p50 {p50:,.2f} s, p99 {p99:,.2f} s ({m:,} rows)")
        m, p50, p99 = alert_latency(settings)
        print(f"event time to alert row: p50 {p50:,.2f} s, p99 {p99:,.2f} s ({m} raised)"
              if m else "no alert raised: nothing to time")  # fmt: skip


def counts(text: str) -> Sequence[int]:
    try:
        found = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected worker counts like 1,2; got {text!r}") from None
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError(f"worker counts must be 1 or more; got {text!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--malformed", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--event-rate", type=int, default=10_000,
                        help="events per second of event time in the backlog (200: as a live "
                        "city's; keep events/rate under 300 s, CITYBRAIN_WORKER_MAX_FUTURE_S). "
                        "A fresh city decided nothing in 250 s of it: its detectors are still "
                        "warming up")  # fmt: skip
    parser.add_argument("--detection", choices=("on", "off", "both"), default="both",
                        help="run the workers with detection on, off, or once each")  # fmt: skip
    parser.add_argument(
        "--workers",
        type=counts,
        default=[1, 2],
        help="how many workers share the input, e.g. 1,2 (one run each)",
    )
    parser.add_argument(
        "--offered",
        type=int,
        default=10_000,
        help="events/s of wall clock for the latency runs (0: none)",
    )
    parser.add_argument("--offered-seconds", type=int, default=30)
    args = parser.parse_args()
    if args.events < 1 or args.offered < 0 or args.offered_seconds < 1:
        parser.error("--events and --offered-seconds must be 1 or more, --offered 0 or more")
    print(f"events: {args.events} (malformed share {args.malformed}, {args.event_rate} per "
          f"second of event time), batch size {args.batch_size}")  # fmt: skip
    for detection in ("on", "off") if args.detection == "both" else (args.detection,):
        for n in args.workers:
            report(sustained(args, detection, n))
    if args.offered:
        for n in args.workers:
            offered(args, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
