"""A small, realistic command-center data set written straight into an isolated
ClickHouse database: the simulator's city (areas, geometry, sources), alerts as the worker
writes them, stage changes, case lifecycles, roll-ups, one sensor's readings and dead
letters. Shared by the dashboard's integration, browser and bench code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.contract.tables import (
    ALERT_EVENTS,
    ALERTS_CURRENT,
    CASES_RAW,
    DEAD_LETTERS,
    EVENTS_RAW,
    ROLLUPS_1M,
    STAGE_CHANGES,
)
from infra.clickhouse import connect
from infra.settings import CommonSettings
from sensors_sim.city import CityModel, build_city
from sensors_sim.reference import write_reference

MIN_MS = 60_000

ALERT_COLUMNS = ALERTS_CURRENT.select_without("created_ms")  # the seeds' rows have none
EVENT_COLUMNS = ALERT_EVENTS.select_without("created_ms")
STAGE_COLUMNS = STAGE_CHANGES.column_list
CASE_COLUMNS = CASES_RAW.column_list
ROLLUP_COLUMNS = ROLLUPS_1M.column_list
RAW_COLUMNS = EVENTS_RAW.column_list
DEAD_COLUMNS = DEAD_LETTERS.column_list


@dataclass(frozen=True)
class Seeded:
    """What was written, for tests to point at."""

    now_ms: int
    city: CityModel
    red_alert: str  # D1, unacknowledged, red: the one to acknowledge
    d2_alert: str  # D2, unacknowledged, orange
    resolved_alert: str  # D3, resolved
    grid: str  # the red alert's grid cell (D1)
    street: str
    sensor: str  # the red alert's sensor, with readings
    overdue_case: str
    alert_ids: tuple[str, ...]


def insert(
    settings: CommonSettings, table: str, columns: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """One INSERT with the rows as data (literal VALUES hang the 18.16 server)."""
    client = connect(settings)
    try:
        client.execute(f"INSERT INTO {table} ({columns}) VALUES", list(rows))
    finally:
        client.disconnect()


def alert_row(
    alert_id: str,
    level: WarningLevel,
    status: str,
    where: tuple[str, str, str, str],
    source_id: str,
    metric: str,
    opened_ms: int,
    version: int = 1,
    subject: str = "alert",
    acknowledged_by: str = "",
    assignee: str = "",
    evidence: dict[str, Any] | None = None,
    updated_ms: int | None = None,
) -> tuple[Any, ...]:
    city, district, street, grid = where
    reason = f"{metric} of {source_id} above its {level.colour} limit"
    return (
        alert_id,
        subject,
        "",
        f"{source_id}:{metric}:condition",
        "condition",
        level.roman,
        int(level),
        "district",
        status,
        opened_ms,
        updated_ms or opened_ms,
        version,
        acknowledged_by,
        assignee,
        1,
        reason,
        city,
        district,
        street,
        grid,
        "",
        source_id,
        metric,
        json.dumps(evidence or {"detector": "static", "value": 1.0}),
    )


def event_row(
    alert: tuple[Any, ...], kind: str, ts_ms: int, actor: str = "", comment: str = ""
) -> tuple[Any, ...]:
    alert_id, _subject, incident, key, category, level, rank, tier = alert[:8]
    reason, city, district, street, grid, scope = alert[15:21]
    return (
        f"{alert_id}-{kind}-{ts_ms}",
        ts_ms // 1000,
        ts_ms,
        kind,
        alert_id,
        incident,
        key,
        category,
        level,
        rank,
        tier,
        1,
        reason,
        city,
        district,
        street,
        grid,
        scope,
        alert[23],
        actor,
        comment,
    )


def seed(settings: CommonSettings, now_ms: int) -> Seeded:
    """Write the data set with ``now_ms`` as the newest event time."""
    city = build_city(seed=42)
    write_reference(settings, city, clock=lambda: now_ms / 1000 - 3600)
    locations = city.grid_locations()

    def where(grid: str) -> tuple[str, str, str, str]:
        loc = locations[grid]
        return loc.city, loc.district, loc.street, loc.grid

    t = now_ms - 40 * MIN_MS
    forecast = {
        "detector": "forecast",
        "value": 91.0,
        "score": 0.97,
        "threshold": 90.0,
        "forecast_ts_ms": now_ms + 20 * MIN_MS,
        "expected": 99.0,
    }
    red = alert_row(
        "alert-red-d1",
        WarningLevel.I,
        "active",
        where("D1-S1-G01"),
        "WAT-0001",
        "pipe_level",
        t,
        evidence=forecast,
    )
    yellow = alert_row(
        "alert-yellow-d1",
        WarningLevel.III,
        "acknowledged",
        where("D1-S1-G02"),
        "ENV-0002",
        "pm25",
        t + 5 * MIN_MS,
        version=2,
        acknowledged_by="operator-d1",
    )
    blue = alert_row(
        "alert-blue-d1",
        WarningLevel.IV,
        "active",
        where("D1-S2-G03"),
        "TRF-0001",
        "occupancy",
        t + 8 * MIN_MS,
    )
    orange = alert_row(
        "alert-orange-d2",
        WarningLevel.II,
        "active",
        where("D2-S2-G10"),
        "WAT-0047",
        "water_level",
        t + 10 * MIN_MS,
    )
    resolved = alert_row(
        "alert-resolved-d3",
        WarningLevel.I,
        "resolved",
        where("D3-S1-G01"),
        city_source(city, "D3"),
        "load",
        t - 60 * MIN_MS,
        version=3,
        acknowledged_by="commander",
        updated_ms=t,
    )
    alerts = [red, yellow, blue, orange, resolved]
    insert(settings, "alerts_current", ALERT_COLUMNS, alerts)
    events = [event_row(a, "raised", a[9]) for a in alerts]
    events.append(event_row(yellow, "acknowledged", yellow[9] + MIN_MS, "operator-d1"))
    events.append(event_row(resolved, "resolved", t, "commander", "feeder switched"))
    insert(settings, "alert_events", EVENT_COLUMNS, events)
    _seed_stages(settings, t)
    overdue = _seed_cases(settings, city, now_ms)
    _seed_rollups(settings, city, now_ms)
    _seed_readings(settings, city, now_ms)
    _seed_dead_letters(settings, now_ms)
    return Seeded(
        now_ms,
        city,
        "alert-red-d1",
        "alert-orange-d2",
        "alert-resolved-d3",
        "D1-S1-G01",
        "D1-S1",
        "WAT-0001",
        overdue,
        tuple(a[0] for a in alerts),
    )


def city_source(city: CityModel, district: str) -> str:
    return next(s.source_id for s in city.sources if s.location.district == district)


def _seed_stages(settings: CommonSettings, t: int) -> None:
    rows = [
        (
            "district",
            "D1",
            t // 1000,
            t,
            3,
            1,
            "stage 3: 1 yellow air quality alert in district Riverside",
        ),
        (
            "district",
            "D1",
            (t + 60_000) // 1000,
            t + 60_000,
            5,
            3,
            "stage 5: 1 red flood alert in district Riverside",
        ),
        (
            "district",
            "D2",
            (t + 600_000) // 1000,
            t + 600_000,
            4,
            1,
            "stage 4: 1 orange flood alert in district West Lake",
        ),
        (
            "city",
            "CB",
            (t + 60_000) // 1000,
            t + 60_000,
            5,
            3,
            "stage 5: 1 red flood alert in city",
        ),
    ]
    insert(settings, "stage_changes", STAGE_COLUMNS, rows)


def _seed_cases(settings: CommonSettings, city: CityModel, now_ms: int) -> str:
    """Three cases in D1 and one in D2; C-OVERDUE waits for dispatch far past its limit."""
    locations = city.grid_locations()
    plan = [
        ("C-OVERDUE", "manhole_cover", "D1-S1-G01", [("filed", -180)]),
        ("C-ONTIME", "garbage", "D1-S2-G03", [("filed", -20), ("dispatched", -10)]),
        (
            "C-DONE",
            "street_light",
            "D1-S1-G02",
            [
                ("filed", -600),
                ("dispatched", -590),
                ("accepted", -580),
                ("handled", -500),
                ("verified", -480),
                ("closed", -470),
                ("evaluated", -400),
            ],
        ),
        ("C-D2", "road_damage", "D2-S2-G10", [("filed", -50)]),
    ]
    rows = []
    for case_id, category, grid, steps in plan:
        loc = locations[grid]
        for status, minutes in steps:
            ts = now_ms + minutes * MIN_MS
            rows.append(
                (
                    f"{case_id}-{status}",
                    ts // 1000,
                    ts,
                    case_id,
                    category,
                    status,
                    "HOTLINE",
                    loc.city,
                    loc.district,
                    loc.street,
                    loc.grid,
                    120.2,
                    30.2,
                    f"{category} reported",
                    "",
                    ts // 1000,
                    ts,
                )
            )
    insert(settings, "cases_raw", CASE_COLUMNS, rows)
    return "C-OVERDUE"


def _seed_rollups(settings: CommonSettings, city: CityModel, now_ms: int) -> None:
    """The last hour of events per minute for the city, every district and D1's streets
    and cells, by family."""
    newest = now_ms // MIN_MS * 60
    keys = [("city", "CB")] + [("district", d.code) for d in city.level("district")]
    keys += [
        (a.level, a.code)
        for a in city.areas
        if a.level in ("street", "grid") and a.code.startswith("D1-S1")
    ]
    rows = []
    for level, key in keys:
        for m in range(60):
            for family, metric, n in (("environment", "pm25", 30), ("water", "pipe_level", 12)):
                rows.append(
                    (
                        level,
                        key,
                        metric,
                        family,
                        newest - 60 * m,
                        f"cbt.{family}",
                        0,
                        n,
                        40.0 * n,
                        10.0,
                        90.0,
                        1,
                    )
                )
    insert(settings, "rollups_1m", ROLLUP_COLUMNS, rows)


def _seed_readings(settings: CommonSettings, city: CityModel, now_ms: int) -> None:
    """Three hours of WAT-0001's drain level, rising into the red alert."""
    loc = next(s.location for s in city.sources if s.source_id == "WAT-0001")
    rows = []
    for m in range(180):
        ts = now_ms - (180 - m) * MIN_MS
        value = 40.0 + 55.0 * max(0, m - 100) / 80
        rows.append(
            (
                f"raw-{m}",
                ts // 1000,
                ts,
                "water",
                "WAT-0001",
                "pipe_level",
                value,
                loc.city,
                loc.district,
                loc.street,
                loc.grid,
                ts // 1000,
                ts,
            )
        )
    insert(settings, "events_raw", RAW_COLUMNS, rows)


def _seed_dead_letters(settings: CommonSettings, now_ms: int) -> None:
    at = now_ms // 1000 - 600
    rows = [
        (
            "cbt.water",
            0,
            i,
            at,
            "water",
            "out_of_range",
            "value",
            json.dumps({"district": "D1" if i % 2 else "D2", "value": 9999}),
            "w1",
        )
        for i in range(6)
    ]
    rows.append(("cbt.water", 0, 99, at, "water", "bad_json", "", "{", "w1"))
    insert(settings, "dead_letters", DEAD_COLUMNS, rows)
