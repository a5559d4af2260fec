"""A scenario's alerts do not depend on the time of day it is played at: the live test plays
each scenario shifted to end near the wall clock, and water_main, shifted so that its
pressure dip straddled local midnight, opened a false grid incident (the seasonal profile
bracketed 00:00-00:30 with the wrong pair of slots)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from detectors.evaluation.evaluate import run
from detectors.evaluation.scenarios import Synthesis, in_area, synthesize
from sensors_sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
HOUR_MS = 3_600_000


def shifted(synthesis: Synthesis, by_ms: int) -> Synthesis:
    """The same readings and labels, ``by_ms`` later (as the live player moves them)."""
    return dataclasses.replace(
        synthesis,
        start_ms=synthesis.start_ms + by_ms,
        scored_from_ms=synthesis.scored_from_ms + by_ms,
        end_ms=synthesis.end_ms + by_ms,
        ts_ms=synthesis.ts_ms + by_ms,
        labels=tuple(
            dataclasses.replace(label, start_ms=label.start_ms + by_ms,
                                end_ms=label.end_ms + by_ms)
            for label in synthesis.labels
        ),
    )  # fmt: skip


@pytest.mark.parametrize("hours", [0, 18])  # 18: the morning dip falls at 01:00 local
def test_water_main_opens_only_its_labelled_incident_at_any_time_of_day(hours: int) -> None:
    synthesis = shifted(synthesize(load_scenario("water_main", SCENARIOS), 0), hours * HOUR_MS)
    [burst] = synthesis.labels
    opened = [e for e in run(synthesis).events if e.kind == "incident_opened"]
    assert len(opened) == 1
    assert in_area(opened[0].location, burst.area)
    assert burst.start_ms - 30 * 60_000 <= opened[0].ts_ms <= burst.end_ms
