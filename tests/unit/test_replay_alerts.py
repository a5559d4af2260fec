"""Backtest arithmetic on hand-made alerts: spans from alert events, A/B matching by key
and overlapping time, and lead times before the static limit."""

from __future__ import annotations

import orjson
import pytest

from detectors.contract.events import Location
from replay.alerts import AlertSpan, Lead, diff, lead_of, spans_of, threshold_of

MIN = 60_000
HERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")


def span(alert_id: str, key: str, opened_min: int, closed_min: int | None, level: int = 1,
         **evidence: object) -> AlertSpan:  # fmt: skip
    closed = None if closed_min is None else closed_min * MIN
    return AlertSpan(alert_id, key, "condition", level, level, opened_min * MIN, closed, HERE,
                     dict(evidence))  # fmt: skip


def event(kind: str, ts_min: int, alert_id: str, rank: int, key: str = "S1:pm25:condition",
          evidence: dict[str, object] | None = None) -> tuple[object, ...]:  # fmt: skip
    return (kind, ts_min * MIN, alert_id, key, "condition", rank, "CB", "D1", "D1-S1",
            "D1-S1-G01", orjson.dumps(evidence or {}).decode())  # fmt: skip


def test_spans_run_from_raised_to_cleared_at_the_gravest_level() -> None:
    rows = [
        event("raised", 10, "a1", 1, evidence={"detector": "forecast", "threshold": 75.0}),
        event("grouped", 10, "a1", 1),
        ("incident_opened", 10 * MIN, "", "", "incident", 1, "CB", "D1", "D1-S1", "", "{}"),
        event("level_changed", 20, "a1", 3),
        event("level_changed", 30, "a1", 2),
        event("cleared", 40, "a1", 2),
        event("raised", 50, "a2", 2, key="S2:no2:condition"),
    ]
    first, second = spans_of(rows)
    assert (first.alert_id, first.opened_ms, first.closed_ms) == ("a1", 10 * MIN, 40 * MIN)
    assert (first.level, first.raised_level, first.detector) == (3, 1, "forecast")
    assert first.evidence["threshold"] == 75.0 and first.location == HERE
    assert (second.key, second.closed_ms, second.level) == ("S2:no2:condition", None, 2)


def test_alerts_of_one_key_that_overlap_in_time_are_the_same_alert() -> None:
    a = [span("a1", "K1", 0, 30), span("a2", "K1", 100, 130), span("a3", "K2", 0, 10)]
    b = [span("b1", "K1", 20, 50), span("b2", "K1", 200, None), span("b3", "K3", 0, 10)]
    d = diff(a, b, horizon_ms=300 * MIN)
    assert [(x.alert_id, y.alert_id) for x, y in d.both] == [("a1", "b1")]
    assert [s.alert_id for s in d.only_a] == ["a3", "a2"]  # by time raised
    assert [s.alert_id for s in d.only_b] == ["b3", "b2"]


def test_each_alert_matches_at_most_one_other() -> None:
    a = [span("a1", "K", 0, 100)]
    b = [span("b1", "K", 10, 20), span("b2", "K", 30, 40)]
    d = diff(a, b, horizon_ms=200 * MIN)
    assert [(x.alert_id, y.alert_id) for x, y in d.both] == [("a1", "b1")]
    assert [s.alert_id for s in d.only_b] == ["b2"]


def test_an_active_alert_lasts_to_the_end_of_the_range() -> None:
    a = [span("a1", "K", 0, None)]
    b = [span("b1", "K", 90, 95)]
    assert len(diff(a, b, horizon_ms=100 * MIN).both) == 1
    assert len(diff(a, b, horizon_ms=80 * MIN).both) == 0


def test_identical_alert_lists_are_all_both() -> None:
    alerts = [span(f"x{i}", f"K{i % 3}", i * 50, i * 50 + 20) for i in range(9)]
    d = diff(alerts, alerts, horizon_ms=1000 * MIN)
    assert len(d.both) == 9 and not d.only_a and not d.only_b


