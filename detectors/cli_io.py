"""The CLI's file edge: scenario files, series CSVs, labelled data sets and model files.
Nothing else under ``detectors/`` touches a file."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from detectors.evaluation.benchmark_series import label_runs, window_rows
from detectors.scoring.multivariate import TrainedModel, dumps, loads

LABELS = Path("labels") / "combined_windows.json"
LABEL_COLUMNS = ("label", "anomaly", "is_anomaly")


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


SECONDS = (10**9, 10**11)
"""A file whose first timestamp is an integer in this range counts in epoch seconds
(2001-09-09 to 5138; as milliseconds it would be 11 days to 3 years after 1970): Yahoo's
S5 benchmark and most Unix tools write seconds, NAB's layout and this product milliseconds.
Read as milliseconds, an hourly series looked like one every 3.6 seconds: no daily or
weekly cycle, and the Yahoo-like corpus scored 35.7 instead of 44.6."""
TIME_COLUMNS = ("timestamp", "timestamps", "datetime")
"""The names a time column goes by (``timestamps``: Yahoo's S5 A3 and A4 files)."""


def parse_time(text: str) -> int:
    """Epoch milliseconds from an integer (ms) or an ISO 8601 time (UTC if no offset)."""
    text = text.strip()
    if _integer(text):
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _integer(stamp: str) -> bool:
    """Whether a timestamp is written as an integer (epoch seconds, ms or a row number)."""
    return stamp.lstrip("-").isdigit()


def in_ms(stamps: Sequence[str], times: list[int]) -> tuple[int, ...]:
    """``times`` as parsed, or each integer one times 1000 where the first timestamp is
    an integer in epoch seconds (:data:`SECONDS`)."""
    if not times or not _integer(stamps[0]) or not (SECONDS[0] <= times[0] < SECONDS[1]):
        return tuple(times)
    return tuple(t * 1000 if _integer(stamp) else t for stamp, t in zip(stamps, times, strict=True))


def row_timed(series: Series, cadence_s: int | None) -> Series:
    """``series`` with its times set ``cadence_s`` seconds apart where they are its row
    numbers (integers counting up by one, as in Yahoo's S5 A1 files: no clock, so no day or
    week is known); as it is otherwise, or without a cadence."""
    times = series.ts_ms
    if (
        not cadence_s
        or len(times) < 2
        or not _integer(series.stamps[0])
        or any(b - a != 1 for a, b in zip(times, times[1:], strict=False))
    ):
        return series
    return Series(series.stamps, tuple(t * cadence_s * 1000 for t in times), series.values)


def _time(number: int, stamp: str) -> int:
    try:
        return parse_time(stamp)
    except ValueError:
        raise InputError(
            number, f"timestamp {stamp!r} is not epoch seconds, epoch ms or ISO 8601"
        ) from None


def _rows(handle: TextIO) -> Iterator[tuple[int, str, str]]:
    """Each row's number, timestamp and value, stripped (empty where missing)."""
    reader = csv.DictReader(handle)
    names = reader.fieldnames or []
    time = next((c for c in TIME_COLUMNS if c in names), "timestamp")
    missing = [c for c in (time, "value") if c not in names]
    if missing:
        raise InputError(1, f"missing column {missing[0]!r} (header has {reader.fieldnames})")
    for number, row in enumerate(reader, start=2):
        yield number, (row.get(time) or "").strip(), (row.get("value") or "").strip()


def read_series(handle: TextIO) -> Series:
    """A ``timestamp,value`` CSV in its own row order; stops at the first bad row. The
    time column may be called any of :data:`TIME_COLUMNS`; integers are epoch ms, or
    epoch seconds (:data:`SECONDS`)."""
    stamps, times, values = [], [], []
    for number, stamp, text in _rows(handle):
        ts = _time(number, stamp)
        try:
            value = float(text)
        except ValueError:
            raise InputError(number, f"value {text!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(number, f"value {text!r} is not finite")
        stamps.append(stamp)
        times.append(ts)
        values.append(value)
    return Series(tuple(stamps), in_ms(stamps, times), tuple(values))


def write_scores(handle: TextIO, series: Series, scores: Sequence[float]) -> None:
    """``timestamp,value,anomaly_score`` rows, in the input's order."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    for stamp, value, score in zip(series.stamps, series.values, scores, strict=True):
        writer.writerow([stamp, repr(value), f"{score:.6f}"])


IGNORED_COLUMNS = ("anomaly", "changepoint", "label", "is_anomaly")
"""Label columns of multivariate files (SKAB's, TSB-UAD's): never read as sensors."""


@dataclass(frozen=True)
class Table:
    """Rows of several numeric columns read from a CSV: raw timestamps, epoch ms, values."""

    stamps: tuple[str, ...]
    ts_ms: tuple[int, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]


def _cell(number: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(number, f"column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(number, f"column {column!r}: {text!r} is not finite")
    return value


def read_table(handle: TextIO) -> Table:
    """A ``timestamp`` (or ``datetime``) column and numeric columns, ``,`` or ``;``
    separated; label columns (:data:`IGNORED_COLUMNS`) are skipped."""
    text = handle.read()
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if ";" in first else ",")
    header = [h.strip() for h in next(reader, [])]
    time_at = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
    if time_at is None:
        raise InputError(
            1, f"no 'timestamp', 'timestamps' or 'datetime' column (header has {header})"
        )
    used = [i for i, h in enumerate(header) if i != time_at and h.lower() not in IGNORED_COLUMNS]
    if not used:
        raise InputError(1, "no numeric columns besides the timestamp and labels")
    stamps, times, rows = [], [], []
    for number, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise InputError(number, f"{len(cells)} cells, the header has {len(header)}")
        stamp = cells[time_at].strip()
        times.append(_time(number, stamp))
        stamps.append(stamp)
        rows.append(tuple(_cell(number, header[i], cells[i].strip()) for i in used))
    return Table(tuple(stamps), in_ms(stamps, times), tuple(header[i] for i in used), tuple(rows))


def write_decisions(
    handle: TextIO, stamps: Sequence[str], scores: Sequence[float], flags: Sequence[float]
) -> None:
    """``timestamp,anomaly_score,anomaly`` rows, in the input's order."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["timestamp", "anomaly_score", "anomaly"])
    for stamp, score, flag in zip(stamps, scores, flags, strict=True):
        writer.writerow([stamp, f"{score:.6f}", int(flag)])


def save_model(model: TrainedModel, path: Path) -> None:
    path.write_bytes(dumps(model))


def load_model(path: Path) -> TrainedModel:
    return loads(path.read_bytes())


class CorpusError(ValueError):
    """Bad input in a labelled data set, naming the file (and the row, if any)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class LabelledFile:
    """One series of a labelled data set: its path in the set, the series, and its labelled
    windows as inclusive row ranges (none: an anomaly-free control)."""

    name: str
    series: Series
    windows: tuple[tuple[int, int], ...]
    note: str = ""  # what the reader let pass and a user should know (a step back in time)


def read_corpus(folder: Path) -> list[LabelledFile]:
    """Every series of a labelled data set: NAB's layout (``data/**.csv`` and
    ``labels/combined_windows.json``) or plain CSVs with a 0/1 ``label``, ``anomaly`` or
    ``is_anomaly`` column, whose runs of 1 rows are the windows."""
    if not folder.is_dir():
        raise CorpusError(folder, "not a directory")
    if (folder / LABELS).is_file():
        return _read_nab(folder)
    if (folder / "labels").is_dir():
        raise CorpusError(folder / LABELS, "missing (a NAB-layout data set needs it)")
    paths = sorted(folder.rglob("*.csv"))
    if not paths:
        raise CorpusError(folder, "no CSV files")
    return [_read_plain(folder, path) for path in paths]


def _read_path(path: Path) -> Series:
    with path.open(encoding="utf-8", newline="") as handle:
        try:
            return read_series(handle)
        except InputError as exc:
            raise CorpusError(path, str(exc)) from None


def _nab_labels(labels_path: Path) -> dict[str, Any]:
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CorpusError(labels_path, f"not JSON ({exc})") from None
    if not isinstance(labels, dict):
        raise CorpusError(labels_path, "not an object mapping data files to windows")
    return labels


def _read_nab(folder: Path) -> list[LabelledFile]:
    labels_path, data = folder / LABELS, folder / "data"
    labels = _nab_labels(labels_path)
    paths = {p.relative_to(data).as_posix(): p for p in sorted(data.rglob("*.csv"))}
    absent = sorted(set(labels) - set(paths))
    if absent:
        raise CorpusError(labels_path, f"names {absent[0]!r}, which is not a CSV under {data}")
    if not paths:
        raise CorpusError(data, "no CSV files")
    return [
        _nab_file(labels_path, name, path, labels.get(name) or []) for name, path in paths.items()
    ]


def _nab_file(labels_path: Path, name: str, path: Path, spans: list[Any]) -> LabelledFile:
    series = _read_path(path)
    backwards = next(
        (i for i in range(1, len(series.ts_ms)) if series.ts_ms[i] < series.ts_ms[i - 1]), None
    )
    note = ""
    if backwards is not None:  # kept in file order, as NAB scores it
        note = f"{name}: row {backwards + 2}: timestamp goes back in time; rows kept in file order"
    try:
        return LabelledFile(name, series, window_rows(series.ts_ms, _spans_ms(spans)), note)
    except ValueError as exc:
        raise CorpusError(labels_path, f"{name!r}: {exc}") from None


def _spans_ms(spans: list[Any]) -> list[tuple[int, int]]:
    """``[start, end]`` time strings as epoch ms; a ValueError names the bad one."""
    parsed = []
    for span in spans:
        if not (isinstance(span, list) and len(span) == 2):
            raise ValueError(f"window {span!r} is not [start, end]")
        try:
            parsed.append((parse_time(str(span[0])), parse_time(str(span[1]))))
        except ValueError:
            raise ValueError(f"window {span!r}: not epoch ms or ISO 8601 times") from None
    return parsed


def write_labelled(
    path: Path, stamps: Sequence[datetime], values: Sequence[float], labels: Sequence[int],
    digits: int,
) -> None:  # fmt: skip
    """One series as :func:`read_corpus` reads a plain data set's: ``timestamp,value,label``
    rows, the value to ``digits`` decimals."""
    with path.open("w") as handle:
        handle.write("timestamp,value,label\n")
        for moment, value, label in zip(stamps, values, labels, strict=True):
            handle.write(f"{moment.isoformat(sep=' ')},{value:.{digits}f},{label}\n")


def _read_plain(folder: Path, path: Path) -> LabelledFile:
    text = path.read_text(encoding="utf-8")
    try:
        series = read_series(io.StringIO(text, newline=""))
    except InputError as exc:
        raise CorpusError(path, str(exc)) from None
    return LabelledFile(path.relative_to(folder).as_posix(), series, label_runs(_flags(path, text)))


def _flags(path: Path, text: str) -> list[bool]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    column = next((c for c in LABEL_COLUMNS if c in (reader.fieldnames or [])), None)
    if column is None:
        names = " or ".join(repr(c) for c in LABEL_COLUMNS)
        raise CorpusError(path, f"no {names} column, and no {LABELS} in the data set")
    flags = []
    for number, row in enumerate(reader, start=2):
        mark = (row.get(column) or "").strip()
        if mark not in ("0", "1", "0.0", "1.0"):
            raise CorpusError(path, f"row {number}: {column} {mark!r} is not 0 or 1")
        flags.append(mark.startswith("1"))
    return flags
