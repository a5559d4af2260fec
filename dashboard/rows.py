"""Rows of the server's answers turned into the records of :mod:`dashboard.model`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dashboard.model import (
    AlertEventRow,
    AlertRow,
    AreaTree,
    CaseRow,
    CaseStepRow,
    DistrictRollup,
    DrillRow,
    QualityRow,
    SensorCell,
    SensorInfo,
    SilenceRow,
    StageChange,
    level_of,
    parse_evidence,
)
from detectors.contract.audit import AccessEvent, AccessKind
from detectors.contract.case_limits import case_steps
from detectors.contract.city import Area, Ring
from detectors.contract.indicators import Indicator, Score, components_of
from detectors.contract.places import AreaLevel, Location

Row = Sequence[Any]


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """One short line for an operator: the server's message without its stack trace."""
    text = str(exc).split("Stack trace:")[0]
    line = " ".join(text.split()).rstrip(".") or type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_ring(text: str) -> Ring:
    """A ring from its JSON text ``[[lon, lat], ...]``; empty when the text is not one."""
    try:
        points = json.loads(text)
        return tuple((float(lon), float(lat)) for lon, lat in points)
    except (ValueError, TypeError):
        return ()


def utc(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(int(epoch_s), UTC)


def day_start(yyyymmdd: int) -> int:
    """Epoch seconds of a day partition's midnight UTC (0 when there is no partition)."""
    if not yyyymmdd:
        return 0
    day = datetime.strptime(str(yyyymmdd), "%Y%m%d").replace(tzinfo=UTC)
    return int(day.timestamp())


def window_params(level: str, newest: int, minutes: int) -> dict[str, Any]:
    return {"level": level, "since": newest - 60 * (max(minutes, 1) - 1), "until": newest}


def last_complete_minute(newest: int) -> int:
    """Epoch seconds of the newest minute that is over, given the newest window written
    (event time): that one is still filling up, so a count or mean of it is partial (a
    map coloured by it jumps, a rate chart dips at its right edge).

    >>> last_complete_minute(1_700_000_160)
    1700000100
    """
    return newest - 60


def complete_window_params(level: str, newest: int, minutes: int) -> dict[str, Any]:
    """The last ``minutes`` complete minutes before the newest (filling) window.

    >>> complete_window_params("city", 6000, 3)
    {'level': 'city', 'since': 5820, 'until': 5940}
    """
    return window_params(level, last_complete_minute(newest), minutes)


def area(level: str, code: str, parent: str, name: str, name_zh: str, ring: str) -> Area:
    return Area(level, code, parent, name, name_zh, parse_ring(ring))


def district_rollup(
    key: str, metric: str, ts: int, cnt: int, total: float, low: float, high: float
) -> DistrictRollup:
    mean = total / cnt if cnt else float("nan")
    return DistrictRollup(key, metric, utc(ts), int(cnt), mean, float(low), float(high))


def alert(*row: Any) -> AlertRow:
    """A row of ``sql.ALERT_COLUMNS``."""
    (
        alert_id,
        subject,
        incident_id,
        key,
        category,
        level,
        tier,
        status,
        opened_ms,
        updated_ms,
        version,
        acknowledged_by,
        assignee,
        reason,
        city,
        district,
        street,
        grid,
        scope,
        source_id,
        metric,
        evidence,
    ) = row
    return AlertRow(
        str(alert_id),
        str(subject),
        str(incident_id),
        str(key),
        str(category),
        level_of(str(level)),
        str(tier),
        str(status),
        int(opened_ms),
        int(updated_ms),
        int(version),
        str(acknowledged_by),
        str(assignee),
        str(reason),
        Location(str(city), str(district), str(street), str(grid)),
        str(scope),
        str(source_id),
        str(metric),
        parse_evidence(str(evidence)),
    )


def access_event(*row: Any) -> AccessEvent:
    event_id, ts_ms, kind, username, actor, address, role, district, detail = row
    return AccessEvent(
        str(event_id), int(ts_ms), AccessKind(kind), str(username), str(actor), str(address),
        str(role), str(district), str(detail),
    )  # fmt: skip


def alert_event(*row: Any) -> AlertEventRow:
    event_id, ts_ms, kind, alert_id, incident_id, level, tier, reason, actor, comment = row
    return AlertEventRow(
        str(event_id),
        int(ts_ms),
        str(kind),
        str(alert_id),
        str(incident_id),
        str(level),
        str(tier),
        str(reason),
        str(actor),
        str(comment),
    )


def stage(level: str, code: str, ts_ms: int, value: int, previous: int, reason: str) -> StageChange:
    return StageChange(str(level), str(code), int(ts_ms), int(value), int(previous), str(reason))


def sensor_cells(found: Sequence[Row], tree: AreaTree) -> list[SensorCell]:
    """Per-cell sensor counts placed at the cell's centroid (cells missing from the tree,
    with no geometry to place them, are left out)."""
    families: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for grid, family, count in found:
        families[str(grid)].append((str(family), int(count)))
    cells = []
    for grid, counts in families.items():
        cell = tree.get(grid)
        if cell is None or not cell.ring:
            continue
        lon, lat = cell.centroid
        cells.append(SensorCell(grid, lon, lat, sum(n for _, n in counts), tuple(counts)))
    return cells


def sensor(*row: Any) -> SensorInfo:
    source_id, family, kind, metrics, city, district, street, grid, lon, lat, cadence_s = row
    return SensorInfo(
        str(source_id),
        str(family),
        str(kind),
        tuple(str(m) for m in metrics),
        Location(str(city), str(district), str(street), str(grid)),
        float(lon),
        float(lat),
        int(cadence_s),
    )


def case(*row: Any) -> CaseRow:
    """A row of ``sql.AREA_CASES``."""
    (
        case_id,
        category,
        city,
        district,
        street,
        grid,
        statuses,
        stamps,
        last_status,
        last_ms,
        text,
    ) = row
    steps = case_steps(zip(statuses, stamps, strict=True))
    place = Location(str(city), str(district), str(street), str(grid))
    return CaseRow(
        str(case_id), str(category), place, steps, str(last_status), int(last_ms), str(text)
    )


def case_step(*row: Any) -> CaseStepRow:
    """A row of ``sql.CASE_TRAIL``."""
    ts_ms, action, status, department, score, actor, role, comment = row
    return CaseStepRow(int(ts_ms), str(action), str(status), str(department), int(score),
                       str(actor), str(role), str(comment))  # fmt: skip


def case_of_events(found: Sequence[Row]) -> CaseRow | None:
    """A case from its lifecycle events (``sql.CASE_EVENTS``, oldest first)."""
    if not found:
        return None
    case_id, category, city, district, street, grid = found[0][:6]
    statuses = [row[6] for row in found]
    stamps = [row[7] for row in found]
    last = found[-1]
    return case(
        case_id,
        category,
        city,
        district,
        street,
        grid,
        statuses,
        stamps,
        last[6],
        last[7],
        found[0][8],
    )


def quality(
    sources: Sequence[Row],
    received: Sequence[Row],
    last_seen: Sequence[Row],
    dead: Sequence[Row],
    minutes: int,
) -> list[QualityRow]:
    """One row per (family, district) that has sources or data, sorted."""
    registry = {(str(f), str(d)): (int(n), float(e)) for f, d, n, e in sources}
    counts = {(str(f), str(k)): (int(r), int(h)) for k, f, r, h, _ in received}
    seen = {(str(f), str(k)): int(ts) for k, f, ts in last_seen}
    letters = {(str(f), str(d)): int(n) for f, d, n in dead}
    keys = sorted(set(registry) | set(counts) | set(letters))
    result = []
    for key in keys:
        sources_n, expected = registry.get(key, (0, 0.0))
        recent, hour = counts.get(key, (0, 0))
        result.append(
            QualityRow(
                key[0],
                key[1],
                sources_n,
                expected,
                recent / max(minutes, 1),
                seen.get(key, 0) * 1000,
                hour,
                letters.get(key, 0),
            )
        )
    return result


def silence(*row: Any) -> SilenceRow:
    """A row of ``sql.SILENCE_COLUMNS``."""
    (silence_id, status, ts_ms, scope, value, family, metric, district, start_ms, end_ms,
     reason, author, created_ms, actor) = row  # fmt: skip
    return SilenceRow(
        str(silence_id), str(status), int(ts_ms), str(scope), str(value), str(family),
        str(metric), str(district), int(start_ms), int(end_ms), str(reason), str(author),
        int(created_ms), str(actor),
    )  # fmt: skip


def drill(*row: Any) -> DrillRow:
    drill_id, kind, title, title_zh, name, name_zh, city, district, street, grid = row[:10]
    start, end, metrics = row[10:]
    place = Location(str(city), str(district), str(street), str(grid))
    return DrillRow(
        str(drill_id), str(kind), str(title), str(title_zh), str(name), str(name_zh), place,
        int(start), int(end), tuple(str(m) for m in metrics),
    )  # fmt: skip


def score(
    level: str, code: str, indicator: str, value: float, components: str = "", at: int = 0
) -> Score:
    """An indicator's score from the scorecard queries (-1: not judged, NULL in the table);
    ``at`` is the window's start in epoch seconds (0 where the query is of one minute)."""
    return Score(
        AreaLevel(level), code, Indicator(indicator), int(at) * 1000,
        None if value < 0 else float(value), components_of(components),
    )  # fmt: skip
