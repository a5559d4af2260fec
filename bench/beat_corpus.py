"""A labelled corpus of heartbeat-like cycles with one odd beat each, for `detectors benchmark`.

    .venv/bin/python bench/beat_corpus.py DIR [--series 5] [--seed 0]
    .venv/bin/python -m detectors benchmark --data DIR

The shape of the UCR anomaly archive's physiological series, made here: a cycle of 80 to
200 readings (one a second) with a narrow peak of 1.0 and a wide wave of 0.3 after it,
noise of 0.02, and 60 turns; one turn between the 35th and the 55th is odd, labelled over
its whole length: a wider peak, no wave, a late peak, or a peak of 0.6. ``--series`` of
each kind. Made here, not real-world.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

from detectors.cli_io import write_labelled

KINDS = ("wide", "no_wave", "late", "small")
TURNS = 60
START = datetime(2020, 1, 1)


def beat(t: int, period: int, kind: str = "") -> float:
    """The cycle's value ``t`` readings into a turn of ``period``; ``kind`` makes it odd."""
    x = t / period
    centre, width, height = 0.3, 0.02, 1.0
    if kind == "wide":
        width = 0.05
    elif kind == "late":
        centre = 0.4
    elif kind == "small":
        height = 0.6
    wave = 0.0 if kind == "no_wave" else 0.3 * math.exp(-(((x - 0.6) / 0.06) ** 2))
    return height * math.exp(-(((x - centre) / width) ** 2)) + wave


def series(seed: int, kind: str) -> tuple[list[float], list[int]]:
    rng = random.Random(seed)
    period = rng.choice([80, 120, 160, 200])
    odd = rng.randint(35, 55)
    values, labels = [], []
    for i in range(period * TURNS):
        turn, t = divmod(i, period)
        values.append(beat(t, period, kind if turn == odd else "") + rng.gauss(0.0, 0.02))
        labels.append(int(turn == odd))
    return values, labels


def write(folder: Path, count: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        for n in range(count):
            values, labels = series(seed + n, kind)
            path = folder / f"{kind}_{n:02d}.csv"
            stamps = [START + timedelta(seconds=i) for i in range(len(values))]
            write_labelled(path, stamps, values, labels, 5)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write the CSVs")
    parser.add_argument("--series", type=int, default=5, help="series of each kind (5)")
    parser.add_argument("--seed", type=int, default=0, help="the first series' seed (0)")
    args = parser.parse_args(argv)
    if args.series < 1:
        parser.error(f"--series must be at least 1, not {args.series}")
    paths = write(args.folder, args.series, args.seed)
    print(f"{len(paths)} series of {TURNS} turns in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