def test_empty_sides() -> None:
    d = diff([], [span("b1", "K", 0, 1)], horizon_ms=10 * MIN)
    assert not d.both and not d.only_a and len(d.only_b) == 1


@pytest.mark.parametrize(
    ("evidence", "crossing_min", "expected"),
    [
        ({"detector": "static", "threshold": 115.0, "value": 120.0}, None, Lead(0, "limit")),
        ({"detector": "rainstorm", "threshold": 50.0}, None, Lead(0, "limit")),
        ({"detector": "forecast", "threshold": 4.0, "value": 3.6}, 45, Lead(35 * MIN, "crossing")),
        ({"detector": "forecast", "threshold": 4.0, "value": 3.6, "forecast_ts_ms": 70 * MIN},
         None, Lead(60 * MIN, "forecast")),
        ({"detector": "ewma", "threshold": 4.0, "value": 3.6}, None, Lead(None, "never")),
        ({"detector": "ewma", "threshold": None}, None, Lead(None, "none")),
        ({"detector": "robust_z"}, None, Lead(None, "none")),
    ],
)  # fmt: skip
def test_lead_before_the_limit(
    evidence: dict[str, object], crossing_min: int | None, expected: Lead
) -> None:
    alert = span("a", "K", 10, None, **evidence)
    crossing = None if crossing_min is None else crossing_min * MIN
    assert lead_of(alert, crossing) == expected


def test_a_limit_taking_over_an_alert_gives_its_lead() -> None:
    rows = [
        event("raised", 10, "a1", 1, evidence={"detector": "seasonal", "threshold": None}),
        event("level_changed", 25, "a1", 2, evidence={"detector": "robust_z"}),
        event("level_changed", 55, "a1", 3, evidence={"detector": "static", "threshold": 4.0}),
        event("raised", 60, "a2", 4, key="K2", evidence={"detector": "rainstorm"}),
    ]
    taken_over, by_limit = spans_of(rows)
    assert taken_over.limit_ms == 55 * MIN
    assert lead_of(taken_over, crossing_ms=None) == Lead(45 * MIN, "limit")
    assert lead_of(by_limit, crossing_ms=None) == Lead(0, "limit")


def test_a_sensor_fault_has_no_lead() -> None:
    fault = AlertSpan("f", "RIV-01:water_level:fault", "fault", 1, 1, 0, None, HERE,
                      {"detector": "stuck", "metric": "water_level", "threshold": 4.0})  # fmt: skip
    assert lead_of(fault, crossing_ms=10 * MIN) == Lead(None, "none")


def test_threshold_direction_follows_the_value() -> None:
    assert threshold_of(span("a", "K", 0, None, threshold=49.8, value=50.0)) == (49.8, False)
    assert threshold_of(span("a", "K", 0, None, threshold=4.0, value=3.9)) == (4.0, True)
    assert threshold_of(span("a", "K", 0, None, threshold=True)) is None


@pytest.mark.parametrize(
    ("evidence", "site", "expected"),
    [
        ({"metric": "pm25", "value": 60.0}, None, (75.0, True)),  # AQI 100 (HJ 633)
        ({"metric": "water_level", "value": 3.2}, {"warning": 4.0, "guaranteed": 5.0},
         (pytest.approx(3.7), True)),  # nearing the gauge's warning level
        ({"metric": "water_level", "value": 3.2}, None, None),  # a gauge without references
        ({"metric": "main_pressure", "value": 0.3}, None, (0.20, False)),
        ({"metric": "frequency", "value": 49.7}, None, (pytest.approx(49.8), False)),
        ({"metric": "humidity", "value": 99.0}, None, None),
    ],
)  # fmt: skip
def test_without_a_threshold_in_evidence_the_standard_limit_is_used(
    evidence: dict[str, object], site: dict[str, float] | None, expected: object
) -> None:
    alert = span("a", "K", 0, None, detector="seasonal", **evidence)
    assert threshold_of(alert, site) == expected
    lead = lead_of(alert, crossing_ms=30 * MIN, site_limits=site)
    assert lead == (Lead(None, "none") if expected is None else Lead(30 * MIN, "crossing"))
