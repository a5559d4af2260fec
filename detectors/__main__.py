"""``python -m detectors``: list the detectors, score a CSV series, evaluate the scenarios,
train a multivariate model, benchmark the detectors on a labelled data set.

    python -m detectors list
    python -m detectors score --detector default --input in.csv --output out.csv
    python -m detectors score --detector static --metric water_level \\
        --limits warning=4.0,guaranteed=5.0 --input gauge.csv --output scored.csv
    python -m detectors evaluate [--seed 7] [--only flood ...] [--no-models]
    python -m detectors train --metric pm25 --input a.csv b.csv --output pm25.model
    python -m detectors score-multi --input pump.csv --output scored.csv [--train-rows 400]
    python -m detectors benchmark --data DIR [--detector NAME ...] \\
        [--profile standard|reward_low_fp|reward_low_fn] [--per-file]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detectors import cli_io
from detectors.contract.events import METRICS
from detectors.evaluation.benchmark import PROFILES
from detectors.evaluation.benchmark_report import (
    detector_table,
    per_file_table,
    run_detector,
    summary,
)
from detectors.evaluation.evaluate import evaluate, train_models
from detectors.evaluation.reference import REFERENCE, rolling_z_scores
from detectors.evaluation.report import scenario_table, targets, targets_table
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.bank import Bank, Pending, score_pending
from detectors.scoring.base import detector_class, names
from detectors.scoring.limits import default_bands
from detectors.scoring.multistream import MIN_ROWS, MultiStream, score_rows
from detectors.scoring.multivariate import TrainedModel, train
from detectors.scoring.profiles import (
    LIMIT_KEYS,
    bank_for,
    data_scale,
    default_bank,
    solo_bank,
    stream_bands,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NOT_STANDALONE = {
    "bank": "the combination: use 'default'",
    "guarded": "a wrapper",
    "multistream": "rows of several columns: use 'score-multi'",
}
LIMITS_FORM = "--limits warning=4.0,guaranteed=5.0"
STANDARD_LIMITS = ", ".join(m for m in METRICS if default_bands(m, {}) is not None)
RENAMED = {"iforest": "multivariate"}
"""Old names that still run, with a note: the multivariate member was an IsolationForest
until model version 3."""
TRAIN_MAX_ROWS, TRAIN_MIN_ROWS = 2000, 80  # multivariate warms up on 30, trains on 50 or more
NEIGHBOURS = (
    "error: detector 'neighbours' compares one sensor with its neighbours, so it needs "
    "several series and a CSV holds one: 'evaluate' runs it on the scenarios' sensor "
    "groups; for several series in one file, 'score-multi' scores them together (its own "
    "multivariate detector, not neighbours)"
)
SUMMARY = {  # what each detector does; what it needs
    "default": "the detector for a stream nobody described; any stream (with --metric: "
    "that metric's bank combined)",
    "static": "limit bands held for a while; needs --limits warning=W,guaranteed=G or "
    "--metric with a standard limit",
    "forecast": "warns before the value crosses its first limit band; needs --limits or "
    "--metric with a standard limit",
    "rainstorm": "CMA rainstorm warnings from rolling 3/6/12 h totals; any stream, values "
    "are mm of rain per reading",
    "seasonal": "deviation from the time-of-day / weekday-weekend profile; any stream, "
    "learns over two days or more",
    "robust_z": "distance from the rolling median in rolling MADs; any stream",
    "ewma": "EWMA control chart for shifts; any stream",
    "cusum": "two-sided CUSUM for changes; any stream",
    "multivariate": "reading features (distance from a fast and a slow average, step, time "
    "of day) judged jointly, as score-multi judges columns; trains on the stream's first "
    "rows (a day or a fifth) unless --model (from 'train')",
    "silent": "no reading for longer than the cadence allows; any stream (cadence inferred "
    "or --cadence)",
    "stuck": "a value that stops moving although the series usually moves; any stream",
    "burst": "reports in a window against their usual rate; any stream, values are counts "
    "per reading",
    "neighbours": "one sensor against its neighbours (fault or area event); needs several "
    "series: score-multi, evaluate",
}


def cmd_list(_: argparse.Namespace) -> int:
    standalone = (n for n in names() if n not in NOT_STANDALONE)
    for name in dict.fromkeys(["default", *standalone, "neighbours"]):  # default once
        summary = SUMMARY[name] if name in SUMMARY else detector_class(name).__doc__ or ""
        print(f"{name:<13}{summary.splitlines()[0] if summary else ''}")
    return 0


def parse_limits(text: str) -> dict[str, float]:
    """``--limits`` as numbers by name; SystemExit saying what is wrong."""
    limits = dict(_limit(item.strip()) for item in text.split(",") if item.strip())
    if len({"warning", "guaranteed"} & set(limits)) == 1:
        raise SystemExit(f"error: --limits needs both warning and guaranteed: {LIMITS_FORM}")
    if "warning" in limits and limits["warning"] == limits.get("guaranteed"):
        raise SystemExit("error: --limits: warning and guaranteed must differ")
    return limits


def _limit(item: str) -> tuple[str, float]:
    key, equals, number = (part.strip() for part in item.partition("="))
    if not equals or not key:
        raise SystemExit(f"error: --limits: {item!r} is not key=number, as in {LIMITS_FORM}")
    if key not in LIMIT_KEYS:
        known = ", ".join(LIMIT_KEYS)
        raise SystemExit(f"error: --limits: unknown key {key!r} (known: {known})")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SystemExit(f"error: --limits: {key}={number!r} is not a finite number")
    return key, value


def seconds(text: str) -> int:
    """A --cadence: a whole number of seconds above 0."""
    number = int(text) if text.strip().isdigit() else 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds above 0")
    return number


def _cadence_s(ts_ms: Sequence[int], given: int | None) -> int:
    if given:
        return given
    steps = [b - a for a, b in zip(ts_ms, ts_ms[1:], strict=False) if b > a]
    return max(1, round(statistics.median(steps) / 1000)) if steps else 60


def build_bank(args: argparse.Namespace, cadence_s: int, model: TrainedModel | None) -> Bank:
    """The bank the worker would run for this series."""
    if args.metric is None:
        return default_bank(cadence_s)
    return bank_for(args.kind, args.metric, cadence_s, parse_limits(args.limits), model)


def run_member(bank: Bank, label: str, series: cli_io.Series) -> list[float]:
    """One member's scores, computed inside its bank exactly as in the worker."""
    pending: list[Pending] = []
    raws = [
        bank.assess_raw(t, v, pending) for t, v in zip(series.ts_ms, series.values, strict=True)
    ]
    score_pending(pending)
    if label == "default" and label not in bank.labels:  # a described metric's combination
        results = [bank.combine(raw) for raw in raws]
        return [max(r.condition, r.fault) for r in results]
    index = bank.labels.index(label)
    return [0.0 if np.isnan(raw.scores[index]) else raw.scores[index] for raw in raws]


