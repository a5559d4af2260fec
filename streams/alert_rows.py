"""Rows of the alert tables from the alerting step's events: the audit trail
(``alert_events``), the latest state of each alert and incident (``alerts_current``) and
the operational stage of each area (``stage_changes``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import orjson

from detectors.alerting.types import AlertEvent
from detectors.contract.events import LEVELS, Location
from streams.alerting import AlertingStage, StageOutput

EVENT_COLUMNS = (
    "event_id, ts, ts_ms, kind, alert_id, incident_id, key, category, level, level_rank, "
    "tier, notify, reason, city, district, street, grid, scope, evidence, actor, comment"
)
CURRENT_COLUMNS = (
    "alert_id, subject, incident_id, key, category, level, level_rank, tier, status, "
    "opened_ms, updated_ms, version, acknowledged_by, assignee, notify, reason, city, "
    "district, street, grid, scope, source_id, metric, evidence"
)
STAGE_COLUMNS = "level, code, ts, ts_ms, stage, previous, reason"
STATUS = {"cleared": "cleared", "incident_closed": "cleared", "resolved": "resolved",
          "acknowledged": "acknowledged"}  # fmt: skip


def event_rows(out: StageOutput) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for e in out.events:
        actor, note = out.actors.get(e.event_id, ("", ""))
        loc = e.location
        rows.append((
            e.event_id, e.ts_ms // 1000, e.ts_ms, e.kind, e.alert_id, e.incident_id, e.key,
            e.category, e.level.roman, int(e.level), e.tier, int(e.notify), e.reason,
            loc.city, loc.district, loc.street, loc.grid, e.scope,
            orjson.dumps(e.evidence).decode(), actor, note,
        ))  # fmt: skip
    return rows


def current_rows(stage: AlertingStage, events: Sequence[AlertEvent]) -> list[tuple[object, ...]]:
    """One row per event, carrying the subject's state after it (highest version wins)."""
    rows: list[tuple[object, ...]] = []
    for e in events:
        subject_id = e.alert_id or e.incident_id
        subject = "alert" if e.alert_id else "incident"
        meta = stage.meta_of(subject_id)
        meta.setdefault("opened_ms", e.ts_ms)
        status = STATUS.get(e.kind, "acknowledged" if meta.get("acknowledged_by") else "active")
        if status == "acknowledged" and not meta.get("acknowledged_by"):
            meta["acknowledged_by"] = e.reason.removeprefix("by ")
        stage.version += 1
        loc = e.location
        rows.append((
            subject_id, subject, e.incident_id, e.key, e.category, e.level.roman, int(e.level),
            e.tier, status, int(meta["opened_ms"]), e.ts_ms, stage.version,
            meta["acknowledged_by"], meta["assignee"], int(e.notify), e.reason,
            loc.city, loc.district, loc.street, loc.grid, e.scope,
            str(e.evidence.get("source_id", "")), str(e.evidence.get("metric", "")),
            orjson.dumps(e.evidence).decode(),
        ))  # fmt: skip
    return rows


def area_stages(stage: AlertingStage) -> dict[str, tuple[int, str]]:
    """Stage 1 (normal) to 5 of every area with an active condition or area alert:
    2 = only blue (IV), 3 = yellow (III), 4 = orange (II), 5 = red (I)."""
    worst: dict[str, list[tuple[int, str]]] = {}
    for alert in stage.engine.active.values():
        if alert.category == "fault":
            continue  # a broken sensor is not a situation in the area
        where = Location(*alert.location)
        for level in LEVELS:
            if where.code(level):
                worst.setdefault(f"{level}:{where.code(level)}", []).append(
                    (alert.level, alert.metric)
                )
    stages = {}
    for area, found in worst.items():
        top = max(level for level, _ in found)
        metric, n = Counter(m for lv, m in found if lv == top).most_common(1)[0]
        name = area.split(":", 1)[1]
        stages[area] = (1 + top, f"stage {1 + top}: {n} {metric} alert{'s' * (n > 1)} in {name}")
    return stages


def stage_rows(stage: AlertingStage, now_ms: int) -> list[tuple[object, ...]]:
    """Rows for areas whose stage changed; remembers the new stages."""
    current = area_stages(stage)
    rows: list[tuple[object, ...]] = []
    for area in sorted(set(current) | {a for a, s in stage.stages.items() if s > 1}):
        new, reason = current.get(area, (1, "stage 1: no active alerts"))
        old = stage.stages.get(area, 1)
        if new != old:
            level, code = area.split(":", 1)
            rows.append((level, code, now_ms // 1000, now_ms, new, old, reason))
            stage.stages[area] = new
    return rows
