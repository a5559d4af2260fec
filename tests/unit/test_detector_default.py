"""The default detector (a stream nobody described): what it asks of a reading and when."""

from __future__ import annotations

import math

from detectors.contract.levels import ALARM
from detectors.scoring.base import restore
from detectors.scoring.default import UnknownStream

MIN = 60_000


def smooth_stream() -> tuple[UnknownStream, int, float]:
    """A default detector that has learnt 1,425 minutes of a slow wave (its changes from
    one minute to the next are small), with the last reading's time and value."""
    detector = UnknownStream()
    value = 0.0
    for i in range(1425):
        value = 50.0 + 10.0 * math.sin(2 * math.pi * i / 300) + 0.05 * ((i * 7) % 3)
        detector.score_one(i * MIN, value)
        detector.learn_one(i * MIN, value)
    return detector, 1424 * MIN, value


def test_a_jump_inside_the_usual_range_is_a_step_anomaly() -> None:
    detector, last_ts, last = smooth_stream()
    assert last < 45.0  # the wave is low: the jump below lands inside its range
    assert detector.score_one(last_ts + MIN, 58.0) >= ALARM


def test_a_change_across_a_gap_is_not_one_step() -> None:
    detector, last_ts, _ = smooth_stream()
    assert detector.after_gap(last_ts + 2 * MIN) and not detector.after_gap(last_ts + MIN)
    assert detector.score_one(last_ts + 90 * MIN, 58.0) < ALARM  # an hour and a half later
    twin = restore(detector.snapshot())  # the usual interval survives a snapshot
    assert isinstance(twin, UnknownStream) and twin.after_gap(last_ts + 90 * MIN)
