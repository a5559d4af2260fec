"""A labelled corpus of hourly series made like Yahoo's S5 A3 and A4, for `detectors benchmark`.

    .venv/bin/python bench/seasonal_corpus.py DIR [--series 20] [--seed 0]
    .venv/bin/python -m detectors benchmark --data DIR

Each series is 70 days of hourly readings: a level, a trend, a daily cycle and a weekly one
of random sizes, normal noise, and 3 to 8 spikes of 3 to 6 times the noise, each labelled
on its own row. The A4-like half also has one or two level shifts of 4 to 8 times the
noise, labelled at their first row. The cycles are far larger than the noise, so a spike
hides in their swings unless a detector predicts them; the weekly cycle moves the same hour
from one day to the next. Yahoo's own files are not public without an agreement; this is
their published shape, made here, so it is not a real-world benchmark.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

from detectors.cli_io import write_labelled

HOURS = 1680
START = datetime(2020, 1, 1)


def series(seed: int, shifts: bool) -> tuple[list[float], list[int]]:
    """One series' values and labels (1: an anomaly's row)."""
    rng = random.Random(seed)
    daily, weekly = rng.uniform(0, 1000), rng.uniform(0, 500)
    trend, noise, level = rng.uniform(-1, 1), rng.uniform(5, 50), rng.uniform(0, 2000)
    phase = rng.uniform(0, 2 * math.pi)
    values = [
        level
        + trend * i
        + daily * math.sin(2 * math.pi * i / 24 + phase)
        + weekly * math.sin(2 * math.pi * i / 168)
        + rng.gauss(0, noise)
        for i in range(HOURS)
    ]
    labels = [0] * HOURS
    for _ in range(rng.randint(3, 8)):
        i = rng.randint(300, HOURS - 1)
        values[i] += rng.choice([-1, 1]) * rng.uniform(3, 6) * noise
        labels[i] = 1
    if shifts:
        for _ in range(rng.randint(1, 2)):
            i = rng.randint(400, HOURS - 200)
            shift = rng.choice([-1, 1]) * rng.uniform(4, 8) * noise
            for j in range(i, HOURS):
                values[j] += shift
            labels[i] = 1
    return values, labels


def write(folder: Path, count: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, shifts, offset in (("a3", False, 0), ("a4", True, 1000)):
        for n in range(count):
            values, labels = series(seed + offset + n, shifts)
            path = folder / f"{kind}_{n:02d}.csv"
            stamps = [START + timedelta(hours=i) for i in range(len(values))]
            write_labelled(path, stamps, values, labels, 4)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write the CSVs")
    parser.add_argument("--series", type=int, default=20, help="series of each kind (20)")
    parser.add_argument("--seed", type=int, default=0, help="the first series' seed (0)")
    args = parser.parse_args(argv)
    if args.series < 1:
        parser.error(f"--series must be at least 1, not {args.series}")
    paths = write(args.folder, args.series, args.seed)
    print(f"{len(paths)} series of {HOURS} hourly rows in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
