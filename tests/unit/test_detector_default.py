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


def test_a_jump_at_the_same_hour_every_day_is_news_once() -> None:
    # Hourly plateaus, flat at night, up to 80 at 09:00 and down at 18:00, the same every
    # day (the shape of NAB's anomaly-free art_daily_no_noise): each step is far beyond
    # anything its flat neighbours teach, every day; counted in full it alarmed at every
    # one of them for two weeks.
    hourly = [20.0] * 9 + [68.0, 77.6, 79.52, 79.9, 79.98, 80.0, 80.0, 80.0, 80.0,
                           32.0, 22.4, 20.48, 20.1, 20.02, 20.0]  # fmt: skip
    detector = UnknownStream()
    alarms_by_day = [0] * 14
    for i in range(14 * 288):  # five-minute readings
        ts = i * 5 * MIN
        value = hourly[(i // 12) % 24]
        if detector.score_one(ts, value) >= ALARM:
            alarms_by_day[i // 288] += 1
        detector.learn_one(ts, value)
    assert sum(alarms_by_day[2:]) == 0, alarms_by_day
    # a reading beyond every step it has made still stands out after the two weeks
    ts = 14 * 288 * 5 * MIN
    assert detector.score_one(ts, 20.0) < 0.3
    assert detector.score_one(ts, 2000.0) > detector.score_one(ts, 80.0)