BENCHMARKED = ("default", "robust_z", "ewma", "cusum", "seasonal")
"""What 'benchmark' runs unless told: the graded statistical detectors (the others answer
questions a labelled data set rarely asks: limits, silence, stuck values)."""


def runnable(bank: Bank) -> tuple[str, ...]:
    """The detectors 'score' can run with this bank: its members and their combination."""
    return tuple(dict.fromkeys(("default", *bank.labels)))  # a member may be named default


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


def score_series(
    args: argparse.Namespace,
    series: cli_io.Series,
    detector: str,
    model: TrainedModel | None,
    note: Callable[[str], None] = _to_stderr,
) -> list[float]:
    """A detector's scores for one series, as 'score' computes them: in the worker's bank
    (the --metric's, else the default one) if it has the detector, else alone with
    parameters from the data. SystemExit, saying why, if it cannot run."""
    if detector in RENAMED:
        note(f"note: detector {detector!r} is now {RENAMED[detector]!r}")
        detector = RENAMED[detector]
    _check_known(detector)
    limits = parse_limits(args.limits)
    series = cli_io.row_timed(series, args.cadence)
    cadence = _cadence_s(series.ts_ms, args.cadence)
    if detector == "seasonal":
        _seasonal_note(series, note)
    bank = build_bank(args, cadence, model)
    if detector in runnable(bank):
        return run_member(bank, detector, series)
    if args.metric is not None:
        members = ", ".join(bank.labels)
        note(f"note: the worker's bank for {args.metric} ({members}) has no {detector!r} "
             "with these arguments; it runs alone")  # fmt: skip
    return run_solo(args.metric or "", limits, series, detector, cadence, model, note)


