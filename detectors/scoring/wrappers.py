"""Decisions as wrappers around any detector: here, "do not learn from anomalies".

>>> from detectors.scoring.robust import RobustZScore
>>> guarded = GuardedLearning(RobustZScore(window=10, warmup=20), threshold=0.5)
>>> for i in range(200):                     # past the warm-up
...     _ = guarded.score_one(i, 5.0 + i % 2)
...     guarded.learn_one(i, 5.0 + i % 2)
>>> for i in range(200, 220):                # a lasting excursion is not learnt ...
...     _ = guarded.score_one(i, 50.0)
...     guarded.learn_one(i, 50.0)
>>> guarded.score_one(220, 50.0) >= 0.5     # ... so it stays anomalous
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detectors.contract.levels import ALARM
from detectors.scoring.base import BaseDetector, Evidence, detector_class, register
from detectors.scoring.likelihood import Graded

HOUR_MS = 3_600_000


def build(spec: Mapping[str, Any] | BaseDetector) -> BaseDetector:
    """A fresh detector from ``{"detector": name, "params": {...}}`` (or a copy of one)."""
    if isinstance(spec, BaseDetector):
        return spec.clone()
    return detector_class(str(spec["detector"]))(**dict(spec.get("params", {})))


def spec_of(detector: BaseDetector) -> dict[str, Any]:
    """The plain-data recipe :func:`build` takes."""
    return {"detector": detector.name, "params": detector.snapshot()["params"]}


@register
class GuardedLearning(BaseDetector):
    """Scores like ``detector`` but learns only readings scored below ``threshold``; after
    ``protect_ms`` of unbroken anomaly it learns again, so a lasting change becomes the new
    normal instead of an alarm that never ends."""

    name = "guarded"

    def __init__(
        self,
        detector: Mapping[str, Any] | BaseDetector,
        threshold: float = ALARM,
        protect_ms: int = 6 * HOUR_MS,
    ) -> None:
        self.detector, self.threshold, self.protect_ms = detector, threshold, protect_ms
        self.inner = build(detector)
        self._scored: tuple[int, float] | None = None  # (ts, score) of the last score_one
        self._anomalous_since: int | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "detector": spec_of(self.inner),
            "threshold": self.threshold,
            "protect_ms": self.protect_ms,
        }

    def _state(self) -> dict[str, Any]:
        # the last score is a memo for learn_one, not learnt state: it is left out
        return {"inner": self.inner._state(), "anomalous_since": self._anomalous_since}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.inner._load(state["inner"])
        self._scored = None
        self._anomalous_since = state["anomalous_since"]

    def score_one(self, ts_ms: int, value: float) -> float:
        score = self.inner.score_one(ts_ms, value)
        self._scored = (ts_ms, score)
        return score

    def learn_one(self, ts_ms: int, value: float) -> None:
        if self._scored is None or self._scored[0] != ts_ms:
            self._scored = (ts_ms, self.inner.score_one(ts_ms, value))
        if self._learns(ts_ms, self._scored[1]):
            self.inner.learn_one(ts_ms, value)

    def _learns(self, ts_ms: int, score: float) -> bool:
        """Whether a reading scored ``score`` is learnt (and the anomaly's start kept)."""
        if score < self.threshold:
            self._anomalous_since = None
        elif self._anomalous_since is None:
            self._anomalous_since = ts_ms
        return self._anomalous_since is None or ts_ms - self._anomalous_since >= self.protect_ms

    def step(self, ts_ms: int, value: float) -> float:
        """:meth:`score_one`, then :meth:`learn_one`, in one call (a bank's hot path): the
        same score and state after, the inner detector's evidence still the score's. Only
        for a :class:`~detectors.scoring.likelihood.Graded` inner detector."""
        inner = self.inner
        assert isinstance(inner, Graded)
        self._scored = None
        surprise, score = inner._judge(ts_ms, value)
        if self._learns(ts_ms, score):
            inner._learn_judged(ts_ms, value, surprise, score)
        return score

    def evidence(self) -> Evidence:
        return self.inner.evidence()
