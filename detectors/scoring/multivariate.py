"""The worker's multivariate model: features of each reading (its distance from a fast and
a slow average, its step, and the time of day) judged jointly by the same
:class:`~detectors.scoring.rowfit.RowFit` that ``python -m detectors score-multi`` fits to
many columns, trained from history, its surprises calibrated on the training rows.

Training is a pure function of arrays; :func:`dumps`/:func:`loads` turn a model into
versioned bytes that the CLI writes to a file and the worker reads at start-up. Features
are per series (scaled by the series' own spread), so one model serves every sensor of a
metric. The fit is applied once per batch: :meth:`MultivariateDetector.features_one`
gathers rows and :meth:`TrainedModel.scores` scores them together.

(Until model version 3 this was an IsolationForest. A forest cannot tell "far outside"
from "just outside" its training data, needed a second check for that, and was a second
multivariate method beside ``score-multi``'s; the fit answers both with one piece of code.)
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.scoring.base import BaseDetector, Evidence, FloatArray, register
from detectors.scoring.likelihood import surprise_scores
from detectors.scoring.rowfit import RowFit

MODEL_FORMAT = "citybrain.multivariate"
MODEL_VERSION = 3
KNOWN_FORMATS = (MODEL_FORMAT, "citybrain.iforest")  # the latter: versions 1 and 2
TAIL_P = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
"""Where the training rows' surprise distribution is kept: its quantiles at these tail
probabilities (beyond the last, an exponential tail fitted to the exceedances)."""
FEATURES = ("z_fast", "z_slow", "step", "hour_sin", "hour_cos")


def calibrated(raw: FloatArray, grid: FloatArray, excess: float) -> FloatArray:
    """``-log10`` of each raw surprise's tail probability among the training rows, from the
    training quantiles ``grid`` at the tail probabilities :data:`TAIL_P` (log-linear
    between them; past the last, an exponential tail of mean ``excess``). Many training
    rows share the lowest raw surprise (0), so a tie takes the largest probability."""
    levels = -np.log10(np.array(TAIL_P))
    hi = np.searchsorted(grid, raw, side="left")  # the first quantile at or above raw
    inside = np.clip(hi, 1, len(grid) - 1)
    lo = inside - 1
    span = np.maximum(grid[inside] - grid[lo], 1e-12)
    frac = np.clip((raw - grid[lo]) / span, 0.0, 1.0)
    between = levels[lo] + frac * (levels[inside] - levels[lo])
    beyond = levels[-1] + (raw - grid[-1]) / (excess * math.log(10.0))
    result: FloatArray = np.where(hi == 0, 0.0, np.where(hi >= len(grid), beyond, between))
    return result


@dataclass(frozen=True)
class TrainedModel:
    """A :class:`~detectors.scoring.rowfit.RowFit` of normal feature rows (the model
    ``score-multi`` fits to its columns) and how its surprises fall on those rows."""

    model_id: str
    metric: str
    fit: RowFit
    raw_grid: list[float]  # training rows' RowFit surprises at the tail probabilities TAIL_P
    raw_excess: float  # their mean excess over the last of them (the 99th percentile)
    feature_params: dict[str, float]
    rows: int

    def surprises(self, rows: FloatArray) -> FloatArray:
        """``-log10`` of each feature row's tail probability against the training rows: how
        rarely a training row was as surprising to the fit (a row far from the normal
        cloud, a feature breaking from the others, or one out of its range)."""
        raw = self.fit.surprises(rows)
        return calibrated(raw, np.array(self.raw_grid), self.raw_excess)

    def scores(self, rows: FloatArray) -> FloatArray:
        """Graded scores of feature rows (n x len(FEATURES)), on every statistical
        detector's scale: 0.5 is a row as rare as one in 100,000 training rows would be."""
        if len(rows) == 0:
            return np.zeros(0)
        return surprise_scores(self.surprises(rows))


