"""Only what changes leaves the worker: the alert engine gives exactly the same events and
stage changes on the filtered decisions as on all of them, on every scenario, on
arbitrary decision streams, across flushes and across a restart of the filter."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.alerting.changes import ChangeFilter, Step
from detectors.alerting.engine import AlertEngine, AlertPolicy
from detectors.alerting.types import Decision
from detectors.contract.events import Family, Reading
from detectors.contract.places import Location
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.monitor import Monitor
from sensors_sim.scenario import load_scenario
from streams.alerting import AlertingStage, decision_to_json, tick_to_json
from streams.batch import Message
from streams.detection import Detection
from streams.intake import AlertIntake

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
TOPIC, ACTIONS = "cb.alerting", "cb.alert-actions"
BATCH = 500  # readings per detection batch, as the worker's take() cuts them


def steps_of(scenario: str, seed: int = 7) -> list[list[Step]]:
    """Detection's output per batch of a scenario's readings, in time order."""
    synthesis = synthesize(load_scenario(scenario, SCENARIOS), seed)
    sites = {s.source_id: s for s in synthesis.sites}
    readings = [Reading("", ts, Family.WATER, source, metric, value, sites[source].location)
                for ts, source, metric, value in synthesis.readings()]  # fmt: skip
    detection = Detection(Monitor(synthesis.sites))
    return [detection.process(readings[i : i + BATCH]) for i in range(0, len(readings), BATCH)]


def engine_output(steps: Iterable[Step]) -> tuple[list[object], list[object]]:
    """What the alerting agent makes of these steps as topic messages: every alert event's
    record and every stage-change row."""
    stage, intake = AlertingStage(AlertEngine()), AlertIntake(TOPIC, ACTIONS)
    messages = [Message(TOPIC, 0, offset, 0, b"city",
                        tick_to_json(s) if isinstance(s, int) else decision_to_json(s))
                for offset, s in enumerate(steps)]  # fmt: skip
    out, rejected, stages = intake.apply(stage, messages)
    assert not rejected
    return [e.record() for e in out.events], stages


def filtered(batches: Sequence[Sequence[Step]], flush_every: int = 0) -> list[Step]:
    """The batches through one filter; ``flush_every``: also flush after every n-th batch,
    as the worker does at each checkpoint."""
    changes, sent = ChangeFilter(), []
    for n, batch in enumerate(batches, 1):
        sent += changes.select(batch)
        if flush_every and n % flush_every == 0:
            sent += changes.flush()
    return sent


def decisions(steps: Iterable[Step]) -> int:
    return sum(1 for s in steps if not isinstance(s, int))


@pytest.mark.parametrize(
    ("scenario", "at_most"),
    [("flood", 0.1), ("water_main", 0.1), ("sensor_faults", 0.9), ("case_surge", 1.0)],
)
def test_the_engine_gives_the_same_alerts_on_the_changes_only(
    scenario: str, at_most: float
) -> None:
    """(The other scenarios take half a minute each to detect; bench/bench_pipeline.py
    and the closing report of the change count them all.)"""
    batches = steps_of(scenario)
    every = list(itertools.chain.from_iterable(batches))
    expected = engine_output(every)
    assert expected[0], "the scenario raises alerts"
    for flush_every in (0, 1, 7):
        sent = filtered(batches, flush_every)
        assert engine_output(sent) == expected, flush_every
        assert [s for s in sent if isinstance(s, int)] == [s for s in every if isinstance(s, int)]
    # repeats of an open alert's level dominate a condition; a fault's score wanders more
    assert decisions(filtered(batches)) <= at_most * decisions(every)


def test_a_restored_filter_carries_on_as_the_one_that_ran_through() -> None:
    batches = steps_of("flood")
    expected = engine_output(itertools.chain.from_iterable(batches))
    changes, sent = ChangeFilter(), []
    for batch in batches:
        sent += changes.select(batch)
        # a worker restart: only the snapshot (plain data, held repeats included) survives
        changes = ChangeFilter.restore(orjson_round_trip(changes.snapshot()))
    assert engine_output(sent) == expected


def orjson_round_trip(doc: dict[str, object]) -> dict[str, object]:
    loaded: dict[str, object] = orjson.loads(orjson.dumps(doc))
    return loaded


KEYS = ["S1:pm25:condition", "S1:pm25:fault", "S2:pm25:condition"]
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
SCORES = st.sampled_from([0.0, 0.2, 0.34, 0.35, 0.45, 0.5, 0.6, 0.7, 0.8, 0.86, 0.96])


@st.composite
def streams(draw: st.DrawFn) -> list[Step]:
    """Decisions of a few keys on one street (so incidents form and stale alerts clear),
    with minute ticks between them and, now and then, hours of silence."""
    out: list[Step] = []
    ts = 0
    for _ in range(draw(st.integers(1, 80))):
        ts += draw(st.sampled_from([1_000, 20_000, 60_000, 3 * 3_600_000]))
        if draw(st.integers(0, 4)) == 0:
            out.append(ts)
            continue
        key = draw(st.sampled_from(KEYS))
        source, metric, category = key.split(":")
        out.append(
            Decision(
                key,
                category,
                source,
                metric,
                WHERE,
                "static",
                draw(SCORES),
                1.0,
                ts - draw(st.sampled_from([0, 0, 30_000])),
            )
        )
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.integers(1, 5))
def test_the_engine_gives_the_same_alerts_on_any_stream(steps: list[Step], cut: int) -> None:
    batches = [steps[i : i + cut] for i in range(0, len(steps), cut)]
    assert engine_output(filtered(batches, flush_every=3)) == engine_output(steps)


def test_a_quiet_key_without_alert_sends_nothing_and_a_repeat_is_held_until_a_tick() -> None:
    def at(ts: int, score: float) -> Decision:
        return Decision(KEYS[0], "condition", "S1", "pm25", WHERE, "static", score, 1.0, ts)

    changes = ChangeFilter(AlertPolicy(clear_after=2))
    assert changes.select([at(1, 0.45), at(2, 0.2)]) == []
    assert changes.select([at(3, 0.6)]) == [at(3, 0.6)]  # raises
    assert changes.select([at(4, 0.62), at(5, 0.55)]) == []  # repeats at level IV
    assert changes.select([at(6, 0.8)]) == [at(5, 0.55), at(6, 0.8)]  # the last repeat first
    assert changes.select([at(7, 0.1), 60_000]) == [at(7, 0.1), 60_000]
    assert changes.select([at(8, 0.8), at(9, 0.8)]) == [at(8, 0.8)]  # below resets: a repeat
    assert changes.select([at(10, 0.2), at(11, 0.2), at(12, 0.2)]) == [
        at(9, 0.8),
        at(10, 0.2),
        at(11, 0.2),
    ]  # cleared after two: the third is quiet
