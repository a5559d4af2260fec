"""The detector protocol: score a reading, then learn it; state snapshots to plain data.

Every detector watches one series (one sensor's metric, or one grid cell's case reports):

>>> from detectors.scoring.robust import RobustZScore
>>> detector = RobustZScore(window=30, warmup=30)
>>> for minute in range(300):
...     detector.learn_one(minute * 60_000, 10.0 + (minute % 3))
>>> detector.score_one(18_000_000, 11.0) < 0.5 < detector.score_one(18_000_000, 40.0)
True
>>> twin = restore(detector.snapshot())
>>> twin.score_one(18_000_000, 40.0) == detector.score_one(18_000_000, 40.0)
True

Scores lie in [0, 1], higher is more anomalous; 0.5 is where a detector would alarm on its
own (see :mod:`detectors.contract.levels`). A snapshot is a JSON-able dict with the detector's name,
its parameters and its learned state, so a Faust table can hold it and any worker can
:func:`restore` it.
"""

from __future__ import annotations

import copy
import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from detectors.contract.levels import ALARM

Snapshot = dict[str, Any]
Evidence = dict[str, float | int | str | None]
FloatArray = npt.NDArray[np.float64]

SNAPSHOT_VERSION = 1
STATISTICAL_CAP = 0.8
"""A statistical anomaly alone reaches level III at most: levels II and I come from the
standards' limits, or from spread and time through escalation."""
FAULT = "fault"
"""An evidence key: a statistical member's score is its sensor's fault (``default``'s
still question: a stuck sensor), not a condition of its place. A bank counts it with its
faults."""
NO_NEWS = 0.2
"""What a reading of an episode already raised scores where it is no more unusual than the
readings just before it (``default``): news is an episode's onset and its worsening, not
every reading it goes on. 0.2 is one reading in a hundred, what an ordinary stream shows
every hundred readings."""
CONTINUES = "continues"
"""An evidence key: the reading's own score where it continues an episode and scores
:data:`NO_NEWS`. A bank counts it as its own score up to
:data:`~detectors.scoring.likelihood.HELD`, so the alert raised at the onset stays up
(over the engine's clearing level) and is not raised again (under an alarm)."""


@runtime_checkable
class Detector(Protocol):
    """What the worker, the evaluation and the CLI call on every detector."""

    name: ClassVar[str]

    def score_one(self, ts_ms: int, value: float) -> float:
        """How anomalous ``value`` at ``ts_ms`` is, in [0, 1]; does not change the state."""
        ...

    def learn_one(self, ts_ms: int, value: float) -> None:
        """Update the state with a reading that has been scored."""
        ...

    def evidence(self) -> Evidence:
        """Why the last :meth:`score_one` said what it did (threshold, expected, forecast)."""
        ...

    def snapshot(self) -> Snapshot:
        """Parameters and learned state as plain, JSON-able data."""
        ...


class BaseDetector:
    """Shared plumbing: snapshot/restore from ``_params``/``_state``/``_load``, and batches."""

    name: ClassVar[str] = ""

    def _params(self) -> dict[str, Any]:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """Learned state as new plain containers (never the live ones)."""
        raise NotImplementedError

    def _load(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def score_one(self, ts_ms: int, value: float) -> float:
        raise NotImplementedError

    def learn_one(self, ts_ms: int, value: float) -> None:
        raise NotImplementedError

    def evidence(self) -> Evidence:
        return {}

    def snapshot(self) -> Snapshot:
        return {
            "detector": self.name,
            "version": SNAPSHOT_VERSION,
            "params": copy.deepcopy(self._params()),
            "state": self._state(),
        }

    def state(self) -> dict[str, Any]:
        """Only the learned state (fresh plain data, shares nothing with the detector):
        what a worker writes to its table each batch, the parameters being rebuilt from
        the source's profile. :meth:`load_state` puts it back."""
        return self._state()

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._load(state)

    def clone(self) -> BaseDetector:
        """A fresh detector with the same parameters and no learned state."""
        return type(self)(**self._params())

    def score_learn_many(
        self, ts_ms: Sequence[int] | npt.NDArray[np.int64], values: Sequence[float] | FloatArray
    ) -> FloatArray:
        """Score then learn each reading in order; the same as the loop, often faster."""
        scores = np.empty(len(values), dtype=np.float64)
        for i, (ts, value) in enumerate(zip(ts_ms, values, strict=True)):
            scores[i] = self.score_one(int(ts), float(value))
            self.learn_one(int(ts), float(value))
        return scores

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BaseDetector) and self.snapshot() == other.snapshot()

    __hash__ = None  # type: ignore[assignment]


D = TypeVar("D", bound=type[BaseDetector])
_REGISTRY: dict[str, type[BaseDetector]] = {}


def register(cls: D) -> D:
    """Class decorator: make a detector restorable and listable by its ``name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"detector name {cls.name!r} is empty or taken")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """The names of every registered detector, sorted."""
    return sorted(_REGISTRY)


def detector_class(name: str) -> type[BaseDetector]:
    """The class registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown detector {name!r}; known: {', '.join(names())}") from None


def restore(snapshot: Mapping[str, Any]) -> BaseDetector:
    """The detector a :meth:`BaseDetector.snapshot` describes, ready to continue."""
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {snapshot.get('version')!r} is not supported")
    cls = detector_class(str(snapshot["detector"]))
    detector = cls(**copy.deepcopy(dict(snapshot["params"])))
    detector._load(copy.deepcopy(dict(snapshot["state"])))  # the snapshot stays the caller's
    return detector


def squash(excess: float, alarm: float, cap: float = STATISTICAL_CAP) -> float:
    """Map a non-negative statistic to a score: 0 at 0, :data:`ALARM` at ``alarm``, below
    ``cap`` always.

    >>> round(squash(4.0, alarm=4.0), 3), squash(0.0, alarm=4.0), squash(1e9, 4.0) <= 0.8
    (0.5, 0.0, True)
    """
    if excess <= 0.0:
        return 0.0
    ratio = ALARM / cap  # the fraction of cap reached at the alarm point
    half = alarm * math.sqrt((1 - ratio) / ratio)
    return cap * excess * excess / (excess * excess + half * half)


def clip01(x: float) -> float:
    """``x`` limited to [0, 1]."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector kept out of a block that builds many containers
    and no reference cycle (a snapshot's plain data): refcounting frees them all, and the
    collections their allocations would set off only walk them. Left as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
