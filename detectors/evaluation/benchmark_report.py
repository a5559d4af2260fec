"""Run each detector over a labelled corpus and print the benchmark's tables. The scoring of
a series and the clock are passed in, so this stays pure.

>>> run = run_detector(
...     "spiky", [("a.csv", ((20, 24),))], lambda _: [0.0] * 20 + [1.0] + [0.0] * 9,
...     "standard", clock=lambda: 0.0,
... )
>>> print(detector_table("standard", [run]).splitlines()[-1])
  spiky        100.0     1.000    1    0    0      1.00   1.00 1.00       0   0.00     0.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.evaluation.benchmark import PROFILES, CorpusScore, LabelledSeries, benchmark
from detectors.evaluation.benchmark_series import probation_rows

Windows = tuple[tuple[int, int], ...]
HEADER = (
    f"  {'detector':<11} {'NAB':>6} {'threshold':>9} {'TP':>4} {'FN':>4} {'FP':>4} "
    f"{'precision':>9} {'recall':>6} {'F1':>4} {'delay':>7} {'(frac)':>6} {'seconds':>7}"
)


@dataclass(frozen=True)
class DetectorRun:
    """One detector over the corpus: its result, or why it could not run, and its time."""

    detector: str
    result: CorpusScore | None
    error: str
    seconds: float


def run_detector(
    detector: str,
    corpus: Sequence[tuple[str, Windows]],
    scores_of: Callable[[int], Sequence[float]],
    profile: str,
    clock: Callable[[], float],
) -> DetectorRun:
    """Score every series of ``corpus`` (``scores_of(i)``: the i-th series' scores) and
    benchmark them. A detector that cannot run on a series is reported, not raised."""
    started = clock()
    labelled = []
    for index, (name, windows) in enumerate(corpus):
        try:
            labelled.append(LabelledSeries(name, scores_of(index), windows))
        except (SystemExit, ValueError) as exc:  # the CLI refuses with SystemExit
            reason = str(exc).removeprefix("error: ")
            return DetectorRun(detector, None, f"{name}: {reason}", clock() - started)
    return DetectorRun(detector, benchmark(labelled, PROFILES[profile]), "", clock() - started)


def summary(names: Sequence[str], rows: Sequence[int], windows: Sequence[Windows]) -> str:
    """The data set in one line: files, rows, windows, controls, unscored windows."""
    total = sum(len(w) for w in windows)
    controls = sum(1 for w in windows if not w)
    unscored = sum(
        1 for n, ws in zip(rows, windows, strict=True) for _, end in ws if end < probation_rows(n)
    )
    line = (
        f"{len(names)} files, {sum(rows):,} rows, {total} labelled windows, "
        f"{controls} anomaly-free control files"
    )
    return line + (f", {unscored} windows inside the probation period" if unscored else "")


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def _row(run: DetectorRun) -> str:
    result = run.result
    if result is None:
        return f"  {run.detector:<11} cannot run: {run.error} ({run.seconds:.1f} s)"
    threshold = "none" if result.threshold == float("inf") else f"{result.threshold:.3f}"
    return (
        f"  {run.detector:<11} {_number(result.score, 1):>6} {threshold:>9} "
        f"{result.detected:>4} {result.missed:>4} {result.false_episodes:>4} "
        f"{result.precision:>9.2f} {result.recall:>6.2f} {result.f1:>4.2f} "
        f"{_number(result.delay_rows, 0):>7} {_number(result.delay_fraction, 2):>6} "
        f"{run.seconds:>7.1f}"
    )


def detector_table(profile: str, runs: Sequence[DetectorRun]) -> str:
    """A row per detector: NAB score under ``profile``, threshold, counts, delay, time."""
    title = f"== NAB benchmark, profile {profile} (FP = episodes outside windows; delay in rows)"
    return "\n".join([title, HEADER, *(_row(run) for run in runs)])


def per_file_table(runs: Sequence[DetectorRun]) -> str:
    """Each detector's raw NAB score and counts per file, at its corpus threshold."""
    lines = []
    for run in runs:
        if run.result is None:
            continue
        lines += [
            f"== {run.detector} per file",
            f"  {'raw':>8} {'TP':>4} {'FN':>4} {'FP':>4}  file",
        ]
        lines += [
            f"  {o.raw:>8.3f} {o.detected:>4} {o.missed:>4} {o.false_episodes:>4}  {o.name}"
            for o in run.result.outcomes
        ]
    return "\n".join(lines)
