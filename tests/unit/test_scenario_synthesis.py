"""Scenarios are data: they load, synthesize deterministically and carry their labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from detectors.contract.events import METRICS
from detectors.evaluation.scenarios import in_area, location_of, synthesize

FOLDER = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = {
    p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(FOLDER.glob("*.yaml"))
}
REQUIRED = {
    "flood", "air_pollution", "traffic_incident", "power_feeder", "water_main",
    "sensor_faults", "case_surge", "baseline",
}  # fmt: skip


def test_the_issue_s_scenarios_are_all_there() -> None:
    assert set(SCENARIOS) >= REQUIRED
    assert all(SCENARIOS[name]["name"] == name for name in SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_synthesis_is_deterministic_and_time_ordered(name: str) -> None:
    scenario = SCENARIOS[name]
    first, again, other = synthesize(scenario, 3), synthesize(scenario, 3), synthesize(scenario, 4)
    assert np.array_equal(first.ts_ms, again.ts_ms) and np.array_equal(first.values, again.values)
    same_shape = len(first.ts_ms) == len(other.ts_ms)
    assert not (
        same_shape
        and np.array_equal(first.values, other.values)
        and np.array_equal(first.ts_ms, other.ts_ms)
    )
    assert np.all(np.diff(first.ts_ms) >= 0)
    assert first.start_ms <= first.ts_ms.min() and first.ts_ms.max() < first.end_ms


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_readings_are_valid_for_their_metric_and_labels_lie_in_the_scored_time(name: str) -> None:
    synthesis = synthesize(SCENARIOS[name], 1)
    for index, (_, metric) in enumerate(synthesis.series):
        spec = METRICS[metric]
        values = synthesis.values[synthesis.series_index == index]
        assert len(values) == 0 or values.min() >= spec.low and values.max() <= spec.high, metric
    places = [site.location for site in synthesis.sites]
    for label in synthesis.labels:
        assert label.kind in ("area_incident", "sensor_fault")
        assert synthesis.scored_from_ms <= label.start_ms < label.end_ms <= synthesis.end_ms
        assert any(in_area(where, label.area) for where in places), label


def test_incident_scenarios_have_area_labels_and_the_fault_scenario_only_fault_labels() -> None:
    for name in REQUIRED - {"sensor_faults", "baseline"}:
        assert any(lb.kind == "area_incident" for lb in synthesize(SCENARIOS[name], 1).labels), name
    faults = synthesize(SCENARIOS["sensor_faults"], 1).labels
    assert {lb.kind for lb in faults} == {"sensor_fault"} and all(lb.sources for lb in faults)
    names = " ".join(lb.name for lb in faults)
    assert all(word in names for word in ("stuck", "drifting", "silent"))


def test_the_baseline_is_fault_free_and_long_enough() -> None:
    synthesis = synthesize(SCENARIOS["baseline"], 1)
    assert synthesis.labels == ()
    sensors = {site.source_id for site in synthesis.sites if site.kind != "case_stream"}
    weeks = (synthesis.end_ms - synthesis.scored_from_ms) / (7 * 86_400_000)
    assert len(sensors) * weeks >= 3  # at least a few sensor-weeks


def test_effects_change_what_they_target_only() -> None:
    scenario = SCENARIOS["sensor_faults"]
    synthesis = synthesize(scenario, 2)
    start = synthesis.start_ms + 54 * 3_600_000
    for (source, metric), index in zip(synthesis.series, range(len(synthesis.series)), strict=True):
        ts = synthesis.ts_ms[synthesis.series_index == index]
        silent = ((ts >= start) & (ts < start + 3 * 3_600_000)).sum()
        assert (silent == 0) == (source == "ENV-25"), (source, metric)  # the dropout


def test_grid_codes_name_their_street_and_district() -> None:
    where = location_of("CB", "D1-S2-G03")
    assert (where.district, where.street, where.grid) == ("D1", "D1-S2", "D1-S2-G03")
    assert in_area(where, "D1") and in_area(where, "D1-S2") and not in_area(where, "D2")


def test_batches_cover_every_reading_once() -> None:
    synthesis = synthesize(SCENARIOS["water_main"], 1)
    batches = list(synthesis.batches(600_000))
    assert sum(len(batch) for _, batch in batches) == len(synthesis.ts_ms)
    assert all(all(r[0] < edge for r in batch) for edge, batch in batches)