def _check_known(detector: str) -> None:
    if detector == "neighbours":
        raise SystemExit(NEIGHBOURS)
    if detector in NOT_STANDALONE:
        raise SystemExit(f"error: {detector!r} is {NOT_STANDALONE[detector]}; see 'list'")
    if detector not in names():
        raise SystemExit(f"error: unknown detector {detector!r}; see 'list'")


def run_solo(
    metric: str,
    limits: dict[str, float],
    series: cli_io.Series,
    detector: str,
    cadence_s: int,
    model: TrainedModel | None,
    note: Callable[[str], None],
) -> list[float]:
    """``detector`` alone on the series, in the role it plays in the worker, with its
    parameters from the data: cadence, the least scale (:func:`data_scale`), limits given."""
    bands = stream_bands(metric, limits)
    if detector in ("static", "forecast") and bands is None:
        raise SystemExit(
            f"error: detector {detector!r} needs the stream's limits: {LIMITS_FORM} (the "
            "levels at which the value is a warning and an emergency; guaranteed below "
            f"warning when falling values are the danger) or --metric with a standard limit "
            f"({STANDARD_LIMITS})"
        )
    trained = 0
    if detector == "multivariate" and model is None:
        model, trained = self_trained(series, cadence_s, metric or "stream", note)
    scale = data_scale(series.values)
    bank = solo_bank(detector, cadence_s, bands, model, scale, metric)
    return [0.0] * trained + run_member(bank, detector, series)[trained:]


def self_trained(
    series: cli_io.Series, cadence_s: int, metric: str, note: Callable[[str], None]
) -> tuple[TrainedModel, int]:
    """A model trained on the stream's first rows (:func:`training_rows`) and how many
    rows that was: they score 0, so no reading is judged by a model that saw it."""
    rows = training_rows(len(series.values), cadence_s)
    if rows < TRAIN_MIN_ROWS:
        raise SystemExit(
            "error: detector 'multivariate' without --model trains on the stream's first rows (a "
            f"day or a fifth, at most half): {len(series.values)} rows give {rows}, it needs "
            f"{TRAIN_MIN_ROWS}; pass --model from 'train'"
        )
    head = (np.array(series.ts_ms[:rows], dtype=np.int64), np.array(series.values[:rows]))
    model = train([head], metric, slow_alpha=min(0.2, cadence_s / 86_400))
    span_h = rows * cadence_s / 3600
    short = f", {span_h:.1f} h, under a day: hours they miss may score high" if span_h < 24 else ""
    note(f"note: multivariate trained on the stream's first {rows} rows (they score 0){short}; "
         "pass --model from 'train' to score them too")  # fmt: skip
    return model, rows


