"""``citybrain-replay backtest``: the same range replayed under two detector
configurations (replays NAME_a and NAME_b), their alerts compared, a Markdown report.

Both replays are checked before either starts, so bad input writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from infra.clickhouse import connect
from infra.settings import ReplaySettings
from replay.alerts import (
    ALERT_COLUMNS,
    LIMIT_DETECTORS,
    AlertSpan,
    Lead,
    lead_of,
    spans_of,
    threshold_of,
)
from replay.cli import BacktestArgs, RunArgs, Selection
from replay.markdown import render
from replay.progress import PROG, RunSummary
from replay.report import Backtest, ScenarioInfo, Side
from replay.runner import Refused, execute, plan


def load_scenario(path: Path, end_ms: int | None = None) -> tuple[ScenarioInfo, int, int]:
    """A scenario's labels, sensor limits and its range [start, end) in epoch ms; with
    ``end_ms``, as played to end then."""
    from detectors.evaluation.scenarios import (
        synthesize,  # NumPy and the detectors: only when asked
    )

    try:
        doc = yaml.safe_load(path.read_text())
        synthesis = synthesize(doc, seed=0)  # labels and range do not depend on the seed
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise Refused(f"--scenario {path}: not a scenario ({type(exc).__name__}: {exc})") from None
    limits = {site.source_id: dict(site.limits) for site in synthesis.sites if site.limits}
    info = ScenarioInfo(synthesis.name, synthesis.title, synthesis.scored_from_ms,
                        synthesis.labels, limits)  # fmt: skip
    shift = 0 if end_ms is None else end_ms - synthesis.end_ms
    return info.shifted(shift), synthesis.start_ms + shift, synthesis.end_ms + shift


def _runs(args: BacktestArgs, from_ms: int, to_ms: int) -> tuple[RunArgs, RunArgs]:
    selection = Selection(from_ms, to_ms, args.districts, args.families, args.source)
    a = RunArgs(f"{args.name}_a", selection, args.speed, args.config_a, False, False)
    return a, replace(a, name=f"{args.name}_b", detector_config=args.config_b)


def alert_spans(settings: ReplaySettings, database: str) -> list[AlertSpan]:
    client = connect(settings, database="")
    try:
        rows = client.execute(
            f"SELECT {ALERT_COLUMNS} FROM {database}.alert_events FINAL "
            "WHERE alert_id != '' ORDER BY ts_ms, event_id"
        )
    finally:
        client.disconnect()
    return spans_of(rows)


def leads(
    settings: ReplaySettings,
    database: str,
    spans: list[AlertSpan],
    site_limits: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Lead]:
    """Each alert's lead: when a limit rule took it over, else the first stored reading of
    its series (or, for an area alert, of its area) beyond its threshold."""
    limits = site_limits or {}
    client = connect(settings, database="")
    try:
        return {
            s.alert_id: lead_of(s, _crossing(client, database, s, limits.get(_source(s))),
                                limits.get(_source(s)))
            for s in spans
        }  # fmt: skip
    finally:
        client.disconnect()


def _source(span: AlertSpan) -> str:
    return str(span.evidence.get("source_id", ""))


def _crossing(
    client: Any, database: str, span: AlertSpan, site_limits: Mapping[str, float] | None
) -> int | None:
    found = threshold_of(span, site_limits)
    if found is None or span.limit_ms is not None or span.detector in LIMIT_DETECTORS:
        return None  # no threshold to cross, or the limit's own time is known
    threshold, upward = found
    where = _source(span)  # a sensor, or the area of an area alert
    n, first = client.execute(
        f"SELECT count(), min(ts_ms) FROM {database}.events_raw FINAL "
        "WHERE metric = %(metric)s AND ts_ms >= %(after)s AND (source_id = %(where)s OR "
        "grid = %(where)s OR street = %(where)s OR district = %(where)s) AND "
        + ("value >= %(threshold)s" if upward else "value <= %(threshold)s"),
        {"where": where, "metric": str(span.evidence.get("metric", "")),
         "after": span.opened_ms, "threshold": threshold},
    )[0]  # fmt: skip
    return int(first) if n else None


def run_backtest(
    args: BacktestArgs, settings: ReplaySettings, err: TextIO
) -> tuple[Backtest, RunSummary, RunSummary]:
    """Replay the range under A and under B, then write the report."""
    scenario, from_ms, to_ms = None, args.from_ms, args.to_ms
    if args.scenario is not None:
        scenario, start, end = load_scenario(args.scenario, args.scenario_end_ms)
        from_ms, to_ms = (start, end) if from_ms is None else (from_ms, to_ms)
    assert from_ms is not None and to_ms is not None
    if not args.report.resolve().parent.is_dir():
        raise Refused(f"--report {args.report}: no such directory")
    run_a, run_b = _runs(args, from_ms, to_ms)
    plan_a, plan_b = plan(run_a, settings), plan(run_b, settings)
    summaries = []
    for checked in (plan_a, plan_b):
        err.write(f"{PROG}: backtest: replay {checked.ns.name} with "
                  f"{checked.args.detector_config}\n")  # fmt: skip
        summaries.append(execute(checked, settings, err))
    sides = []
    for tag, checked in (("A", plan_a), ("B", plan_b)):
        spans = alert_spans(settings, checked.ns.database)
        limits = scenario.limits if scenario is not None else None
        sides.append(Side(tag, checked.ns.name, str(checked.args.detector_config), spans,
                          leads(settings, checked.ns.database, spans, limits)))  # fmt: skip
    backtest = Backtest(
        name=args.name, from_ms=from_ms, to_ms=to_ms, filters=_filters(args),
        source=args.source, speed="max" if args.speed is None else f"{args.speed:g}x",
        a=sides[0], b=sides[1], tolerance_ms=int(args.tolerance_min * 60_000),
        scenario=scenario,
    )  # fmt: skip
    args.report.write_text(render(backtest))
    return backtest, summaries[0], summaries[1]


def _filters(args: BacktestArgs) -> str:
    parts = []
    if args.districts:
        parts.append("districts " + ",".join(args.districts))
    if args.families:
        parts.append("families " + ",".join(f.value for f in args.families))
    return ", ".join(parts)
