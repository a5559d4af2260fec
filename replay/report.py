"""The backtest report: two configurations' alerts over one range, side by side, and the
labelled incidents of a scenario each one caught or missed. Pure: data in, Markdown out.

An alert catches a labelled window as in the offline evaluation
(:func:`detectors.evaluation.evaluate.match`): it is raised inside the window, or at most the
tolerance before it, somewhere in the window's area.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.evaluation.evaluate import Detection, match
from detectors.evaluation.scenarios import Label
from replay.alerts import AlertSpan, Diff, Lead, diff


@dataclass(frozen=True)
class Side:
    """One configuration's replay and its alerts, with each alert's lead by alert id."""

    tag: str
    replay: str
    config_file: str
    spans: Sequence[AlertSpan]
    leads: Mapping[str, Lead] = field(default_factory=dict)

    def lead(self, span: AlertSpan) -> str:
        found = self.leads.get(span.alert_id)
        return found.text() if found is not None else "-"


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario's labelled windows, from when alerts count (after the warm-up), and its
    sensors' reference limits (a gauge's warning level...) by source id."""

    name: str
    title: str
    scored_from_ms: int
    labels: tuple[Label, ...]
    limits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def shifted(self, shift_ms: int) -> ScenarioInfo:
        """The scenario as played ``shift_ms`` later (the simulator moves a scenario to end
        when it is played): every labelled window and the warm-up move with it."""
        labels = tuple(
            replace(lb, start_ms=lb.start_ms + shift_ms, end_ms=lb.end_ms + shift_ms)
            for lb in self.labels
        )
        return replace(self, scored_from_ms=self.scored_from_ms + shift_ms, labels=labels)


@dataclass(frozen=True)
class Backtest:
    """Everything the report shows."""

    name: str
    from_ms: int
    to_ms: int
    filters: str
    source: str
    speed: str
    a: Side
    b: Side
    tolerance_ms: int = 30 * 60_000
    scenario: ScenarioInfo | None = None

    def diff(self) -> Diff:
        return diff(self.a.spans, self.b.spans, self.to_ms)


@dataclass(frozen=True)
class LabelOutcome:
    """Which alerts of each side caught one labelled window."""

    label: Label
    caught_a: tuple[AlertSpan, ...]
    caught_b: tuple[AlertSpan, ...]


def _detections(spans: Sequence[AlertSpan]) -> list[Detection]:
    return [Detection(s.opened_ms, s.location, s.alert_id) for s in spans]


def caught(
    spans: Sequence[AlertSpan], labels: Sequence[Label], tolerance_ms: int
) -> dict[int, list[AlertSpan]]:
    """Alerts per label index (key -1: alerts in no labelled window)."""
    by_id = {s.alert_id: s for s in spans}
    matched = match(_detections(spans), labels, tolerance_ms)
    return {i: [by_id[d.source_id] for d in found] for i, found in matched.items()}


def outcomes(backtest: Backtest) -> list[LabelOutcome]:
    """Per labelled window of the scenario, the alerts of A and of B that caught it."""
    if backtest.scenario is None:
        return []
    labels = backtest.scenario.labels
    a = caught(backtest.a.spans, labels, backtest.tolerance_ms)
    b = caught(backtest.b.spans, labels, backtest.tolerance_ms)
    return [LabelOutcome(lb, tuple(a.get(i, ())), tuple(b.get(i, ())))
            for i, lb in enumerate(labels)]  # fmt: skip


def false_alarms(spans: Sequence[AlertSpan], scenario: ScenarioInfo, tolerance_ms: int) -> int:
    """Alerts raised after the warm-up that catch no labelled window."""
    scored = [s for s in spans if s.opened_ms >= scenario.scored_from_ms]
    return len(caught(scored, scenario.labels, tolerance_ms).get(-1, []))


def when(ms: int) -> str:
    """UTC time of epoch ms, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def level(rank: int) -> str:
    """A warning level as operators name it.

    >>> level(3)
    'II orange'
    """
    return f"{WarningLevel(rank).roman} {WarningLevel(rank).colour}" if rank else "-"


def levels_line(spans: Sequence[AlertSpan]) -> str:
    counts = Counter(s.level for s in spans)
    return ", ".join(f"{WarningLevel(r).roman} {counts.get(r, 0)}" for r in (4, 3, 2, 1))


def summary_rows(bt: Backtest, d: Diff) -> list[tuple[str, str, str]]:
    rows = [
        ("alerts raised", str(len(bt.a.spans)), str(len(bt.b.spans))),
        ("by level (I, II, III, IV)", levels_line(bt.a.spans), levels_line(bt.b.spans)),
        ("raised only here", str(len(d.only_a)), str(len(d.only_b))),
        ("raised by both", str(len(d.both)), str(len(d.both))),
    ]
    if bt.scenario is not None:
        found = outcomes(bt)
        total = len(found)
        rows.append(("labelled windows caught",
                     f"{sum(1 for o in found if o.caught_a)}/{total}",
                     f"{sum(1 for o in found if o.caught_b)}/{total}"))  # fmt: skip
        rows.append(("alerts in no labelled window (after warm-up)",
                     str(false_alarms(bt.a.spans, bt.scenario, bt.tolerance_ms)),
                     str(false_alarms(bt.b.spans, bt.scenario, bt.tolerance_ms))))  # fmt: skip
    return rows


def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table (``|`` in cells escaped)."""

    def cells(row: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    return [cells(head), "|" + "|".join("---" for _ in head) + "|", *map(cells, rows)]
