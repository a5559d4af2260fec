"""``citybrain-train`` / ``python -m streams.train``: fit the multivariate (RowFit)
model of each metric from the raw history in ClickHouse and save it as a versioned file
the worker loads at start (``CITYBRAIN_WORKER_MODEL_DIR``).

    citybrain-train --days 7                 # every metric with enough history
    citybrain-train --metric pm25 --days 3
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from clickhouse_driver import Client

from detectors.contract.events import METRICS
from detectors.evaluation.evaluate import NO_MODEL
from detectors.scoring.multivariate import TrainedModel, dumps, loads, train
from infra.clickhouse import connect
from infra.settings import SettingsError, WorkerSettings, load

DAY_MS = 86_400_000
SUFFIX = ".model"


def history(client: Client, metric: str, days: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each source's series of ``metric`` over the last ``days`` of stored event time."""
    rows = client.execute(
        "SELECT source_id, ts_ms, value FROM events_raw FINAL WHERE metric = %(metric)s "
        "AND ts_ms >= (SELECT max(ts_ms) FROM events_raw WHERE metric = %(metric)s) - %(span)s "
        "ORDER BY source_id, ts_ms",
        {"metric": metric, "span": int(days * DAY_MS)},
    )
    by_source: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for source_id, ts_ms, value in rows:
        by_source[source_id][0].append(int(ts_ms))
        by_source[source_id][1].append(float(value))
    return {s: (np.array(t, dtype=np.int64), np.array(v)) for s, (t, v) in by_source.items()}


def cadence_s(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> int:
    """The median spacing of the readings, in seconds (at least 1)."""
    gaps = [np.diff(ts) for ts, _ in series.values() if len(ts) > 1]
    return max(1, int(np.median(np.concatenate(gaps)) / 1000)) if gaps else 60


def save(model: TrainedModel, folder: Path) -> Path:
    """Write ``<metric>.model`` (what the worker loads) atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model.metric}{SUFFIX}"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(dumps(model))
    tmp.replace(path)
    return path


def load_models(folder: Path) -> tuple[dict[str, TrainedModel], list[str]]:
    """Every model in ``folder`` by metric, and a message for each file refused."""
    models, problems = {}, []
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            model = loads(path.read_bytes())
        except (ValueError, EOFError, ImportError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        models[model.metric] = model
    return models, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citybrain-train", description=__doc__.splitlines()[0])
    parser.add_argument("--metric", action="append", help="metric to train (default: all)")
    parser.add_argument("--days", type=float, default=7.0, help="history to learn from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="model folder (default CITYBRAIN_WORKER_MODEL_DIR)")
    args = parser.parse_args(argv)
    try:
        settings = load(WorkerSettings)
    except SettingsError as exc:
        print(f"citybrain-train: {exc}", file=sys.stderr)
        return 2
    unknown = [m for m in args.metric or [] if m not in METRICS or m in NO_MODEL]
    if unknown or args.days <= 0:
        what = f"unknown or untrainable metric {unknown}" if unknown else "--days must be > 0"
        print(f"citybrain-train: {what}", file=sys.stderr)
        return 2
    folder = Path(args.output or settings.worker_model_dir)
    client = connect(settings)
    trained = 0
    for metric in args.metric or [m for m in METRICS if m not in NO_MODEL]:
        series = history(client, metric, args.days)
        try:
            model = train(list(series.values()), metric, seed=args.seed,
                          slow_alpha=min(0.2, cadence_s(series) / 86_400))  # fmt: skip
        except ValueError as exc:
            print(f"{metric}: skipped ({exc})")
            continue
        print(f"{metric}: {model.model_id} from {model.rows} rows of {len(series)} series "
              f"-> {save(model, folder)}")  # fmt: skip
        trained += 1
    print(f"{trained} model(s) in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
