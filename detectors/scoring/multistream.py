"""A streaming detector for rows of d numeric columns (a pump's sensors, an accelerometer
array): one pass, bounded memory, no look-ahead.

Each row's surprise comes from a :class:`~detectors.scoring.rowfit.RowFit` of normal rows
(distance from the normal cloud, a column breaking from the others, a column out of its
range, a small shift of the last ``window`` rows) and is scored by an
:class:`~detectors.scoring.likelihood.AnomalyLikelihood` against the surprises of normal
rows, so 0.5 means one chance in 100,000 as for every detector.

Normal rows come two ways. Rows known to be normal go to :meth:`MultiStream.fit` (their
scores are 0). Otherwise the first ``warmup`` rows are taken as normal (scores 0 during
them). Either way the likelihood first learns the surprises of those rows under their own
fit. (Cross-fitted surprises, each half scored by a fit of the other, were tried: on
SKAB-like data they taught it so heavy a tail that lasting faults stayed below the alarm;
F1 of the decision 0.16 against 0.25.) Afterwards the fit keeps adapting: every ``refit``
rows scored normal it is refitted on the last ``memory`` of them; rows in an anomaly are
not learnt, unless the anomaly lasts ``protect`` rows, when it is taken as the new normal
and the detector warms up again on it.

The decision (:meth:`MultiStream.flag`) has hysteresis: an episode starts when the score
reaches :data:`~detectors.contract.levels.ALARM` and lasts until it falls below ``clear``,
so every row of a lasting fault is flagged, not just its onset.

>>> rng = np.random.default_rng(1)
>>> latent = rng.normal(size=(700, 1))
>>> rows = np.hstack([latent, 2 * latent, -latent]) + 0.1 * rng.normal(size=(700, 3))
>>> rows[600:, 1] = -rows[600:, 1]          # column 1 breaks from the others
>>> detector = MultiStream()
>>> detector.fit(rows[:300])
>>> scores, flags = score_rows(detector, range(300, 700), rows[300:])
>>> bool(flags[:300].mean() < 0.01 and flags[300:].mean() > 0.9)
True
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from detectors.contract.levels import ALARM
from detectors.scoring.base import BaseDetector, Evidence, FloatArray, register
from detectors.scoring.likelihood import AnomalyLikelihood
from detectors.scoring.rowfit import RowFit

CLEAR = 0.35
"""Below this an episode ends (the alert engine's clearing level)."""
MIN_ROWS = 10
"""The fewest normal rows a fit is made from."""
_TWICE = math.log10(2.0)


@register
class MultiStream(BaseDetector):
    """Scores rows (sequences of floats, always the same columns) against a fit of normal
    rows; see the module's docstring. ``score_one``/``learn_one`` take a row, not a value."""

    name = "multistream"

    def __init__(
        self,
        warmup: int = 300,
        window: int = 10,
        memory: int = 2000,
        refit: int = 100,
        protect: int = 900,
        clear: float = CLEAR,
    ) -> None:
        self.warmup, self.window, self.memory = warmup, window, memory
        self.refit, self.protect, self.clear = refit, protect, clear
        self._fit: RowFit | None = None
        self._mean_fit: RowFit | None = None  # of the means of ``window`` rows
        self._normal: deque[list[float]] = deque(maxlen=memory)  # what the next fit learns
        self._recent: deque[list[float]] = deque(maxlen=max(window - 1, 1))
        self._likelihood = AnomalyLikelihood(short=10, memory=memory, warmup=50, hold=False)
        self._since_fit = 0
        self._run = 0  # rows of unbroken episode
        self._episode = False
        self._memo: tuple[int, list[float], float | None, float] | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "warmup": self.warmup, "window": self.window, "memory": self.memory,
            "refit": self.refit, "protect": self.protect, "clear": self.clear,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {
            "fit": None if self._fit is None else self._fit.dump(),
            "mean_fit": None if self._mean_fit is None else self._mean_fit.dump(),
            "normal": [list(r) for r in self._normal],
            "recent": [list(r) for r in self._recent],
            "likelihood": self._likelihood.dump(),
            "since_fit": self._since_fit, "run": self._run, "episode": self._episode,
        }  # fmt: skip

    def _load(self, state: Mapping[str, Any]) -> None:
        self._fit = None if state["fit"] is None else RowFit.load(state["fit"])
        mean_fit = state["mean_fit"]
        self._mean_fit = None if mean_fit is None else RowFit.load(mean_fit)
        self._normal = deque((list(map(float, r)) for r in state["normal"]), maxlen=self.memory)
        self._recent = deque((list(map(float, r)) for r in state["recent"]), self._recent.maxlen)
        self._likelihood.load(state["likelihood"])
        self._since_fit, self._run = int(state["since_fit"]), int(state["run"])
        self._episode, self._memo = bool(state["episode"]), None

    def fit(self, rows: Sequence[Sequence[float]] | FloatArray) -> None:
        """Learn rows known to be normal (at least :data:`MIN_ROWS`): the fit, and the
        likelihood's sense of their usual surprise."""
        block = np.asarray(rows, dtype=np.float64)
        if block.ndim != 2 or len(block) < MIN_ROWS:
            raise ValueError(f"need at least {MIN_ROWS} normal rows to fit, got {len(block)}")
        self._refit(block)
        assert self._fit is not None and self._mean_fit is not None
        means = _rolling_means(block, self.window)
        for surprise in _either(self._fit, self._mean_fit, block, means):
            self._likelihood.learn(surprise, 0.0)
        self._normal.extend(block.tolist())
        self._recent.extend(block[-max(self.window - 1, 1) :].tolist())

    def _surprise(self, row: list[float]) -> float | None:
        if self._fit is None:
            return None
        if len(row) != self._fit.columns:
            raise ValueError(f"row has {len(row)} columns, the fit {self._fit.columns}")
        assert self._mean_fit is not None
        mean = np.mean(np.array([*self._recent, row][-self.window :]), axis=0, keepdims=True)
        return _either(self._fit, self._mean_fit, np.array([row]), mean)[0]

    def _refit(self, rows: FloatArray) -> None:
        self._fit = RowFit.of(rows)
        self._mean_fit = RowFit.of(_rolling_means(rows, self.window))
        self._since_fit = 0

    def score_one(self, ts_ms: int, row: Sequence[float]) -> float:  # type: ignore[override]
        values = [float(x) for x in row]
        surprise = self._surprise(values)
        score = 0.0 if surprise is None else self._likelihood.score(surprise)
        self._memo = (ts_ms, values, surprise, score)
        return score

    def flag(self, score: float) -> bool:
        """Whether a row with this score (from :meth:`score_one`) is in an anomaly."""
        return score >= ALARM or (self._episode and score >= self.clear)

    def learn_one(self, ts_ms: int, row: Sequence[float]) -> None:  # type: ignore[override]
        values = [float(x) for x in row]
        memo = self._memo
        if memo is None or memo[0] != ts_ms or memo[1] != values:
            self.score_one(ts_ms, values)
            memo = self._memo
        assert memo is not None
        _, _, surprise, score = memo
        self._memo = None
        if surprise is None:
            self._warm_up(values)
        else:
            self._decide(values, surprise, score)
        self._recent.append(values)

    def _warm_up(self, row: list[float]) -> None:
        self._normal.append(row)
        if len(self._normal) >= max(self.warmup, MIN_ROWS):
            rows = list(self._normal)
            self._normal.clear()
            self.fit(rows)

    def _decide(self, row: list[float], surprise: float, score: float) -> None:
        self._episode = self.flag(score)
        self._run = self._run + 1 if self._episode else 0
        if self._run >= self.protect:  # a lasting change: the new normal, learnt afresh
            self._fit, self._run, self._episode = None, 0, False
            self._normal.clear()
            return
        if self._episode:
            return
        self._likelihood.learn(surprise, score)
        self._normal.append(row)
        self._since_fit += 1
        if self.refit and self._since_fit >= self.refit:
            self._refit(np.array(self._normal))

    def evidence(self) -> Evidence:
        return {"episode": int(self._episode), "run": self._run}

    def score_learn_many(  # type: ignore[override]
        self, ts_ms: Iterable[int], rows: Sequence[Sequence[float]] | FloatArray
    ) -> FloatArray:
        return score_rows(self, ts_ms, rows)[0]


def _either(fit: RowFit, mean_fit: RowFit, rows: FloatArray, means: FloatArray) -> list[float]:
    """The larger of a row's surprise and its window mean's, corrected for asking twice."""
    both = np.maximum(fit.surprises(rows), mean_fit.surprises(means)) - _TWICE
    result: list[float] = np.maximum(both, 0.0).tolist()
    return result


def _rolling_means(rows: FloatArray, window: int) -> FloatArray:
    """The mean of the last ``window`` rows (fewer at the start) ending at each row."""
    sums = np.cumsum(np.vstack([np.zeros((1, rows.shape[1])), rows]), axis=0)
    ends = np.arange(1, len(rows) + 1)
    starts = np.maximum(ends - window, 0)
    result: FloatArray = (sums[ends] - sums[starts]) / (ends - starts)[:, None]
    return result


def score_rows(
    detector: MultiStream, ts_ms: Iterable[int], rows: Sequence[Sequence[float]] | FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Score, decide and learn each row in order: the scores and the 0/1 decisions."""
    scores, flags = [], []
    for ts, row in zip(ts_ms, rows, strict=True):
        score = detector.score_one(int(ts), row)
        flags.append(1.0 if detector.flag(score) else 0.0)
        detector.learn_one(int(ts), row)
        scores.append(score)
    return np.array(scores, dtype=np.float64), np.array(flags, dtype=np.float64)