def training_rows(count: int, cadence_s: int) -> int:
    """How many of a stream's first rows multivariate trains on without --model: a day's worth
    (its time-of-day features must see every hour) or a fifth, whichever is more, at most
    2,000 and half the stream."""
    return min(TRAIN_MAX_ROWS, count // 2, max(count // 5, 86_400 // cadence_s))


def _seasonal_note(series: cli_io.Series, note: Callable[[str], None]) -> None:
    span_h = (max(series.ts_ms) - min(series.ts_ms)) / 3_600_000 if series.ts_ms else 0.0
    if span_h < 48:
        note(f"note: seasonal learns its time-of-day profile a day at a time; this stream "
             f"spans {span_h:.1f} h, under two days, too short to learn it: its scores "
             "stay 0 or nearly so")  # fmt: skip


def cmd_score(args: argparse.Namespace) -> int:
    with open(args.input, encoding="utf-8", newline="") as handle:
        series = cli_io.read_series(handle)
    model = cli_io.load_model(Path(args.model)) if args.model else None
    scores = score_series(args, series, args.detector, model)
    with open(args.output, "w", encoding="utf-8", newline="") as handle:
        cli_io.write_scores(handle, series, scores)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    scenarios = cli_io.load_scenarios(Path(args.scenarios), args.only)
    models: dict[str, TrainedModel] = {}
    history = next(
        (s for s in cli_io.load_scenarios(Path(args.scenarios)) if s["name"] == "baseline"), None
    )
    if history is not None and not args.no_models:
        models = train_models(synthesize(history, args.seed + 1000), seed=args.seed)
        seed = args.seed + 1000
        print(f"multivariate models trained for {len(models)} metrics on baseline seed {seed}\n")
    reports = []
    for scenario in scenarios:
        reports.append(evaluate(synthesize(scenario, args.seed), models))
        print(scenario_table(reports[-1]), end="\n\n", flush=True)
    print(targets_table(targets(reports)))
    elapsed = time.perf_counter() - started
    readings = sum(r.readings for r in reports)
    print(f"\n({readings:,} readings, seed {args.seed}, {elapsed:.1f} s)")
    return 0


def _scorer(
    args: argparse.Namespace, files: Sequence[cli_io.LabelledFile], detector: str
) -> Callable[[int], list[float]]:
    return lambda index: score_series(args, files[index].series, detector, None)


def cmd_benchmark(args: argparse.Namespace) -> int:
    files = cli_io.read_corpus(Path(args.data))
    corpus = [(f.name, f.windows) for f in files]
    rows = [len(f.series.ts_ms) for f in files]
    print(summary([f.name for f in files], rows, [f.windows for f in files]), end="\n\n")
    for note in (f.note for f in files if f.note):
        _to_stderr(f"note: {note}")
    chosen = args.detector or BENCHMARKED
    runs = [
        run_detector(name, corpus, _scorer(args, files, name), args.profile, time.perf_counter)
        for name in chosen
    ]
    runs.append(  # the yardstick: a plain rolling z-score on the same data
        run_detector(
            REFERENCE,
            corpus,
            lambda index: rolling_z_scores(files[index].series.values).tolist(),
            args.profile,
            time.perf_counter,
        )
    )
    print(detector_table(args.profile, runs))
    if args.per_file:
        print("\n" + per_file_table(runs))
    return 0


def cmd_score_multi(args: argparse.Namespace) -> int:
    """Score a file of several numeric columns with the multivariate detector."""
    with open(args.input, encoding="utf-8", newline="") as handle:
        table = cli_io.read_table(handle)
    known = args.train_rows
    if known < 0:
        raise SystemExit(f"error: --train-rows {known}: a count of rows, 0 or more")
    if known > len(table.rows):
        raise SystemExit(f"error: --train-rows {known}: the file has {len(table.rows)} rows")
    if 0 < known < MIN_ROWS:
        raise SystemExit(f"error: --train-rows {known}: a fit needs {MIN_ROWS} or more, or 0")
    detector = MultiStream()
    if known:
        detector.fit(table.rows[:known])
    scores, flags = score_rows(detector, table.ts_ms[known:], table.rows[known:])
    with open(args.output, "w", encoding="utf-8", newline="") as handle:
        cli_io.write_decisions(
            handle, table.stamps, [0.0] * known + scores.tolist(), [0.0] * known + flags.tolist()
        )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    history = []
    for path in args.input:
        with open(path, encoding="utf-8", newline="") as handle:
            series = cli_io.read_series(handle)
        history.append((np.array(series.ts_ms, dtype=np.int64), np.array(series.values)))
    cadence = _cadence_s(history[0][0].tolist(), args.cadence) if history else 60
    model = train(history, args.metric, seed=args.seed, slow_alpha=min(0.2, cadence / 86_400))
    cli_io.save_model(model, Path(args.output))
    print(f"{model.model_id}: {model.rows} rows from {len(history)} series -> {args.output}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m detectors", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name the detectors").set_defaults(run=cmd_list)
    score = commands.add_parser("score", help="score a timestamp,value CSV")
    score.add_argument("--detector", required=True, help="a name from 'list'")
    score.add_argument("--input", required=True)
    score.add_argument("--output", required=True)
    score.add_argument("--metric", help="the metric, for its limits and bank (default: unknown)")
    score.add_argument("--kind", default="sensor", help="the source kind (river_gauge, ...)")
    score.add_argument("--limits", default="", help="e.g. warning=4.0,guaranteed=5.0")
    score.add_argument(
        "--cadence",
        type=seconds,
        help="seconds between readings (default: inferred; a series timed by its row "
        "numbers is timed this far apart)",
    )
    score.add_argument("--model", help="from 'train' (multivariate; else it trains on the rows)")
    score.set_defaults(run=cmd_score)
    evaluate_ = commands.add_parser("evaluate", help="run the scenarios and score the detectors")
    evaluate_.add_argument("--scenarios", default=str(SCENARIOS))
    evaluate_.add_argument("--seed", type=int, default=7)
    evaluate_.add_argument("--only", nargs="*", default=[])
    evaluate_.add_argument("--no-models", action="store_true")
    evaluate_.set_defaults(run=cmd_evaluate)
    train_ = commands.add_parser("train", help="train a multivariate model from CSV series")
    train_.add_argument("--metric", required=True)
    train_.add_argument("--input", nargs="+", required=True)
    train_.add_argument("--output", required=True)
    train_.add_argument("--seed", type=int, default=0)
    train_.add_argument("--cadence", type=seconds)
    train_.set_defaults(run=cmd_train)
    multi = commands.add_parser(
        "score-multi",
        help="score rows of several numeric columns: timestamp,anomaly_score,anomaly",
        description="Reads a CSV (',' or ';') with a 'timestamp', 'timestamps' or 'datetime' "
        "column (ISO 8601, epoch ms, or epoch seconds from 10^9 to 10^11) and any "
        "number of numeric columns; label columns named anomaly, changepoint, label or "
        "is_anomaly are ignored. Writes timestamp,anomaly_score,anomaly (1: in an anomaly, "
        "from a score of 0.5 until it falls below 0.35). Without --train-rows the first 300 "
        "rows are the warm-up (scores 0).",
    )
    multi.add_argument("--input", required=True)
    multi.add_argument("--output", required=True)
    multi.add_argument(
        "--train-rows", type=int, default=0, help="the first N rows are normal: fit on them"
    )
    multi.set_defaults(run=cmd_score_multi)
    bench = commands.add_parser("benchmark", help="NAB score and F1 on a labelled data set")
    bench.add_argument("--data", required=True, help="NAB layout (data/, labels/) or plain")
    bench.add_argument("--detector", nargs="+", help="default: all that run with no --metric")
    bench.add_argument("--profile", choices=sorted(PROFILES), default="standard")
    bench.add_argument("--per-file", action="store_true", help="also a table per file")
    bench.add_argument(
        "--cadence",
        type=seconds,
        help="seconds between readings (default: inferred; series timed by their row "
        "numbers are timed this far apart)",
    )
    # 'score' with no --metric: the same bank for every series
    bench.set_defaults(run=cmd_benchmark, metric=None, kind="sensor", limits="", model=None)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except cli_io.InputError as exc:
        print(f"error: {getattr(args, 'input', '')}: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
