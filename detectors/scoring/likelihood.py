"""One meaning for every statistical score: how unusual the stream's recent behaviour is
against its own history, as a tail probability on a log scale.

A detector reduces each reading to a tail probability under a simple model (a normal tail
of a robust z, say) and hands its *surprise*, ``-log10`` of that probability, to an
:class:`AnomalyLikelihood`. That one asks how rare this surprise, and the average surprise
of the last ``short`` readings, are against the stream's own history of the same, as
Numenta's anomaly likelihood does for HTM (short- against long-term behaviour); the tails
are fitted as peaks over a threshold, as streaming extreme-value detectors (SPOT) do. It
recalibrates each stream against itself: a heavy-tailed stream whose raw tails are often
small does not alarm all day, and a run of moderate surprises counts like one big one.

:func:`tail_score` maps the resulting probability p onto the score every detector speaks:
``-log10(p) / 10``, so 0.5 (warning level IV) is one chance in 100,000 and 0.7 (level III)
one in 10 million; past 0.9 the scale bends, so rarer is still higher and 1 is never
reached (few ties).

>>> round(tail_score(1e-5), 6), round(tail_score(0.5), 3), tail_score(1e-40) < 1.0
(0.5, 0.03, True)
>>> likelihood = AnomalyLikelihood(warmup=50)
>>> calm = [likelihood.update(0.4 + 0.3 * ((i * 7) % 5 - 2) / 2) for i in range(400)]
>>> max(calm[:50]), max(calm) < 0.5
(0.0, True)
>>> likelihood.update(8.0) > 0.5
True
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from detectors.contract.levels import ALARM
from detectors.scoring.base import Evidence

_SQRT2 = math.sqrt(2.0)
_LN10 = math.log(10.0)

LOG_SCALE = 10.0
"""``tail_score`` is ``-log10(p) / LOG_SCALE`` up to :data:`BEND`."""
BEND = 0.9
SURPRISE_CAP = 12.0
"""In averages and long-run statistics a reading's surprise counts at most as a one-in-10^12
event, so one wild value cannot deafen them for days. Judged alone, it counts in full, unless
the likelihood is told to count what lies past it only by the logarithm of how far
(``log_past_cap``, for a stream nobody described: see :mod:`detectors.scoring.default`)."""
MIN_WARMUP_SPANS = 20
"""The tail of the average is trusted after this many short spans at least."""
TAIL_FROM = 1.0
"""Surprises above this (one reading in ten, for a calibrated model) make the fitted tail."""
CALIBRATED_EXCESS = 1.0 / _LN10
"""The mean excess over any level of -log10 of a uniform p: what a calibrated model gives."""
PRIOR_READINGS = 50
"""The fitted tail starts as the calibrated one, worth this many readings."""
HELD = 0.4
"""The score of a reading that continues an alarm already raised: below the alarm, above the
engine's clearing level, so an alert stays up without being raised again."""


def tail_score(p: float) -> float:
    """The score of a tail probability ``p``: 0 for p = 1, 0.5 for 1e-5, below 1 always."""
    return surprise_score(-math.log10(p) if p > 0.0 else math.inf)


def surprise_score(surprise: float) -> float:
    """The score of a tail probability given as its surprise ``-log10(p)``: linear up to
    0.9 (p = 1e-9), then bending towards 1 slowly enough that rarer stays higher."""
    scaled = max(surprise, 0.0) / LOG_SCALE
    if scaled <= BEND:
        return scaled
    return 1.0 - (1.0 - BEND) / (1.0 + 10.0 * (scaled - BEND))


