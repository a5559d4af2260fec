"""Rows of the alert tables from the alerting step's events: the audit trail
(``alert_events``), the latest state of each alert and incident (``alerts_current``) and
the operational stage of each area (``stage_changes``). Each builds tuples in the column
order of its spec in detectors.contract.tables (tests/unit/test_table_rows.py checks it)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from detectors.alerting.stages import (
    NORMAL,
    StagedAlert,
    StageFacts,
    area_stage,
    counts,
    stored_reason,
)
from detectors.alerting.types import AlertEvent
from detectors.contract.alerts import AlertStatus, Subject, status_after_kind
from detectors.contract.levels import WarningLevel
from detectors.contract.places import LEVELS, Location
from streams.alerting import AlertingStage, StageOutput


def evidence_text(e: AlertEvent) -> str:
    """The evidence column: the event's evidence, plus the id of the silence that muted it
    (``silence_id``) when one did, so every reader of the alert tables can tell."""
    evidence = {**e.evidence, "silence_id": e.silence_id} if e.silence_id else e.evidence
    return orjson.dumps(evidence).decode()


def event_rows(out: StageOutput, created_ms: int) -> list[tuple[object, ...]]:
    """Rows of ``alert_events`` (in the spec's column order), one per event, made at
    ``created_ms`` (the wall clock)."""
    rows: list[tuple[object, ...]] = []
    for e in out.events:
        actor, note = out.actors.get(e.event_id, ("", ""))
        loc = e.location
        rows.append((
            e.event_id, e.ts_ms // 1000, e.ts_ms, e.kind, e.alert_id, e.incident_id, e.key,
            e.category, e.level.roman, int(e.level), e.tier, int(e.notify), e.reason,
            loc.city, loc.district, loc.street, loc.grid, e.scope,
            evidence_text(e), actor, note, created_ms,
        ))  # fmt: skip
    return rows


def current_rows(
    stage: AlertingStage, events: Sequence[AlertEvent], created_ms: int
) -> list[tuple[object, ...]]:
    """Rows of ``alerts_current`` (in the spec's column order): one per event, carrying the
    subject's state after it (highest version wins), made at ``created_ms``."""
    rows: list[tuple[object, ...]] = []
    for e in events:
        subject_id = e.alert_id or e.incident_id
        subject = Subject.ALERT if e.alert_id else Subject.INCIDENT
        meta = stage.meta_of(subject_id)
        meta.setdefault("opened_ms", e.ts_ms)
        status = status_after_kind(e.kind, acknowledged=bool(meta.get("acknowledged_by")))
        if status == AlertStatus.ACKNOWLEDGED and not meta.get("acknowledged_by"):
            meta["acknowledged_by"] = e.reason.removeprefix("by ")
        stage.version += 1
        loc = e.location
        rows.append((
            subject_id, subject, e.incident_id, e.key, e.category, e.level.roman, int(e.level),
            e.tier, status, int(meta["opened_ms"]), e.ts_ms, stage.version,
            meta["acknowledged_by"], meta["assignee"], int(e.notify), e.reason,
            loc.city, loc.district, loc.street, loc.grid, e.scope,
            str(e.evidence.get("source_id", "")), str(e.evidence.get("metric", "")),
            evidence_text(e), created_ms,
        ))  # fmt: skip
    return rows


def area_stages(stage: AlertingStage) -> dict[str, tuple[int, str]]:
    """The stage (2 to 5, by :mod:`detectors.alerting.stages`) and its reason of every
    area, by ``"level:code"``, where an active alert counts (a silenced one does not)."""
    found: dict[str, list[StagedAlert]] = {}
    for alert in stage.engine.active.values():
        staged = StagedAlert(WarningLevel(alert.level), alert.category, alert.metric)
        if alert.silence_id or not counts(staged):
            continue  # says nothing of its area: skipped before the walk up its levels
        where = Location(*alert.location)
        for level in LEVELS:
            if where.code(level):
                found.setdefault(f"{level}:{where.code(level)}", []).append(staged)
    stages: dict[str, tuple[int, str]] = {}
    for area, alerts in found.items():
        facts = area_stage(alerts)
        if facts.stage > NORMAL:
            stages[area] = (facts.stage, stored_reason(facts, area.split(":", 1)[1]))
    return stages


def stage_rows(stage: AlertingStage, now_ms: int) -> list[tuple[object, ...]]:
    """Rows of ``stage_changes`` for areas whose stage changed; remembers the new stages."""
    current = area_stages(stage)
    rows: list[tuple[object, ...]] = []
    for area in sorted(set(current) | {a for a, s in stage.stages.items() if s > NORMAL}):
        new, reason = current.get(area, (NORMAL, stored_reason(StageFacts(NORMAL), "")))
        old = stage.stages.get(area, NORMAL)
        if new != old:
            level, code = area.split(":", 1)
            rows.append((level, code, now_ms // 1000, now_ms, new, old, reason))
            stage.stages[area] = new
    return rows


def silence_rows(stage: AlertingStage, out: StageOutput) -> list[tuple[object, ...]]:
    """Rows of ``silences`` (in the spec's column order), one per change."""
    rows: list[tuple[object, ...]] = []
    for change in out.silences:
        s = change.silence
        stage.version += 1
        rows.append((
            s.silence_id, stage.version, change.status, change.ts_ms // 1000, change.ts_ms,
            s.scope, s.value, s.family, s.metric, s.district, s.start_ms, s.end_ms, s.reason,
            s.author, s.created_ms, change.action_id, change.actor, change.role, change.comment,
        ))  # fmt: skip
    return rows
