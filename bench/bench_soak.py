"""Soak: an hour of steady load through the real worker, memory and lag every minute, and
exact counts at the end.

    .venv/bin/python bench/bench_soak.py                   # 60 min at 2,000 events/s
    .venv/bin/python bench/bench_soak.py --minutes 5 --rate 500   # a quick look

Needs scripts/services start. In a namespace of its own (topics and database, removed at
the end unless --keep), the simulator produces ``--rate`` events/s paced in real time for
``--minutes`` with ``--malformed`` of them corrupted, while one worker runs with the full
detector bank. ``--case-fraction`` of the events are grid-management case events (0.2 %:
4 a second at 2,000 events/s, some 350,000 a day where the worker is sized for a few
thousand), and the simulator plays the departments, so most cases move on and close; the
few it stops following stay open as a backlog. The simulator's own default (2 %, filed and
never moved, for the command center's demo) would grow the open and overdue cases without
end: state the city holds, not a leak.

Each minute it prints the resident memory (RSS) of every process of the path (worker,
simulator, Kafka, ClickHouse), the rows stored so far and the worker's lag (messages of
its inputs not yet committed). When the simulator is done it waits for the
worker to drain, then checks that every message the simulator had acknowledged ended in
exactly one place (a raw row, a case row or a dead letter; no duplicate after FINAL).

The verdict: exact counts, and the worker's RSS flat after warm-up (it grows less than
10 % over the last 40 minutes: from minute ``minutes - 40``, or from a third of the run
when it is shorter).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.kafka import group_lag  # noqa: E402
from infra.namespace import child_env, fresh_namespace, new_tag  # noqa: E402
from infra.process import ChildProcess, StreamWorker  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from infra.topics import all_family_topics, worker_app_id  # noqa: E402
from replay.store import stored  # noqa: E402

RUN = ROOT / ".local" / "run"
MAX_GROWTH = 0.10
FLAT_WINDOW_MIN = 40


def rss_mb(pid: int | None) -> float:
    """VmRSS of a live process (nan when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, TypeError):
        pass
    return float("nan")