def surprise_scores(surprises: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """:func:`surprise_score` of each of an array of surprises."""
    scaled = np.maximum(surprises, 0.0) / LOG_SCALE
    bent = 1.0 - (1.0 - BEND) / (1.0 + 10.0 * (np.maximum(scaled, BEND) - BEND))
    result: npt.NDArray[np.float64] = np.where(scaled <= BEND, scaled, bent)
    return result


def normal_surprise(z: float, two_sided: bool = True) -> float:
    """``-log10`` of the normal tail beyond ``z`` (both tails when ``two_sided``), exact
    where ``erfc`` is and asymptotic beyond.

    >>> round(normal_surprise(1.959964), 3), round(normal_surprise(40.0), 1)
    (1.301, 349.1)
    """
    a = abs(z) if two_sided else z
    if a < 30.0:
        tail = math.erfc(a / _SQRT2) * (1.0 if two_sided else 0.5)
        return -math.log10(tail) if tail > 0.0 else 300.0
    # Mills' ratio: Q(a) ~ phi(a) / a
    log_tail = -0.5 * a * a - math.log(a * math.sqrt(2 * math.pi))
    return -(log_tail + (math.log(2.0) if two_sided else 0.0)) / _LN10


def normal_surprises(z: npt.NDArray[np.float64], two_sided: bool = True) -> npt.NDArray[np.float64]:
    """:func:`normal_surprise` of each of an array (to within rounding), in one pass.

    >>> np.round(normal_surprises(np.array([1.959964, 40.0, -3.0])), 3).tolist()
    [1.301, 349.136, 2.569]
    """
    a = np.abs(z) if two_sided else np.asarray(z, dtype=np.float64)
    near = np.minimum(a, 30.0)
    with np.errstate(divide="ignore"):
        tail = special.erfc(near / _SQRT2) * (1.0 if two_sided else 0.5)
        exact = np.where(tail > 0.0, -np.log10(np.maximum(tail, 1e-320)), 300.0)
    far = np.maximum(a, 30.0)
    log_tail = -0.5 * far * far - np.log(far * math.sqrt(2 * math.pi))
    mills = -(log_tail + (math.log(2.0) if two_sided else 0.0)) / _LN10
    result: npt.NDArray[np.float64] = np.where(a < 30.0, exact, mills)
    return result


def t_surprise(t: float, dof: float) -> float:
    """``-log10`` of Student's t two-sided tail beyond ``t`` with ``dof`` degrees of freedom:
    the surprise of a z whose scale was estimated from about ``dof`` readings. Through the
    normal deviate of equal tail (Wallace 1959), within 2 % of the exact surprise for
    dof >= 5 and |t| <= 20.

    >>> round(t_surprise(5.1, 30), 2), round(normal_surprise(5.1), 2)
    (4.75, 6.47)
    """
    z = math.sqrt(dof * math.log1p(t * t / dof)) * (8.0 * dof + 1.0) / (8.0 * dof + 3.0)
    return normal_surprise(z)


def _calibrated_average_tail(short: int, start: float) -> float:
    """P(mean of ``short`` calibrated surprises > ``start``): a Gamma tail, by its Poisson
    sum."""
    x = short * start * _LN10
    term, total = 1.0, 1.0
    for i in range(1, short):
        term *= x / i
        total += term
    return max(math.exp(-x) * total, 1e-12)


class AnomalyLikelihood:
    """How rare the reading's surprise is, and how rare the average surprise of the last
    ``short`` readings is, each against the tail of its own history (the rarer of the
    two, corrected for asking twice).

    Both tails are fitted as peaks over a threshold with a memory of ``memory`` readings:
    how often a surprise exceeds :data:`TAIL_FROM` and by how much on average, the
    excesses taken as exponential (as they are exactly for -log10 of uniform p's); each
    starts from the calibrated tail, worth :data:`PRIOR_READINGS` readings, and below
    :data:`TAIL_FROM` is interpolated to 0, so the bulk is graded too. So a heavy-tailed
    stream is judged by its own tail and a run of moderate surprises counts like one big
    one. Nothing is said (score 0) before ``warmup`` readings. With ``hold``, a reading
    that continues an alarm scores :data:`HELD`: an episode is raised once, at its onset
    (a detector voting in a bank does not hold: the bank needs its votes to overlap).

    Every reading of every statistical detector passes through here, so the tails are
    plain floats and ``-log10`` of each exceedance rate is kept with it; they and the
    recent surprises are kept as arrays of doubles, not lists of float objects: a worker
    holds one likelihood per statistical member per series, each visited once a batch,
    and a list's floats lie all over the heap (a cache miss each).
    """

    __slots__ = (
        "_count", "_held", "_recent", "_scored", "_tails", "hold", "log_past_cap", "memory",
        "short", "warmup",
    )  # fmt: skip

    def __init__(
        self,
        short: int = 10,
        memory: int = 2000,
        warmup: int = 200,
        hold: bool = True,
        log_past_cap: bool = False,
    ) -> None:
        self.short, self.memory, self.hold = short, memory, hold
        self.log_past_cap = log_past_cap
        self.warmup = max(warmup, MIN_WARMUP_SPANS * short)
        self._recent = array("d")  # the last ``short`` surprises (capped), oldest first
        self._count = 0
        self._tails = _tails(
            (10.0**-TAIL_FROM, CALIBRATED_EXCESS),
            (_calibrated_average_tail(short, TAIL_FROM), CALIBRATED_EXCESS / short),
        )
        self._held = False
        self._scored: tuple[float, float] | None = None  # (surprise, average) just scored

    def _average(self, capped: float) -> float:
        """The mean of the last ``short`` surprises once ``capped`` joins them."""
        recent = self._recent
        n = len(recent)
        if n == self.short:
            return (sum(recent) - recent[0] + capped) / n
        return (sum(recent) + capped) / (n + 1)

    def rarity(self, surprise: float) -> float:
        """``-log10`` of the tail probability of the recent readings once one with
        ``surprise`` joins them (learns nothing)."""
        tails = self._tails
        # the mean of the last ``short`` surprises with this one (_average, inlined: hot)
        recent = self._recent
        capped = surprise if surprise < SURPRISE_CAP else SURPRISE_CAP
        n = len(recent)
        if n == self.short:
            average = (sum(recent) - recent[0] + capped) / n
        else:
            average = (sum(recent) + capped) / (n + 1)
        self._scored = (surprise, average)  # for learn, if this reading is learnt next
        # each tail: linear from 0 up to TAIL_FROM, exponential past it (inlined: hot;
        # ``0.0 if x < 0.0 else x`` is ``max(x, 0.0)``, NaN and -0.0 included)
        if surprise <= TAIL_FROM:
            rarest = tails[2] * (0.0 if surprise < 0.0 else surprise) / TAIL_FROM
        else:
            if surprise > SURPRISE_CAP and self.log_past_cap:
                surprise = SURPRISE_CAP + math.log10(surprise / SURPRISE_CAP)
            rarest = tails[2] + (surprise - TAIL_FROM) * tails[3]
        if average <= TAIL_FROM:
            other = tails[_SUSTAINED + 2] * (0.0 if average < 0.0 else average) / TAIL_FROM
        else:
            other = tails[_SUSTAINED + 2] + (average - TAIL_FROM) * tails[_SUSTAINED + 3]
        if other > rarest:
            rarest = other
        return rarest - math.log10(2.0 - 10.0**-rarest)  # Sidak: 1 - (1 - p)^2 as rare

    def ready(self) -> bool:
        """Whether the warm-up is over (before it, every score is 0)."""
        return self._count >= self.warmup

    def score(self, surprise: float) -> float:
        """The reading's score (0 during warm-up, :data:`HELD` while an alarm goes on)."""
        if self._count < self.warmup:
            return 0.0
        # surprise_score, inlined (hot)
        rarity = self.rarity(surprise)
        scaled = (0.0 if rarity < 0.0 else rarity) / LOG_SCALE
        score = scaled if scaled <= BEND else 1.0 - (1.0 - BEND) / (1.0 + 10.0 * (scaled - BEND))
        if self.hold and self._held and score >= ALARM:
            return HELD if score > HELD else score  # min(score, HELD)
        return score

    def learn(self, surprise: float, score: float | None = None) -> None:
        """Take the reading's surprise into the tails (``score`` as computed, if known: an
        alarm to hold needs it)."""
        if self.hold:
            if score is None:
                score = self.score(surprise)
            self._held = score >= ALARM or (self._held and score >= HELD)
        capped = surprise if surprise < SURPRISE_CAP else SURPRISE_CAP
        scored, self._scored = self._scored, None
        average = (
            scored[1] if scored is not None and scored[0] == surprise else self._average(capped)
        )
        recent = self._recent
        recent.append(capped)
        if len(recent) > self.short:
            del recent[0]
        count = self._count = self._count + 1
        span = count + PRIOR_READINGS
        memory = self.memory
        weight = 1.0 / (span if span < memory else memory)  # min(memory, span)
        tails = self._tails
        _learn(tails, 0, capped, weight)
        _learn(tails, _SUSTAINED, average, weight)

    def update(self, surprise: float) -> float:
        """Score, then learn, one reading's surprise."""
        score = self.score(surprise)
        self.learn(surprise, score)
        return score

    def dump(self) -> dict[str, Any]:
        """Learned state as plain data."""
        tails = self._tails
        return {
            "recent": tuple(self._recent),
            "count": self._count,
            "single": (tails[0], tails[1]),
            "sustained": (tails[_SUSTAINED], tails[_SUSTAINED + 1]),
            "held": self._held,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        recent = [float(x) for x in state["recent"]]
        self._recent = array("d", recent[-self.short :] if self.short > 0 else [])  # maxlen
        self._count = int(state["count"])
        single, sustained = state["single"], state["sustained"]
        self._tails = _tails(
            (float(single[0]), float(single[1])), (float(sustained[0]), float(sustained[1]))
        )
        self._held = bool(state["held"])
        self._scored = None


_SUSTAINED = 4
"""Where the short average's tail starts in the array of both tails."""


def _tails(single: tuple[float, float], sustained: tuple[float, float]) -> array[float]:
    """Both tails, each given as (exceedance rate, mean excess), in one array: per tail its
    rate, mean excess, -log10(rate) and 1 / (mean excess * ln 10)."""
    tails = array("d")
    for rate, excess in (single, sustained):
        tails.extend((rate, excess, -math.log10(rate), 1.0 / (excess * _LN10)))
    return tails


def _learn(tails: array[float], at: int, x: float, weight: float) -> None:
    """One more value into the tail at ``at``: the exceedance rate always, the mean excess
    from exceedances only, at their own pace."""
    rate = tails[at]
    if x > TAIL_FROM:
        rate += weight * (1.0 - rate)
        tails[at], tails[at + 2] = rate, -math.log10(rate)
        # min(1.0, weight / max(rate, weight))
        step = weight / (weight if weight > rate else rate)
        step = step if step < 1.0 else 1.0
        excess = tails[at + 1]
        excess += step * (x - TAIL_FROM - excess)
        tails[at + 1], tails[at + 3] = excess, 1.0 / (excess * _LN10)
    else:
        rate += weight * (0.0 - rate)
        tails[at], tails[at + 2] = rate, -math.log10(rate)


class Graded:
    """The scoring half of a statistical detector whose reading reduces to a surprise:
    :meth:`score_one` asks the likelihood, :meth:`_learn_surprise` teaches it. The
    detector defines ``_surprise`` (None while it cannot judge yet) and calls
    ``_learn_surprise`` from its ``learn_one`` before it learns the value itself."""

    _likelihood: AnomalyLikelihood
    log_past_cap: bool = False
    _memo: tuple[int, float, float | None, float] | None = None  # the last score_one's
    # the expected value, scale and z of the last reading judged (None: not judged), its
    # evidence: kept as a tuple and made a dict only when asked (rarely: a high score)
    _judged: tuple[float, float, float] | None = None

    def _graded_by(self, short: int, warmup: int, log_past_cap: bool) -> None:
        """Set the likelihood the detector's surprises are judged by (``log_past_cap``:
        alone on a stream nobody described, see :class:`AnomalyLikelihood`)."""
        self.log_past_cap = log_past_cap
        self._likelihood = AnomalyLikelihood(
            short, warmup=warmup, hold=False, log_past_cap=log_past_cap
        )

    def _cap_param(self) -> dict[str, bool]:
        """``log_past_cap`` as it enters the detector's params: only when set, so the
        banks of described metrics, which never set it, keep the fingerprints their saved
        state was taken under."""
        return {"log_past_cap": True} if self.log_past_cap else {}

    def _surprise(self, ts_ms: int, value: float) -> float | None:
        raise NotImplementedError

    def _learn_value(self, ts_ms: int, value: float) -> None:
        """Learn the reading itself (its surprise is learnt already)."""
        raise NotImplementedError

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._learn_surprise(ts_ms, value)
        self._learn_value(ts_ms, value)

    def step(self, ts_ms: int, value: float) -> float:
        """:meth:`score_one`, then :meth:`learn_one`, in one call: the same score and the
        same state after (a bank's hot path). The evidence is the score's still."""
        surprise, score = self._judge(ts_ms, value)
        self._learn_judged(ts_ms, value, surprise, score)
        return score

    def score_one(self, ts_ms: int, value: float) -> float:
        surprise, score = self._judge(ts_ms, value)
        self._memo = (ts_ms, value, surprise, score)
        return score

    def _judge(self, ts_ms: int, value: float) -> tuple[float | None, float]:
        """The reading's surprise (None: not judged yet) and score; learns nothing, and
        forgets :meth:`score_one`'s memo."""
        self._memo = None
        surprise = self._surprise(ts_ms, value)
        return surprise, 0.0 if surprise is None else self._likelihood.score(surprise)

    def _learn_judged(self, ts_ms: int, value: float, surprise: float | None, score: float) -> None:
        """Learn a reading :meth:`_judge` has just judged."""
        if surprise is not None:
            self._likelihood.learn(surprise, score)
        self._learn_value(ts_ms, value)

    def evidence(self) -> Evidence:
        judged = self._judged
        if judged is None:
            return {}
        return {"expected": judged[0], "scale": judged[1], "z": judged[2]}

    def _learn_surprise(self, ts_ms: int, value: float) -> None:
        memo = self._memo
        self._memo = None
        if memo is not None and memo[0] == ts_ms and memo[1] == value:
            if memo[2] is not None:
                self._likelihood.learn(memo[2], memo[3])
            return
        surprise = self._surprise(ts_ms, value)
        if surprise is not None:
            self._likelihood.learn(surprise)