@register
class MultivariateDetector(BaseDetector):
    """Scores readings with a :class:`TrainedModel` bound by :meth:`bind` (the snapshot
    names the model by id; the worker binds the model it loaded)."""

    name = "multivariate"

    def __init__(
        self,
        model_id: str = "",
        fast_alpha: float = 0.3,
        slow_alpha: float = 0.005,
        tz_offset_h: float = 8.0,
        min_scale: float = 1e-6,
        warmup: int = 30,
    ) -> None:
        self.model_id, self.fast_alpha, self.slow_alpha = model_id, fast_alpha, slow_alpha
        self.tz_offset_h, self.min_scale, self.warmup = tz_offset_h, min_scale, warmup
        self.model: TrainedModel | None = None
        self._fast = self._slow = self._dev = self._last = 0.0
        self._count = 0
        self._evidence: Evidence = {}

    def bind(self, model: TrainedModel) -> MultivariateDetector:
        if self.model_id and model.model_id != self.model_id:
            raise ValueError(f"detector wants model {self.model_id}, got {model.model_id}")
        self.model_id, self.model = model.model_id, model
        return self

    def _params(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id, "fast_alpha": self.fast_alpha,
            "slow_alpha": self.slow_alpha, "tz_offset_h": self.tz_offset_h,
            "min_scale": self.min_scale, "warmup": self.warmup,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {"ewm": (self._fast, self._slow, self._dev, self._last), "count": self._count}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._fast, self._slow, self._dev, self._last = (float(x) for x in state["ewm"])
        self._count = int(state["count"])

    def warm(self) -> bool:
        return self._count >= self.warmup

    def features_one(self, ts_ms: int, value: float) -> tuple[float, ...]:
        """The feature row of a reading, from the state before it (a tuple of floats: a
        batch holds one per reading, and the collector soon stops tracking those)."""
        scale = max(1.2533 * self._dev, self.min_scale)
        hour = ((ts_ms / 3_600_000) + self.tz_offset_h) % 24 * (2 * math.pi / 24)
        return (
            (value - self._fast) / scale,
            (value - self._slow) / scale,
            (value - self._last) / scale,
            math.sin(hour),
            math.cos(hour),
        )

    def score_one(self, ts_ms: int, value: float) -> float:
        if self.model is None:
            raise RuntimeError(f"model {self.model_id or '?'} is not bound")
        if not self.warm():
            return 0.0
        row = np.array([self.features_one(ts_ms, value)])
        return float(self.model.scores(row)[0])

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._count += 1
        if self._count == 1:
            self._fast = self._slow = self._last = value
            return
        slow = 1.0 / self._count
        if not slow > self.slow_alpha:  # max(slow_alpha, 1 / count), as max picks
            slow = self.slow_alpha
        self._dev += slow * (abs(value - self._slow) - self._dev)
        self._slow += slow * (value - self._slow)
        self._fast += self.fast_alpha * (value - self._fast)
        self._last = value

    def evidence(self) -> Evidence:
        return self._evidence

    def score_learn_many(
        self, ts_ms: Sequence[int] | npt.NDArray[np.int64], values: Sequence[float] | FloatArray
    ) -> FloatArray:
        """Features of the whole batch in order, then one call to the model."""
        if self.model is None:
            raise RuntimeError(f"model {self.model_id or '?'} is not bound")
        rows, warm = [], []
        for ts, value in zip(ts_ms, values, strict=True):
            warm.append(self.warm())
            rows.append(self.features_one(int(ts), float(value)))
            self.learn_one(int(ts), float(value))
        scores = self.model.scores(np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES)))
        return np.where(np.array(warm, dtype=bool), scores, 0.0)


def feature_rows(
    ts_ms: npt.NDArray[np.int64], values: FloatArray, detector: MultivariateDetector
) -> FloatArray:
    """Feature rows of a series once ``detector`` is warm (it learns the series)."""
    rows = []
    for ts, value in zip(ts_ms.tolist(), values.tolist(), strict=True):
        if detector.warm():
            rows.append(detector.features_one(ts, value))
        detector.learn_one(ts, value)
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def train(
    history: Sequence[tuple[npt.NDArray[np.int64], FloatArray]],
    metric: str,
    seed: int = 0,
    max_rows: int = 20_000,
    slow_alpha: float = 0.005,
) -> TrainedModel:
    """Fit a model from the history of one or more series (each ``(ts_ms, values)``);
    ``slow_alpha`` should suit the cadence (about one day of memory)."""
    blocks = [feature_rows(ts, v, MultivariateDetector(slow_alpha=slow_alpha)) for ts, v in history]
    rows = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)))
    if len(rows) < 50:
        raise ValueError(f"{len(rows)} feature rows are too few to train a model for {metric}")
    rng = np.random.default_rng(seed)
    if len(rows) > max_rows:
        rows = rows[np.sort(rng.choice(len(rows), max_rows, replace=False))]
    fit = RowFit.of(rows)
    raw = fit.surprises(rows)
    grid = np.quantile(raw, [1.0 - p for p in TAIL_P])
    grid[0] = raw.min()
    exceedances = raw[raw > grid[-1]] - grid[-1]
    digest = hashlib.sha256(rows.tobytes() + f"{metric}:{seed}".encode()).hexdigest()[:12]
    return TrainedModel(
        model_id=f"{metric}-v{MODEL_VERSION}-{digest}",
        metric=metric,
        fit=fit,
        raw_grid=np.maximum.accumulate(grid).tolist(),
        raw_excess=float(exceedances.mean()) if len(exceedances) else 1e-3,
        feature_params={"slow_alpha": slow_alpha},
        rows=len(rows),
    )


def dumps(model: TrainedModel) -> bytes:
    """Versioned bytes of a model (a pickle: load only files you trust)."""
    envelope = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "model": model}
    return pickle.dumps(envelope, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> TrainedModel:
    """The model in bytes from :func:`dumps`; refuses other formats and versions."""
    envelope = pickle.loads(blob)  # noqa: S301 - model files come from our own train command
    if not isinstance(envelope, dict) or envelope.get("format") not in KNOWN_FORMATS:
        raise ValueError("not a citybrain model file")
    if envelope.get("version") != MODEL_VERSION:
        raise ValueError(f"model file version {envelope.get('version')} != {MODEL_VERSION}")
    model = envelope["model"]
    if not isinstance(model, TrainedModel):
        raise ValueError("model file holds no TrainedModel")
    return model
