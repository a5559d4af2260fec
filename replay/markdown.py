"""The backtest report as Markdown: pure, a :class:`replay.report.Backtest` in, text out."""

from __future__ import annotations

from collections.abc import Sequence

from replay.alerts import AlertSpan
from replay.report import (
    Backtest,
    LabelOutcome,
    Side,
    level,
    outcomes,
    summary_rows,
    table,
    when,
)

MAX_ROWS = 200  # per table: a report stays readable; the replays keep every alert


def _minutes(ms: int) -> str:
    return f"{ms / 60_000:+.0f} min"


def _where(span: AlertSpan) -> str:
    return span.location.grid or span.location.street or span.location.district or "-"


def _alert_rows(spans: Sequence[AlertSpan], side: Side) -> list[tuple[str, ...]]:
    return [
        (s.key, s.category, level(s.level), when(s.opened_ms),
         when(s.closed_ms) if s.closed_ms is not None else "active", _where(s),
         s.detector or "-", side.lead(s))
        for s in spans[:MAX_ROWS]
    ]  # fmt: skip


def _section(title: str, spans: Sequence[AlertSpan], side: Side) -> list[str]:
    lines = [f"## {title} ({len(spans)})", ""]
    if not spans:
        return [*lines, "None.", ""]
    head = ("key", "category", "level", "raised (UTC)", "cleared", "where", "detector",
            "lead before the limit")  # fmt: skip
    lines += table(head, _alert_rows(spans, side))
    if len(spans) > MAX_ROWS:
        lines.append(f"\n... and {len(spans) - MAX_ROWS} more (see replay {side.replay}).")
    return [*lines, ""]


def _both_section(bt: Backtest, pairs: Sequence[tuple[AlertSpan, AlertSpan]]) -> list[str]:
    lines = [f"## Raised by both ({len(pairs)})", ""]
    if not pairs:
        return [*lines, "None.", ""]
    head = ("key", "level A", "level B", "raised A (UTC)", "B relative to A", "lead A",
            "lead B")  # fmt: skip
    rows = [
        (a.key, level(a.level), level(b.level), when(a.opened_ms),
         _minutes(b.opened_ms - a.opened_ms), bt.a.lead(a), bt.b.lead(b))
        for a, b in pairs[:MAX_ROWS]
    ]  # fmt: skip
    lines += table(head, rows)
    if len(pairs) > MAX_ROWS:
        lines.append(f"\n... and {len(pairs) - MAX_ROWS} more.")
    return [*lines, ""]


def _caught(found: Sequence[AlertSpan], start_ms: int) -> str:
    if not found:
        return "missed"
    first = min(found, key=lambda s: s.opened_ms)
    offset_min = round((first.opened_ms - start_ms) / 60_000)
    at = f"{-offset_min} min before it opened" if offset_min < 0 else f"{offset_min} min into it"
    alerts = f"{len(found)} alert{'s' if len(found) > 1 else ''}"
    return f"caught {at}; {alerts}, gravest {level(max(s.level for s in found))}"


def _scenario_section(bt: Backtest, found: Sequence[LabelOutcome]) -> list[str]:
    assert bt.scenario is not None
    title = f"## Labelled windows of scenario {bt.scenario.name}"
    lines = [title, "", bt.scenario.title, ""] if bt.scenario.title else [title, ""]
    if not found:
        return [*lines, "The scenario labels no window (every alert in it is a false alarm).", ""]
    head = ("window", "kind", "area", "from (UTC)", "to (UTC)", "A", "B")
    rows = [
        (o.label.name or "-", o.label.kind, o.label.area, when(o.label.start_ms),
         when(o.label.end_ms), _caught(o.caught_a, o.label.start_ms),
         _caught(o.caught_b, o.label.start_ms))
        for o in found
    ]  # fmt: skip
    return [*lines, *table(head, rows), ""]


def render(bt: Backtest) -> str:
    """The whole report."""
    d = bt.diff()
    lines = [
        f"# Backtest {bt.name}",
        "",
        f"- range: {when(bt.from_ms)} to {when(bt.to_ms)} UTC, from {bt.source}, "
        f"speed {bt.speed}{'; ' + bt.filters if bt.filters else ''}",
        f"- A: `{bt.a.config_file or 'default configuration'}` (replay `{bt.a.replay}`)",
        f"- B: `{bt.b.config_file or 'default configuration'}` (replay `{bt.b.replay}`)",
        "",
        "## Summary",
        "",
        *table(("", "A", "B"), summary_rows(bt, d)),
        "",
        *_section("Raised only by A", d.only_a, bt.a),
        *_section("Raised only by B", d.only_b, bt.b),
        *_both_section(bt, d.both),
    ]
    if bt.scenario is not None:
        lines += _scenario_section(bt, outcomes(bt))
    lines += [
        "## How to read this",
        "",
        "- Two alerts are the same when they have the same key and their times overlap "
        "(raised to cleared, or to the end of the range while still active).",
        "- Level: the gravest level the alert reached (I red, II orange, III yellow, IV blue).",
        "- Lead before the limit: how long before a limit rule (static limit, rainstorm "
        "warning) took the alert over, 0 when it raised it (limit); else how long before a "
        "reading first crossed the threshold in the alert's evidence (crossing), or before "
        "the forecast crossing time (forecast); '-' when no limit fired and the evidence "
        "names no threshold.",
        f"- A window is caught by an alert raised in its area at most "
        f"{bt.tolerance_ms // 60_000} min before it opens or while it lasts.",
        "",
    ]
    return "\n".join(lines)
