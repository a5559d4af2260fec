"""A finished replay, recorded as ``citybrain-replay run`` records one: its namespace made
by the replay's own code (database with every table, the live reference data copied in,
topics), its row in the live ``replays`` table written by the replay catalogue (running,
then finished), and in its database what the worker stores: alert events and the alerts'
current state, district stage changes and per-minute roll-ups. The replay covers three
hours with one labelled incident (a flood in D1) in its second hour."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.evaluation.scenarios import Label
from infra.clickhouse import connect
from infra.settings import CommonSettings
from infra.topics import merged_topic
from replay.catalog import FINISHED, Catalog, new_record
from replay.cli import RunArgs, Selection
from replay.namespace import Namespace, namespace
from replay.store import create_namespace, replay_settings
from tests.browser.seed import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    MIN_MS,
    ROLLUP_COLUMNS,
    STAGE_COLUMNS,
    Seeded,
    alert_row,
    event_row,
    insert,
)


@dataclass(frozen=True)
class SeededReplay:
    """What the replay holds, for the tests to point at."""

    ns: Namespace
    from_ms: int
    to_ms: int
    incident: Label  # the labelled window
    seek_ms: int  # a moment inside it, after the drain alert turned red
    red_alert: str  # active (red) at seek_ms
    early_alert: str  # raised and cleared before the incident
    red_stage_reason: str  # D1's stage at seek_ms


def seed_replay(settings: CommonSettings, seeded: Seeded) -> SeededReplay:
    """Record the replay ``flood_<tag>`` of the three hours before the last hour."""
    ns = namespace(f"flood_{uuid.uuid4().hex[:8]}")
    to_ms = seeded.now_ms - 60 * MIN_MS
    from_ms = to_ms - 180 * MIN_MS
    incident = Label("area_incident", "D1", from_ms + 60 * MIN_MS, from_ms + 120 * MIN_MS,
                     "rainstorm and river flood")  # fmt: skip
    catalog = Catalog(lambda: connect(settings, database=""), settings.clickhouse_database)
    args = RunArgs(ns.name, Selection(from_ms, to_ms), None, None, False, False)
    record = catalog.write(new_record(args, ""))
    create_namespace(settings, ns)
    inside = replay_settings(settings, ns)
    names = {a.code: a.name for a in seeded.city.level("district")}
    red_reason = f"stage 5: 1 red flood alert in district {names['D1']}"
    _alerts(inside, seeded, from_ms, incident)
    insert(inside, "stage_changes", STAGE_COLUMNS, [
        _stage("D2", from_ms + 10 * MIN_MS, 2, 1,
               f"stage 2: 1 blue traffic alert in district {names['D2']}"),
        _stage("D2", from_ms + 30 * MIN_MS, 1, 2, "stage 1: no active alerts"),
        _stage("D1", incident.start_ms + 5 * MIN_MS, 3, 1,
               f"stage 3: 1 yellow flood alert in district {names['D1']}"),
        _stage("D1", incident.start_ms + 20 * MIN_MS, 5, 3, red_reason),
        _stage("D1", incident.end_ms, 1, 5, "stage 1: no active alerts"),
    ])  # fmt: skip
    events = _rollups(inside, seeded, merged_topic(ns.topic_prefix), (from_ms, to_ms), incident)
    done = record.changed(status=FINISHED, events=events, finished_at=int(time.time()),
                          message=f"{events} events")  # fmt: skip
    catalog.write(done)
    return SeededReplay(ns, from_ms, to_ms, incident, incident.start_ms + 30 * MIN_MS,
                        "rp-drain-d1", "rp-traffic-d2", red_reason)  # fmt: skip


def _alerts(settings: CommonSettings, seeded: Seeded, from_ms: int, incident: Label) -> None:
    """A blue traffic alert in D2 before the incident; in it, a drain alert in D1 raised
    yellow, escalated to red, cleared at its end, and the incident grouping it."""
    locations = seeded.city.grid_locations()

    def where(grid: str) -> tuple[str, str, str, str]:
        loc = locations[grid]
        return loc.city, loc.district, loc.street, loc.grid

    start, end = incident.start_ms, incident.end_ms
    early = alert_row("rp-traffic-d2", WarningLevel.IV, "cleared", where("D2-S1-G01"),
                      "TRF-0009", "occupancy", from_ms + 10 * MIN_MS, version=2,
                      updated_ms=from_ms + 30 * MIN_MS)  # fmt: skip
    drain = alert_row("rp-drain-d1", WarningLevel.III, "active", where("D1-S1-G01"),
                      "WAT-0001", "pipe_level", start + 5 * MIN_MS)  # fmt: skip
    red = alert_row("rp-drain-d1", WarningLevel.I, "cleared", where("D1-S1-G01"), "WAT-0001",
                    "pipe_level", start + 5 * MIN_MS, version=3, updated_ms=end)  # fmt: skip
    flood = alert_row("rp-incident-d1", WarningLevel.II, "cleared", ("CB", "D1", "", ""),
                      "", "", start + 10 * MIN_MS, version=2, subject="incident",
                      updated_ms=end)  # fmt: skip
    insert(settings, "alerts_current", ALERT_COLUMNS, [early, red, flood])
    insert(settings, "alert_events", EVENT_COLUMNS, [
        event_row(early, "raised", from_ms + 10 * MIN_MS),
        event_row(early, "cleared", from_ms + 30 * MIN_MS),
        event_row(drain, "raised", start + 5 * MIN_MS),
        event_row(red, "escalated", start + 20 * MIN_MS),
        event_row(flood, "raised", start + 10 * MIN_MS),
        event_row(red, "cleared", end),
        event_row(flood, "incident_closed", end),
    ])  # fmt: skip


def _stage(code: str, ts_ms: int, stage: int, previous: int, reason: str) -> tuple[Any, ...]:
    return ("district", code, ts_ms // 1000, ts_ms, stage, previous, reason)


def _rollups(
    settings: CommonSettings, seeded: Seeded, topic: str, span: tuple[int, int], incident: Label
) -> int:
    """Per-minute roll-ups of the city and every district: steady air and traffic, and in
    the incident many more drain readings, their level rising; returns the city's events."""
    keys = [("city", "CB")] + [("district", d.code) for d in seeded.city.level("district")]
    rows, events = [], 0
    for minute_ms in range(*span, MIN_MS):
        flooding = incident.start_ms <= minute_ms < incident.end_ms
        for level, key in keys:
            storm = flooding and key in ("CB", incident.area)
            for family, metric, n, mean in (
                ("environment", "pm25", 30, 35.0),
                ("traffic", "occupancy", 20, 25.0),
                ("water", "pipe_level", 40 if storm else 12, 85.0 if storm else 30.0),
            ):
                rows.append((level, key, metric, family, minute_ms // 1000, topic,
                             0, n, mean * n, mean - 5, mean + 5, 1))  # fmt: skip
                events += n if level == "city" else 0
    insert(settings, "rollups_1m", ROLLUP_COLUMNS, rows)
    return events
