"""A bank: the detectors one series runs, and how their scores combine.

Members play roles: ``limit`` and ``forecast`` (the standards' rules), ``stat`` (statistical
voters), ``burst`` (case reports) and ``fault`` (sensor health). The *condition* score is
the highest of the limit, forecast and burst scores and the second-highest statistical
vote, so one statistical detector alone never raises an alert (members of one ``family``,
such as EWMA and CUSUM on the same residual, cast a single vote: their best), capped at
level III (a statistic alone is never a major emergency); the *fault*
score is the highest health score, or a statistical member's whose evidence marks it as
its sensor's fault (:data:`~detectors.scoring.base.FAULT`: a stuck sensor), which then
casts no vote. A statistical member's reading that continues an episode scored no news
(:data:`~detectors.scoring.base.CONTINUES`: ``default``'s) counts as its own score up to
:data:`~detectors.scoring.likelihood.HELD`. Members marked ``residual`` see the value minus
the seasonal expectation in units of its usual spread (the rush hour and its larger swings
removed) and wait until the seasonal profile is learnt.

>>> from detectors.scoring.profiles import bank_for
>>> bank = bank_for("air_station", "pm25", cadence_s=60)
>>> [m["label"] for m in bank.members]
['static', 'forecast', 'seasonal', 'robust_z', 'ewma', 'cusum', 'silent', 'stuck']
>>> result = bank.assess(0, 30.0)
>>> result.condition, result.fault
(0.0, 0.0)
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from detectors.scoring.base import (
    CONTINUES,
    FAULT,
    NO_NEWS,
    STATISTICAL_CAP,
    BaseDetector,
    Evidence,
    FloatArray,
    register,
    restore,
)
from detectors.scoring.health import SilentSensor
from detectors.scoring.likelihood import HELD, Graded
from detectors.scoring.multivariate import MultivariateDetector, TrainedModel
from detectors.scoring.seasonal import SeasonalBaseline
from detectors.scoring.wrappers import GuardedLearning, build

CONDITION_ROLES = ("limit", "forecast", "burst")
EVIDENCE_FLOOR = NO_NEWS
"""A member's evidence is kept from this score up (a reading that continues an episode,
scored :data:`~detectors.scoring.base.NO_NEWS`, carries its own score in it)."""
NAN = float("nan")


class BankResult(NamedTuple):
    """A bank's verdict on one reading."""

    condition: float
    condition_by: str  # label of the member that set it ("" if none)
    condition_evidence: Evidence
    fault: float
    fault_by: str
    fault_evidence: Evidence
    scores: tuple[float, ...]  # per member, in member order


if TYPE_CHECKING:
    _Doubles = array[float]
else:
    _Doubles = array  # not subscriptable at run time before Python 3.12


class Raw(_Doubles):
    """Members' scores for one reading (the array itself, in member order) and their
    evidence (None below :data:`EVIDENCE_FLOOR`; the evidence list itself None while no
    member has any).

    A batch keeps one per reading until it is combined, so it is one small object whose
    scores are plain doubles: the collector promotes whatever lives through a batch and
    walks it at each collection (a list's floats one by one), and then sweeps the whole
    heap, every bank's state included."""

    __slots__ = ("evidence",)
    evidence: list[Evidence | None] | None

    def __new__(cls) -> Raw:
        raw = cast("Raw", super().__new__(cls, "d"))
        raw.evidence = None
        return raw

    @property
    def scores(self) -> array[float]:
        return self


class Pending(NamedTuple):
    """A multivariate score still to be computed in a batch."""

    raw: Raw
    position: int
    model: TrainedModel
    row: tuple[float, ...]


def _unwrap(detector: BaseDetector) -> BaseDetector:
    return detector.inner if isinstance(detector, GuardedLearning) else detector


