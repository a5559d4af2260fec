"""The CLI's file edge: scenario files, series CSVs and model files. Nothing else under
``detectors/`` touches a file."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from detectors.scoring.multivariate import TrainedModel, dumps, loads


class InputError(ValueError):
    """Bad input, with the row it was found on (1 is the header)."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(f"row {row}: {reason}")
        self.row, self.reason = row, reason


@dataclass(frozen=True)
class Series:
    """One series read from a CSV: raw timestamp text (echoed back), epoch ms, values."""

    stamps: tuple[str, ...]
    ts_ms: tuple[int, ...]
    values: tuple[float, ...]


def load_scenarios(folder: Path, only: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every ``*.yaml`` scenario in ``folder`` (by file name), or just those named."""
    scenarios = []
    for path in sorted(folder.glob("*.yaml")):
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not only or scenario["name"] in only:
            scenarios.append(scenario)
    return scenarios


def parse_time(text: str) -> int:
    """Epoch milliseconds from an integer (ms) or an ISO 8601 time (UTC if no offset)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _rows(handle: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(handle)
    missing = [c for c in ("timestamp", "value") if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(1, f"missing column {missing[0]!r} (header has {reader.fieldnames})")
    yield from enumerate(reader, start=2)


def read_series(handle: TextIO) -> Series:
    """A ``timestamp,value`` CSV in its own row order; stops at the first bad row."""
    stamps, times, values = [], [], []
    for number, row in _rows(handle):
        stamp, text = (row.get("timestamp") or "").strip(), (row.get("value") or "").strip()
        try:
            ts = parse_time(stamp)
        except ValueError:
            raise InputError(number, f"timestamp {stamp!r} is not epoch ms or ISO 8601") from None
        try:
            value = float(text)
        except ValueError:
            raise InputError(number, f"value {text!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(number, f"value {text!r} is not finite")
        stamps.append(stamp)
        times.append(ts)
        values.append(value)
    return Series(tuple(stamps), tuple(times), tuple(values))


def write_scores(handle: TextIO, series: Series, scores: Sequence[float]) -> None:
    """``timestamp,value,anomaly_score`` rows, in the input's order."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    for stamp, value, score in zip(series.stamps, series.values, scores, strict=True):
        writer.writerow([stamp, repr(value), f"{score:.6f}"])


def save_model(model: TrainedModel, path: Path) -> None:
    path.write_bytes(dumps(model))


def load_model(path: Path) -> TrainedModel:
    return loads(path.read_bytes())
