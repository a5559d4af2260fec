"""A statistical detector alone on a stream nobody described counts surprises past the cap
by their logarithm, as ``default`` does; the worker's banks of described metrics do not, and
keep their fingerprints."""

from __future__ import annotations

import random

import orjson

from detectors.scoring.bank import Bank
from detectors.scoring.monitor import fingerprint
from detectors.scoring.profiles import GUARDED, bank_for, solo_bank


def test_the_banks_of_described_metrics_do_not_carry_the_flag() -> None:
    bank = bank_for("air_station", "pm25", 60)
    params = orjson.dumps(bank.snapshot()["params"]).decode()
    assert "log_past_cap" not in params  # so saved state taken before it still fits
    assert fingerprint(bank) == fingerprint(bank_for("air_station", "pm25", 60))


def _alarms(bank: Bank, label: str, values: list[float]) -> int:
    alarms = 0
    for i, value in enumerate(values):
        result = bank.assess(i * 300_000, value)
        alarms += result.scores[bank.labels.index(label)] >= 0.5
    return alarms


def test_alone_on_a_stream_nobody_described_the_flag_is_set_and_routine_bursts_calm_down() -> None:
    """Bytes sent: about 100 a reading, a burst of about 100,000 one reading in 50. The
    rolling robust z-score, alone, alarmed at most bursts counted in full."""
    for name in GUARDED:
        unknown = solo_bank(name, 300, min_scale=1.0)
        described = solo_bank(name, 300, min_scale=1.0, metric="pm25")
        assert "log_past_cap" in orjson.dumps(unknown.snapshot()["params"]).decode(), name
        assert "log_past_cap" not in orjson.dumps(described.snapshot()["params"]).decode()
    rng = random.Random(9)
    values = [(1e5 if i % 50 == 25 else 100.0) * rng.uniform(0.8, 1.25) for i in range(3000)]
    unknown, described = (
        solo_bank("robust_z", 300, min_scale=1.0),
        solo_bank("robust_z", 300, min_scale=1.0, metric="pm25"),
    )
    assert _alarms(unknown, "robust_z", values) < _alarms(described, "robust_z", values) / 2