@register
class Bank(BaseDetector):
    """The detectors of one series. ``members`` is plain data: a list of
    ``{"label", "role", "residual", "detector": {"detector": name, "params": {...}}}``."""

    name = "bank"

    def __init__(self, members: Sequence[Mapping[str, Any]], votes: int = 2) -> None:
        self.members, self.votes = members, votes
        self._detectors = [build(m["detector"]) for m in members]
        # Plain values in tuples, not lists: a worker holds a bank per series, and the
        # collector sweeps every object it tracks (a tuple of plain values it soon leaves)
        self._roles = tuple(str(m["role"]) for m in members)
        self._labels = tuple(str(m["label"]) for m in members)
        self._residual = tuple(bool(m.get("residual", False)) for m in members)
        self._family = tuple(str(m.get("family") or m["label"]) for m in members)
        self._baseline = next(
            (d for d in map(_unwrap, self._detectors) if isinstance(d, SeasonalBaseline)), None
        )
        self._models = tuple(
            i for i, d in enumerate(self._detectors) if isinstance(d, MultivariateDetector)
        )
        self._is_model = tuple(i in self._models for i in range(len(self._detectors)))
        # members that score and learn a reading in one call (the same score, state and
        # evidence as score_one then learn_one): the statistical ones
        self._fused = tuple(isinstance(_unwrap(d), Graded) for d in self._detectors)
        self._silent = [
            (label, d)
            for label, d in zip(self._labels, self._detectors, strict=True)
            if isinstance(d, SilentSensor)
        ]
        # indices of statistical voters, by family; of fault and of condition members
        families: dict[str, list[int]] = {}
        for i, role in enumerate(self._roles):
            if role == "stat":
                families.setdefault(self._family[i], []).append(i)
        self._families = tuple(tuple(members) for members in families.values())
        self._faults = tuple(i for i, r in enumerate(self._roles) if r == "fault")
        self._conditions = tuple(i for i, r in enumerate(self._roles) if r in CONDITION_ROLES)
        self._last: BankResult | None = None

    def _params(self) -> dict[str, Any]:
        return {"members": [dict(m) for m in self.members], "votes": self.votes}

    def _state(self) -> dict[str, Any]:
        return {"members": tuple([d._state() for d in self._detectors])}  # what state() returns

    def _load(self, state: Mapping[str, Any]) -> None:
        for detector, member_state in zip(self._detectors, state["members"], strict=True):
            detector._load(member_state)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._labels)

    def member(self, label: str) -> BaseDetector:
        """The detector playing ``label`` (unwrapped from any guard)."""
        return _unwrap(self._detectors[self._labels.index(label)])

    def bind(self, models: Mapping[str, TrainedModel]) -> Bank:
        """Give the multivariate members their loaded models (by model id); a member whose
        model is missing abstains."""
        for i in self._models:
            modelled = self._detectors[i]
            assert isinstance(modelled, MultivariateDetector)
            if modelled.model_id in models:
                modelled.bind(models[modelled.model_id])
        return self

    def assess(self, ts_ms: int, value: float) -> BankResult:
        """Score, then learn, one reading: the worker's fused step."""
        return self.combine(self.assess_raw(ts_ms, value, None))

    def assess_raw(self, ts_ms: int, value: float, pending: list[Pending] | None) -> Raw:
        """Each member's score and evidence for one reading, learnt. With ``pending``,
        multivariate members defer: they append their feature row and score NaN until
        :func:`score_pending` fills it in, a whole batch per model."""
        expected = self._baseline.expected(ts_ms) if self._baseline is not None else None
        raw = scores = Raw()
        for detector, residual, is_model, fused in zip(
            self._detectors, self._residual, self._is_model, self._fused, strict=True
        ):
            x = value
            if residual:
                if expected is None:
                    scores.append(0.0)
                    continue
                x = (value - expected[0]) / expected[1]
            if fused:  # learnt already; its evidence is still the score's
                score = detector.step(ts_ms, x)  # type: ignore[attr-defined]
            elif is_model:
                score = self._model_score(detector, ts_ms, x, raw, pending)
            else:
                score = detector.score_one(ts_ms, x)
            if score >= EVIDENCE_FLOOR:
                if raw.evidence is None:
                    raw.evidence = [None] * len(self._detectors)
                raw.evidence[len(scores)] = detector.evidence()
            scores.append(score)
            if not fused:
                detector.learn_one(ts_ms, x)
        return raw

    def _model_score(
        self, detector: BaseDetector, ts_ms: int, x: float, raw: Raw, pending: list[Pending] | None
    ) -> float:
        assert isinstance(detector, MultivariateDetector)
        if detector.model is None or not detector.warm():
            return 0.0
        if pending is None:
            return detector.score_one(ts_ms, x)
        pending.append(
            Pending(raw, len(raw.scores), detector.model, detector.features_one(ts_ms, x))
        )
        return NAN

    def combine(self, raw: Raw) -> BankResult:
        """The condition and fault scores from the members' scores."""
        scores = raw.scores
        condition, by, fault, fault_by = 0.0, -1, 0.0, -1
        for i in self._faults:
            if scores[i] > fault:
                fault, fault_by = scores[i], i
        for i in self._conditions:
            if scores[i] > condition:
                condition, by = scores[i], i
        evidence = raw.evidence
        if self._families:
            # each family's ballot: its highest score (NaN, not yet scored, as 0), the
            # later member on a tie, as (score, index) tuples compare
            ballots = []
            for members in self._families:
                vote, voter = 0.0, -1
                for i in members:
                    score = scores[i]
                    if score != score:
                        score = 0.0
                    elif evidence is not None and (marks := evidence[i]):
                        held = marks.get(CONTINUES)
                        if held is not None:  # an episode goes on: its alert stays up
                            score = max(score, min(float(held), HELD))
                        if FAULT in marks:
                            if score > fault:  # its sensor's fault: no vote on the place
                                fault, fault_by = score, i
                            score = 0.0
                    if voter < 0 or score >= vote:
                        vote, voter = score, i
                ballots.append((vote, voter))
            ballots.sort(reverse=True)
            vote, voter = ballots[min(self.votes, len(ballots)) - 1]
            if vote > STATISTICAL_CAP:
                vote = STATISTICAL_CAP
            if vote > condition:
                condition, by = vote, voter
        labels = self._labels
        self._last = BankResult(
            condition, labels[by] if by >= 0 else "",
            (evidence[by] if by >= 0 and evidence is not None else None) or {},
            fault, labels[fault_by] if fault_by >= 0 else "",
            (evidence[fault_by] if fault_by >= 0 and evidence is not None else None) or {},
            tuple(scores),
        )  # fmt: skip
        return self._last

    def resume(self, at_ms: int, gap_from_ms: int) -> bool:
        """Silence counted from ``at_ms`` after a gap in the whole input (see
        :meth:`~detectors.scoring.health.SilentSensor.resume`); whether anything changed."""
        changed = False
        for _, detector in self._silent:
            changed = detector.resume(at_ms, gap_from_ms) or changed
        return changed

    def tick(self, now_ms: int) -> tuple[float, str]:
        """The fault score of silence at ``now_ms`` (no reading needed)."""
        best = (0.0, "")
        for label, detector in self._silent:
            best = max(best, (detector.score_at(now_ms), label))
        return best

    def member_snapshot(self, label: str) -> dict[str, Any]:
        """A snapshot of the member ``label`` as configured here (wrappers included)."""
        return self._detectors[self._labels.index(label)].snapshot()

    def evidence_of(self, label: str) -> Evidence:
        """The evidence of the member ``label`` for its last score."""
        return self.member(label).evidence()

    def score_one(self, ts_ms: int, value: float) -> float:
        """max(condition, fault) of a reading; learns nothing (a copy does the work)."""
        twin = restore(self.snapshot())
        assert isinstance(twin, Bank)
        twin.bind({d.model_id: d.model for d in self._model_members() if d.model})
        self._last = twin.assess(ts_ms, value)
        return max(self._last.condition, self._last.fault)

    def _model_members(self) -> list[MultivariateDetector]:
        return [d for d in self._detectors if isinstance(d, MultivariateDetector)]

    def learn_one(self, ts_ms: int, value: float) -> None:
        self.assess(ts_ms, value)

    def score_learn_many(
        self, ts_ms: Sequence[int] | npt.NDArray[np.int64], values: Sequence[float] | FloatArray
    ) -> FloatArray:
        """Score then learn in order; multivariate members are scored as one batch."""
        pending: list[Pending] = []
        raws = [
            self.assess_raw(int(t), float(v), pending) for t, v in zip(ts_ms, values, strict=True)
        ]
        score_pending(pending)
        results = [self.combine(raw) for raw in raws]
        return np.array([max(r.condition, r.fault) for r in results], dtype=np.float64)

    def evidence(self) -> Evidence:
        last = self._last
        if last is None:
            return {}
        if last.condition >= last.fault and last.condition_by:
            return {"detector": last.condition_by, **last.condition_evidence}
        return {"detector": last.fault_by, **last.fault_evidence} if last.fault_by else {}


def score_pending(pending: Sequence[Pending]) -> None:
    """Fill in deferred multivariate scores: one scikit-learn call per model."""
    by_model: dict[str, list[Pending]] = {}
    for item in pending:
        by_model.setdefault(item.model.model_id, []).append(item)
    for items in by_model.values():
        rows = np.array([item.row for item in items], dtype=np.float64)
        for item, score in zip(items, items[0].model.scores(rows).tolist(), strict=True):
            item.raw.scores[item.position] = score