def service_pid(name: str) -> int | None:
    """The pid scripts/services recorded for ``name`` (kafka, clickhouse)."""
    try:
        return int((RUN / f"{name}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def last_json(log: Path) -> dict[str, object]:
    """The simulator's closing summary: the last JSON line of its log."""
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("{") and '"sent"' in line:
            found: dict[str, object] = json.loads(line)
            return found
    raise SystemExit(f"the simulator wrote no summary to {log}")


def flat_since(minutes: int) -> int:
    """The minute from which the worker's RSS must stay flat."""
    return max(1, minutes - FLAT_WINDOW_MIN) if minutes > FLAT_WINDOW_MIN else max(1, minutes // 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60, help="minutes of load (60)")
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s offered (2000)")
    parser.add_argument("--malformed", type=float, default=0.01, help="corrupted share (0.01)")
    parser.add_argument(
        "--case-fraction", type=float, default=0.002, help="case events' share (0.002)"
    )
    parser.add_argument(
        "--drain-minutes", type=float, default=30.0, help="wait for the worker at the end (30)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the topics and database")
    args = parser.parse_args()
    if args.minutes < 1 or args.rate <= 0 or not 0 <= args.malformed < 1:
        parser.error("want --minutes >= 1, --rate > 0 and 0 <= --malformed < 1")
    if not 0 <= args.case_fraction < 1:
        parser.error(f"want 0 <= --case-fraction < 1, not {args.case_fraction}")
    tag = new_tag(8)
    with fresh_namespace(load(CommonSettings), "cbsoak", tag=tag, topics=True,
                         keep=args.keep) as settings:  # fmt: skip
        return soak(args, settings, tag)


def soak(args: argparse.Namespace, settings: CommonSettings, tag: str) -> int:
    """The load, the minute-by-minute figures and the verdict (0: pass)."""
    prefix = settings.kafka_topic_prefix
    logs = ROOT / ".local" / "bench"
    env = child_env(settings)
    worker = StreamWorker(env, logs / f"soak-worker-{tag}.log", cwd=ROOT)
    sim_args = ["run", "--seed", "11", "--rate", f"{args.rate:g}", "--duration",
                str(args.minutes * 60), "--malformed", str(args.malformed),
                "--case-fraction", str(args.case_fraction), "--play-departments"]  # fmt: skip
    sim = ChildProcess("sensors_sim", sim_args, env={**env, "CITYBRAIN_SIM_METRICS_PORT": "0"},
                       log_path=logs / f"soak-sim-{tag}.log", cwd=ROOT)  # fmt: skip
    inputs = list(all_family_topics(prefix).values())
    group = worker_app_id(prefix)
    worker_rss: dict[int, float] = {}
    print(f"soak {tag}: {args.rate:g} events/s for {args.minutes} min, {args.malformed:.0%} "
          f"malformed, {args.case_fraction:.1%} cases; logs in {logs}")  # fmt: skip
    print(f"{'min':>4} {'worker MB':>10} {'sim MB':>7} {'kafka MB':>9} {'ch MB':>7} "
          f"{'stored':>11} {'lag':>9}")  # fmt: skip
    try:
        worker.start()
        sim.start()
        started = time.monotonic()
        minute = 0
        while sim.alive() or minute < args.minutes:
            minute += 1
            time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            if not worker.alive():
                raise SystemExit("worker died:\n" + worker.log_tail())
            worker_rss[minute] = rss_mb(worker.pid)
            print(f"{minute:>4} {worker_rss[minute]:>10,.0f} {rss_mb(sim.pid):>7,.0f} "
                  f"{rss_mb(service_pid('kafka')):>9,.0f} "
                  f"{rss_mb(service_pid('clickhouse')):>7,.0f} "
                  f"{stored(settings, settings.clickhouse_database, final=False).messages:>11,} "
                  f"{group_lag(settings, group, inputs):>9,}", flush=True)  # fmt: skip
            if minute > args.minutes + 5:
                raise SystemExit("the simulator did not finish: " + sim.log_tail())
        summary = last_json(sim.log_path)
        sent = int(str(summary["sent"]))
        deadline = time.monotonic() + 60 * args.drain_minutes
        while group_lag(settings, group, inputs) > 0 and time.monotonic() < deadline:
            time.sleep(5)
        drained_s = time.monotonic() - started - 60 * args.minutes
        final = stored(settings, settings.clickhouse_database, final=True)
        raw = stored(settings, settings.clickhouse_database, final=False)
        print(f"simulator acknowledged {sent:,} events ({summary['malformed']:,} malformed, "
              f"{summary['rate']:,.0f}/s achieved); worker drained {max(drained_s, 0):.0f} s "
              "after the load ended")  # fmt: skip
        print(f"stored (FINAL): raw {final.raw:,}, cases {final.cases:,}, dead {final.dead:,} "
              f"= {final.messages:,}; before FINAL {raw.messages:,}")  # fmt: skip
        since = flat_since(args.minutes)
        base, last = worker_rss[since], worker_rss[max(worker_rss)]
        growth = (last - base) / base
        exact = final.messages == sent and raw.messages == final.messages
        flat = growth <= MAX_GROWTH
        print(f"worker RSS minute {since}: {base:,.0f} MB, minute {max(worker_rss)}: "
              f"{last:,.0f} MB ({growth:+.1%})")  # fmt: skip
        print(f"{'PASS' if exact and flat else 'FAIL'}: want stored == acknowledged "
              f"({'yes' if exact else 'no'}) and worker RSS growth <= {MAX_GROWTH:.0%} from "
              f"minute {since} ({'yes' if flat else 'no'})")  # fmt: skip
        return 0 if exact and flat else 1
    finally:
        sim.stop()
        worker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
