"""A statistical member's fused ``step`` (score, then learn, in one call: the bank's hot
path) gives the same score, the same evidence and the same state after as ``score_one``
then ``learn_one``, reading by reading: guarded or bare, in warm-up, through an anomaly the
guard keeps out and one that lasts past its protection."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from detectors.scoring.bank import Bank
from detectors.scoring.base import BaseDetector
from detectors.scoring.control import Cusum, EwmaChart
from detectors.scoring.likelihood import Graded
from detectors.scoring.profiles import bank_for, default_bank
from detectors.scoring.robust import RobustZScore
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.wrappers import GuardedLearning

MIN, HOUR = 60_000, 3_600_000


def readings(days: float, seed: int) -> list[tuple[int, float]]:
    """A noisy daily cycle at one-minute cadence with a spike, a short episode, a flat
    stretch and a shift that lasts longer than a guard's protection."""
    rng = np.random.default_rng(seed)
    ts = np.arange(0, int(days * 86_400_000), MIN)
    hours = (ts / HOUR + 8) % 24
    values = 40 * (1 + 0.3 * np.exp(-0.5 * ((hours - 7) / 3) ** 2))
    values = np.round(values * (1 + 0.06 * rng.standard_normal(len(ts))), 1)
    n = len(ts)
    values[n // 2] += 200.0
    values[n // 2 + 300 : n // 2 + 360] += 40.0
    values[n // 2 + 600 : n // 2 + 700] = 41.0
    values[-600:] += 60.0  # ten hours: past the six-hour protection
    return list(zip(ts.tolist(), values.tolist(), strict=True))


def as_json(state: Any) -> str:
    return json.dumps(state, sort_keys=True)


MAKERS: dict[str, Callable[[], BaseDetector]] = {
    "robust_z": lambda: RobustZScore(window=60, warmup=60),
    "ewma": lambda: EwmaChart(slow_alpha=0.01),
    "cusum": lambda: Cusum(slow_alpha=0.01),
    "seasonal": lambda: SeasonalBaseline(slot_minutes=60),
}


@pytest.mark.parametrize("guarded", [False, True])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_step_is_score_then_learn(name: str, guarded: bool) -> None:
    def make() -> Any:
        detector = MAKERS[name]()
        return GuardedLearning(detector, protect_ms=3 * HOUR) if guarded else detector

    fused, plain = make(), make()
    alarms = 0
    for ts, value in readings(3.0, seed=len(name)):
        expected = plain.score_one(ts, value)
        evidence = plain.evidence()
        plain.learn_one(ts, value)
        assert fused.step(ts, value) == expected
        assert fused.evidence() == evidence
        alarms += expected >= 0.5
    assert as_json(fused.state()) == as_json(plain.state())
    # the anomalies were scored as such, so the guard had work to do (CUSUM on the raw
    # cycle is saturated by every morning peak: its likelihood has learnt that)
    assert alarms > 0 or name == "cusum"


BANKS: dict[str, Callable[[], Bank]] = {
    "pm25": lambda: bank_for("air_station", "pm25", 60),
    "water_level": lambda: bank_for("river_gauge", "water_level", 60, {"warning": 3.0}),
    "default": lambda: default_bank(60),
}


@pytest.mark.parametrize("kind", sorted(BANKS))
def test_a_bank_with_fused_members_decides_as_one_calling_them_twice(kind: str) -> None:
    fused, plain = BANKS[kind](), BANKS[kind]()
    assert any(fused._fused) or kind == "default"
    plain._fused = tuple(False for _ in plain._fused)  # every member through score, learn
    for ts, value in readings(3.0, seed=7):
        assert fused.assess(ts, value) == plain.assess(ts, value)
        assert fused.evidence() == plain.evidence()
    assert as_json(fused.state()) == as_json(plain.state())


def test_only_graded_members_take_the_fused_step() -> None:
    bank = bank_for("air_station", "pm25", 60)
    fused = {label for label, f in zip(bank.labels, bank._fused, strict=True) if f}
    assert fused == {"seasonal", "robust_z", "ewma", "cusum"}
    assert all(isinstance(bank.member(label), Graded) for label in fused)
