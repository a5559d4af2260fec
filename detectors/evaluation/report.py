"""Tables of an evaluation, and the issue's targets checked over all scenarios."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from detectors.evaluation.evaluate import ScenarioReport, Score

F1_TARGET = 0.9
LEAD_TARGET_MIN = 5.0
FALSE_PER_SENSOR_WEEK_TARGET = 1.0
HEADER = (
    f"  {'detector':<19} {'alerts':>6} {'TP':>4} {'FP':>4} {'precision':>9} {'recall':>6} "
    f"{'F1':>5} {'false/sensor-day':>16} {'lead median (min)':>17}"
)


def _lead(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def row_line(row: Score) -> str:
    return (
        f"  {row.detector:<19} {row.detections:>6} {row.true_positive:>4} "
        f"{row.false_positive:>4} {row.precision:>9.2f} {row.recall:>6.2f} {row.f1:>5.2f} "
        f"{row.false_per_sensor_day:>16.3f} {_lead(row.leads_min):>17}"
    )


def scenario_table(report: ScenarioReport) -> str:
    """One scenario: its header line and a row per detector."""
    area = sum(1 for label in report.labels if label.kind == "area_incident")
    faults = len(report.labels) - area
    lines = [
        f"== {report.name}: {report.title}",
        f"   {report.readings:,} readings, {report.sensors} sensors, {report.scored_days:.2f} "
        f"scored days, {area} area-incident and {faults} sensor-fault windows",
        HEADER,
    ]
    lines += [row_line(row) for row in report.rows]
    if report.faults_as_incidents:
        lines.append(f"  !! {report.faults_as_incidents} sensor faults raised as area incidents")
    return "\n".join(lines)


@dataclass(frozen=True)
class Targets:
    """The issue's four targets over all scenarios."""

    f1: float
    precision: float
    recall: float
    windows: int
    detected: int
    incidents: int
    false_incidents: int
    leads_min: tuple[float, ...]
    baseline_false: int
    baseline_sensor_weeks: float
    faults_as_incidents: int

    @property
    def lead_median(self) -> float | None:
        return statistics.median(self.leads_min) if self.leads_min else None

    @property
    def false_per_sensor_week(self) -> float:
        return (
            self.baseline_false / self.baseline_sensor_weeks if self.baseline_sensor_weeks else 0.0
        )


def targets(reports: Sequence[ScenarioReport], baseline: str = "baseline") -> Targets:
    """Pool the system rows of every scenario and check them against the targets."""
    incidents = [r.rows[0] for r in reports]
    found = sum(s.detections for s in incidents)
    true = sum(s.true_positive for s in incidents)
    windows = sum(s.windows for s in incidents)
    detected = sum(s.detected for s in incidents)
    precision = true / found if found else 1.0
    recall = detected / windows if windows else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    quiet = [r for r in reports if r.name == baseline]
    return Targets(
        f1=f1,
        precision=precision,
        recall=recall,
        windows=windows,
        detected=detected,
        incidents=found,
        false_incidents=found - true,
        leads_min=tuple(lead for s in incidents for lead in s.static_leads_min),
        baseline_false=sum(r.rows[1].false_positive for r in quiet),
        baseline_sensor_weeks=sum(r.sensors * r.scored_days / 7 for r in quiet),
        faults_as_incidents=sum(r.faults_as_incidents for r in reports),
    )


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def targets_table(t: Targets) -> str:
    """The summary an engineer reads first."""
    leads = ", ".join(f"{x:.1f}" for x in sorted(t.leads_min))
    median = t.lead_median
    lead_met = median is not None and median >= LEAD_TARGET_MIN
    rate = t.false_per_sensor_week
    lines = [
        "== targets over all scenarios",
        f"  area incidents F1 {t.f1:.2f} (precision {t.precision:.2f}, recall {t.recall:.2f}: "
        f"{t.detected}/{t.windows} windows, {t.false_incidents} false of {t.incidents} incidents)"
        f"  target >= {F1_TARGET}: {_verdict(t.f1 >= F1_TARGET)}",
        f"  median lead before the static limit {median if median is None else round(median, 1)} "
        f"min over {len(t.leads_min)} windows [{leads}]"
        f"  target >= {LEAD_TARGET_MIN:g} min: {_verdict(lead_met)}",
        f"  false alerts on the fault-free baseline: {t.baseline_false} in "
        f"{t.baseline_sensor_weeks:.1f} sensor-weeks = {rate:.2f} per sensor-week"
        f"  target <= {FALSE_PER_SENSOR_WEEK_TARGET:g}: "
        f"{_verdict(rate <= FALSE_PER_SENSOR_WEEK_TARGET)}",
        f"  sensor faults raised as area incidents: {t.faults_as_incidents}"
        f"  target 0: {_verdict(t.faults_as_incidents == 0)}",
    ]
    return "\n".join(lines)
