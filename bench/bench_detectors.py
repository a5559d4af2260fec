"""Readings per second per core: each detector alone, the whole bank on one stream, and
the bank across 10,000 sensors in worker-sized batches (with the per-batch snapshot the
worker writes to its table, and the alert engine).

    .venv/bin/python bench/bench_detectors.py [--seconds 2]

Banks are warmed on two days of history first, so every detector runs its steady-state
path (the seasonal profile learnt, the multivariate model bound and warm).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from detectors.alerting.engine import AlertEngine
from detectors.contract.events import Location
from detectors.scoring.bank import Bank, Pending, score_pending
from detectors.scoring.base import collector_paused, restore
from detectors.scoring.monitor import Monitor, Site, fingerprint
from detectors.scoring.multivariate import MultivariateDetector, TrainedModel, train
from detectors.scoring.profiles import bank_for

MIN, DAY = 60_000, 86_400_000
DEFAULT_GC = gc.get_threshold()


def series(days: float, seed: int, start_ms: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A PM2.5-like minute series: a morning peak and 6 % noise."""
    rng = np.random.default_rng(seed)
    ts = np.arange(start_ms, start_ms + int(days * DAY), MIN, dtype=np.int64)
    hours = (ts / 3_600_000 + 8) % 24
    values = (
        40
        * (1 + 0.3 * np.exp(-0.5 * ((hours - 7) / 3) ** 2))
        * (1 + 0.06 * rng.standard_normal(len(ts)))
    )
    return ts, np.round(values, 1)


def rate(work: Callable[[], int], seconds: float) -> float:
    """Readings per second of ``work`` (which returns how many it did), over ``seconds``."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        done += work()
    return done / (time.perf_counter() - started)


def warm_bank(model: TrainedModel) -> Bank:
    bank = bank_for("air_station", "pm25", 60, model=model)
    ts, values = series(2, 1)
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        bank.assess(t, v)
    return bank


def bench_members(bank: Bank, model: TrainedModel, seconds: float) -> list[tuple[str, float]]:
    """Each member alone, as configured in the bank, on the steady-state stream."""
    ts, values = series(1, 2, start_ms=2 * DAY)
    rows = []
    for label in bank.labels:
        snapshot = bank.member_snapshot(label)

        def work(snapshot: dict[str, Any] = snapshot) -> int:
            detector = restore(snapshot)
            if isinstance(detector, MultivariateDetector):
                detector.bind(model)
            detector.score_learn_many(ts, values)
            return len(ts)

        rows.append((label, rate(work, seconds)))
    return rows


def bench_one_stream(bank: Bank, model: TrainedModel, seconds: float) -> float:
    ts, values = series(1, 3, start_ms=2 * DAY)
    snapshot = bank.snapshot()

    def work() -> int:
        twin = restore(snapshot)
        assert isinstance(twin, Bank)
        twin.bind({model.model_id: model})
        pending: list[Pending] = []
        raws = [
            twin.assess_raw(t, v, pending)
            for t, v in zip(ts.tolist(), values.tolist(), strict=True)
        ]
        score_pending(pending)
        for raw in raws:
            twin.combine(raw)
        return len(ts)

    return rate(work, seconds)


def city(sensors: int) -> list[Site]:
    """Air stations, five to a street, so every one has neighbours."""
    sites = []
    for i in range(sensors):
        district, street = f"D{i // 1000}", f"D{i // 1000}-S{i // 5}"
        where = Location("CB", district, street, f"{street}-G{i % 5}")
        sites.append(Site(f"ENV-{i:05d}", "air_station", ("pm25",), where, 60))
    return sites


def bench_fleet(
    bank: Bank, model: TrainedModel, sensors: int, seconds: float
) -> list[tuple[str, float]]:
    """Monitor + alert engine on batches of one reading per sensor, then with the per-batch
    table snapshot, then the same with the collector tuned as a worker should (frozen
    after start-up, young-generation threshold raised)."""
    sites = city(sensors)
    monitor, engine = Monitor(sites, {"pm25": model}), AlertEngine()
    warm = {"fingerprint": fingerprint(bank), "state": bank.state()}
    assert not monitor.restore({f"{s.source_id}|pm25": warm for s in sites})
    rng = np.random.default_rng(4)
    names = [s.source_id for s in sites]
    minute = [2 * DAY]

    def batch() -> list[tuple[int, str, str, float]]:
        ts = minute[0]
        minute[0] += MIN
        values = np.round(48 * (1 + 0.06 * rng.standard_normal(sensors)), 1).tolist()
        return [(ts, name, "pm25", v) for name, v in zip(names, values, strict=True)]

    def step() -> int:
        readings = batch()
        engine.step(
            monitor.process(readings) + monitor.tick(readings[-1][0]), now_ms=readings[-1][0]
        )
        return len(readings)

    def step_and_snapshot() -> int:
        done = step()
        with collector_paused():  # as the worker takes it: built and dropped out of the GC's way
            monitor.snapshot()
        return done

    rows = [
        ("", rate(step, seconds)),
        ("  ... with per-batch table snapshot", rate(step_and_snapshot, seconds)),
    ]
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        rows.append(("  ... snapshot, gc frozen + tuned", rate(step_and_snapshot, seconds)))
    finally:
        gc.unfreeze()
        gc.set_threshold(*DEFAULT_GC)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--sensors", type=int, default=10_000)
    args = parser.parse_args()
    ts, values = series(2, 9)
    model = train([(ts, values)], "pm25", seed=1, slow_alpha=1 / 1440)
    bank = warm_bank(model)
    print(f"readings/s on one core (pm25 bank, 1-minute cadence, {args.seconds:g} s per line)")
    print(f"  {'detector':<34} {'readings/s':>12}")
    for label, per_s in bench_members(bank, model, args.seconds):
        print(f"  {label + ' (one stream)':<34} {per_s:>12,.0f}")
    print(
        f"  {'whole bank (one stream)':<34} {bench_one_stream(bank, model, args.seconds):>12,.0f}"
    )
    for label, per_s in bench_fleet(bank, model, args.sensors, args.seconds):
        label = label or f"bank x {args.sensors:,} sensors (batched)"
        print(f"  {label:<34} {per_s:>12,.0f}")


if __name__ == "__main__":
    main()
