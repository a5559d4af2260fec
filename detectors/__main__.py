"""``python -m detectors``: list the detectors, score a CSV series, evaluate the scenarios,
train a multivariate model.

    python -m detectors list
    python -m detectors score --detector default --input in.csv --output out.csv
    python -m detectors score --detector static --metric water_level \\
        --limits warning=4.0,guaranteed=5.0 --input gauge.csv --output scored.csv
    python -m detectors evaluate [--seed 7] [--only flood ...] [--no-models]
    python -m detectors train --metric pm25 --input a.csv b.csv --output pm25.model
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detectors import cli_io
from detectors.evaluation.evaluate import evaluate, train_models
from detectors.evaluation.report import scenario_table, targets, targets_table
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.bank import Bank, Pending, score_pending
from detectors.scoring.base import detector_class, names
from detectors.scoring.multivariate import TrainedModel, train
from detectors.scoring.profiles import bank_for, default_bank

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NOT_STANDALONE = {"bank": "the combination: use 'default'", "guarded": "a wrapper"}
GROUP = {"neighbours": "compares a sensor with its neighbours: evaluate runs it"}


SUMMARY = {
    "default": "the combination the worker runs for a metric it knows nothing about",
    "static": "limit bands from public standards, held for a duration (needs --metric)",
    "rainstorm": "CMA rainstorm warnings from rolling 3/6/12 h rainfall totals",
    "forecast": "predicts when the series crosses its limit; warns before (needs --metric)",
    "seasonal": "deviation from the hour-of-day / weekday-weekend profile",
    "robust_z": "distance from the rolling median in rolling MADs",
    "ewma": "EWMA control chart",
    "cusum": "two-sided CUSUM change detection",
    "iforest": "IsolationForest over reading features (needs --model from 'train')",
    "silent": "no data for longer than the cadence allows",
    "stuck": "a value that stops moving although the series usually moves",
    "burst": "case reports in a cell and category against their usual rate",
    "neighbours": "one sensor against its neighbours (fault vs area event); in evaluate only",
}


def cmd_list(_: argparse.Namespace) -> int:
    known = ["default", *(n for n in names() if n not in NOT_STANDALONE), *GROUP]
    for name in known:
        summary = SUMMARY[name] if name in SUMMARY else detector_class(name).__doc__ or ""
        print(f"{name:<11}{summary}")
    return 0


def _limits(text: str) -> dict[str, float]:
    pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
    return {key.strip(): float(value) for key, value in pairs}


def _cadence_s(ts_ms: Sequence[int], given: int | None) -> int:
    if given:
        return given
    steps = [b - a for a, b in zip(ts_ms, ts_ms[1:], strict=False) if b > a]
    return max(1, round(statistics.median(steps) / 1000)) if steps else 60


def build_bank(args: argparse.Namespace, cadence_s: int, model: TrainedModel | None) -> Bank:
    """The bank the worker would run for this series."""
    if args.metric is None:
        return default_bank(cadence_s)
    return bank_for(args.kind, args.metric, cadence_s, _limits(args.limits), model)


def run_member(bank: Bank, label: str, series: cli_io.Series) -> list[float]:
    """One member's scores, computed inside its bank exactly as in the worker."""
    pending: list[Pending] = []
    raws = [
        bank.assess_raw(t, v, pending) for t, v in zip(series.ts_ms, series.values, strict=True)
    ]
    score_pending(pending)
    if label == "default":
        results = [bank.combine(raw) for raw in raws]
        return [max(r.condition, r.fault) for r in results]
    index = bank.labels.index(label)
    return [0.0 if np.isnan(raw.scores[index]) else raw.scores[index] for raw in raws]


def cmd_score(args: argparse.Namespace) -> int:
    with open(args.input, encoding="utf-8", newline="") as handle:
        series = cli_io.read_series(handle)
    model = cli_io.load_model(Path(args.model)) if args.model else None
    bank = build_bank(args, _cadence_s(series.ts_ms, args.cadence), model)
    if args.detector not in ("default", *bank.labels):
        if args.detector in names() and args.detector not in NOT_STANDALONE:
            members = ", ".join(bank.labels)
            raise SystemExit(
                f"error: detector {args.detector!r} is not in the bank of "
                f"{args.metric or 'an unknown metric'} ({members}); pass --metric (and "
                f"--limits / --model) that call for it"
            )
        raise SystemExit(f"error: unknown detector {args.detector!r}; see 'list'")
    scores = run_member(bank, args.detector, series)
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
    score.add_argument("--detector", required=True)
    score.add_argument("--input", required=True)
    score.add_argument("--output", required=True)
    score.add_argument("--metric", help="the metric, for its limits and bank (default: unknown)")
    score.add_argument("--kind", default="sensor", help="the source kind (river_gauge, ...)")
    score.add_argument("--limits", default="", help="site limits, e.g. warning=4.0,guaranteed=5.0")
    score.add_argument("--cadence", type=int, help="seconds between readings (default: inferred)")
    score.add_argument("--model", help="a model file from 'train' (for iforest)")
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
    train_.add_argument("--cadence", type=int)
    train_.set_defaults(run=cmd_train)
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
