"""State written before the speed-ups still loads: the same future scores, bit for bit,
and the same plain data dumped back.

Learned state now comes out with tuples where it had lists (a worker snapshots every bank
each batch, and the collector soon stops tracking a tuple of plain values, never a list);
as JSON, the form the worker's table stores, it is the same text, and restore reads
either."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from detectors.scoring.bank import Bank
from detectors.scoring.likelihood import AnomalyLikelihood
from detectors.scoring.profiles import bank_for

# AnomalyLikelihood(5, warmup=60, hold=True) after 300 of surprises(), dumped by the code
# of main at 1a97ad5 (tails and recent surprises in lists and a deque), and its next 100
# scores there (the spike at reading 388 scores above the alarm).
OLD_STATE = {
    "recent": [3.04, 0.64, 2.28, 3.92, 1.52],
    "count": 300,
    "single": [0.6571428571428564, 1.661093358302244],
    "sustained": [0.8586645084913608, 1.1808245932258745],
    "held": False,
}
OLD_SCORES_AFTER = [
    0.04867715154443181,
    0.03184743114002494,
    0.03255418088557312,
    0.010744408864733998,
    0.015926800831719,
    0.0516763251677387,
    0.01250675625747312,
    0.034107770394245326,
    0.013727649742880247,
    0.01826117090721824,
    0.05465508001218726,
    0.015620395466727555,
    0.036863647048664315,
    0.016918877655344985,
    0.020663091487958828,
    0.05760381667102914,
    0.018914482547343885,
    0.03962102577714102,
    0.02027281803788298,
    0.02305529250602565,
    0.06059365161573175,
    0.0223456468564931,
    0.042379879438913026,
    0.023747407099274864,
    0.02549647572190942,
    0.06353756218442982,
    0.02587383330015307,
    0.045127376599370085,
    0.027303956074031042,
    0.02802194095465786,
    0.06642505906114868,
    0.029462434160648497,
    0.047851652374486235,
    0.030907260070512525,
    0.03163068208549648,
    0.06924680666378016,
    0.03307836230295867,
    0.05054188496194591,
    0.034525647189490964,
    0.0352485960247227,
    0.012491574722057325,
    0.01719222467892667,
    0.05353477973423295,
    0.014356115658346852,
    0.03572805314661017,
    0.01563971426907604,
    0.019576834896313282,
    0.05650505400214027,
    0.01761867142161942,
    0.03849777703278795,
    0.018969598616151665,
    0.02196502088074298,
    0.059520220004503924,
    0.021036716424684944,
    0.04127593651802719,
    0.022438204319002824,
    0.024409178851544873,
    0.062497986894781164,
    0.024569424909591322,
    0.04405008550436357,
    0.026006159100442038,
    0.02689453544181326,
    0.06542807770200619,
    0.028179588425181635,
    0.04680861154052559,
    0.029637685816921562,
    0.03036872096698138,
    0.06830120709055523,
    0.031833558157128815,
    0.04954081125373523,
    0.03330054054185091,
    0.03403427757055827,
    0.011354953503834517,
    0.0162064801015369,
    0.05254921424335385,
    0.013191744972983543,
    0.03469932096001205,
    0.014460888125460297,
    0.018574947581357287,
    0.055541235554450175,
    0.016423918530170646,
    0.03748183978478605,
    0.01776791519929951,
    0.020958891340002526,
    0.058581550873206135,
    0.01982995125257877,
    0.040278889982736175,
    0.021231486086221607,
    0.5480400053076034,
    0.09107480399527106,
    0.09148031646923133,
    0.09187896293172695,
    0.0922708112513198,
    0.025400873010074338,
    0.06315755241708454,
    0.026220219020756785,
    0.04489881639553926,
    0.02765400273090187,
    0.028374005301900866,
    0.06602944309224043,
]


def surprises(n: int, start: int = 0) -> list[float]:
    return [
        ((i * 7919) % 101) / 25.0 + (20.0 if i % 97 == 0 else 0.0) for i in range(start, start + n)
    ]


def test_a_state_from_the_list_based_likelihood_restores_bit_for_bit() -> None:
    restored = AnomalyLikelihood(5, warmup=60, hold=True)
    restored.load(OLD_STATE)
    assert as_json(restored.dump()) == as_json(OLD_STATE)
    assert [restored.update(s) for s in surprises(100, 300)] == OLD_SCORES_AFTER


def test_the_same_run_today_reaches_the_same_state_and_scores() -> None:
    fresh = AnomalyLikelihood(5, warmup=60, hold=True)
    for s in surprises(300):
        fresh.update(s)
    state = fresh.dump()
    assert as_json(state) == as_json(OLD_STATE)
    assert all(type(x) is float for key in ("recent", "single", "sustained") for x in state[key])
    assert [fresh.update(s) for s in surprises(100, 300)] == OLD_SCORES_AFTER


@pytest.mark.parametrize("stored", [7, 3, 0])
def test_recent_surprises_beyond_the_short_span_keep_the_latest(stored: int) -> None:
    """As a deque with maxlen did: a longer list keeps its last ``short``."""
    likelihood = AnomalyLikelihood(5, warmup=60)
    likelihood.load({**OLD_STATE, "recent": [float(i) for i in range(stored)]})
    assert list(likelihood.dump()["recent"]) == [float(i) for i in range(stored)][-5:]


def as_json(state: Any) -> str:
    return json.dumps(state, sort_keys=True)


def as_lists(state: Any) -> Any:
    """State as the code before emitted it (and as JSON reads back): lists, not tuples."""
    if isinstance(state, dict):
        return {k: as_lists(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return [as_lists(v) for v in state]
    return state


def fed_bank(days: float) -> tuple[Bank, list[tuple[int, float]]]:
    """A pm25 bank after ``days`` of a noisy daily cycle, and the next half day."""
    rng = np.random.default_rng(3)
    ts = np.arange(0, int((days + 0.5) * 86_400_000), 60_000)
    hours = (ts / 3_600_000 + 8) % 24
    values = np.round(40 * (1 + 0.3 * np.exp(-0.5 * ((hours - 7) / 3) ** 2))
                      * (1 + 0.06 * rng.standard_normal(len(ts))), 1)  # fmt: skip
    values[-300:-200] += 30.0  # an episode in what follows, so scores reach the alarm
    readings = list(zip(ts.tolist(), values.tolist(), strict=True))
    split = int(days * 1440)
    bank = bank_for("air_station", "pm25", 60)
    for t, v in readings[:split]:
        bank.assess(t, v)
    return bank, readings[split:]


def test_bank_state_in_the_old_list_form_restores_bit_for_bit() -> None:
    bank, later = fed_bank(2.5)
    state = bank.state()
    twin = bank_for("air_station", "pm25", 60)
    twin.load_state(as_lists(state))
    assert as_json(twin.state()) == as_json(state)
    ahead = [bank.assess(t, v) for t, v in later]
    assert [twin.assess(t, v) for t, v in later] == ahead
    assert max(r.condition for r in ahead) >= 0.5
    assert as_json(twin.state()) == as_json(bank.state())


def test_bank_state_holds_no_list_the_collector_must_keep_tracking() -> None:
    def lists(state: Any) -> int:
        if isinstance(state, dict):
            return sum(lists(v) for v in state.values())
        if isinstance(state, list | tuple):
            return int(isinstance(state, list)) + sum(lists(v) for v in state)
        return 0

    bank, _ = fed_bank(1.0)
    assert lists(bank.state()) == 0
