"""A multivariate model: an IsolationForest over features of each reading (its distance
from a fast and a slow average, its step, and the time of day), trained from history, with
the training data's support as a second opinion for points far outside it.

Training is a pure function of arrays; :func:`dumps`/:func:`loads` turn a model into
versioned bytes that the CLI writes to a file and the worker reads at start-up. Features
are per series (scaled by the series' own spread), so one model serves every sensor of a
metric. scikit-learn is called once per batch: :meth:`IsolationForestDetector.features_one`
gathers rows and :meth:`TrainedModel.scores` scores them together.
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
import sklearn
from sklearn.ensemble import IsolationForest

from detectors.scoring.base import BaseDetector, Evidence, FloatArray, register
from detectors.scoring.likelihood import surprise_scores

MODEL_FORMAT = "citybrain.iforest"
MODEL_VERSION = 2
TAIL_P = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
"""Where the training rows' anomaly distribution is kept: its quantiles at these tail
probabilities (beyond the last, an exponential tail fitted to the exceedances)."""
SUPPORT_Q = (0.001, 0.01, 0.99, 0.999)
"""Per feature, the training quantiles that bound its support and set the rate its tails
fall off at: each further gap as wide as the 99th-to-99.9th percentile's is a decade."""
FEATURES = ("z_fast", "z_slow", "step", "hour_sin", "hour_cos")
TREES = 50
LARGE_BATCH = 1000  # rows from which scikit-learn's own scoring is faster


@dataclass(frozen=True)
class CompiledForest:
    """A fitted IsolationForest as flat arrays, so that a handful of rows is scored with a
    few NumPy operations instead of a scikit-learn call per tree (same scores)."""

    feature: npt.NDArray[np.int64]
    threshold: FloatArray
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    leaf_depth: FloatArray  # path length credited at each node when it is a leaf
    roots: npt.NDArray[np.int64]
    max_depth: int
    normaliser: float  # trees x average path length of max_samples

    @classmethod
    def of(cls, forest: IsolationForest) -> CompiledForest:
        parts: list[list[npt.NDArray[Any]]] = [[], [], [], [], []]
        roots, offset, depth = [], 0, 0
        trees = zip(
            forest.estimators_, forest.estimators_features_, forest._decision_path_lengths,
            forest._average_path_length_per_tree, strict=True,
        )  # fmt: skip
        for estimator, features, path, average in trees:
            tree = estimator.tree_
            nodes = np.arange(tree.node_count)
            leaf = tree.children_left < 0
            parts[0].append(np.where(leaf, 0, np.asarray(features)[np.maximum(tree.feature, 0)]))
            parts[1].append(np.where(leaf, np.inf, tree.threshold))
            parts[2].append(np.where(leaf, nodes, tree.children_left) + offset)
            parts[3].append(np.where(leaf, nodes, tree.children_right) + offset)
            parts[4].append(np.asarray(path, dtype=np.float64) + average - 1.0)
            roots.append(offset)
            offset, depth = offset + tree.node_count, max(depth, tree.max_depth)
        n = forest._max_samples
        average_max = (
            2.0 * (math.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n if n > 2 else 1.0
        )
        feature, threshold, left, right, leaf_depth = (np.concatenate(p) for p in parts)
        return cls(
            feature.astype(np.int64), threshold.astype(np.float64), left.astype(np.int64),
            right.astype(np.int64), leaf_depth, np.array(roots, dtype=np.int64), int(depth),
            float(len(roots) * average_max),
        )  # fmt: skip

    def anomaly(self, rows: FloatArray) -> FloatArray:
        """scikit-learn's anomaly score (``-score_samples``) of each row."""
        x = rows.astype(np.float32).astype(np.float64)  # the trees compare in float32
        at = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        which = np.arange(len(x))[:, None]
        for _ in range(self.max_depth):
            go_left = x[which, self.feature[at]] <= self.threshold[at]
            at = np.where(go_left, self.left[at], self.right[at])
        depths = self.leaf_depth[at].sum(axis=1)
        result: FloatArray = 2.0 ** (-depths / self.normaliser)
        return result


@dataclass(frozen=True)
class TrainedModel:
    """A fitted forest, how its raw scores map to [0, 1], and the feature settings."""

    model_id: str
    metric: str
    forest: IsolationForest
    raw_grid: list[float]  # training anomaly scores at the tail probabilities TAIL_P
    raw_excess: float  # their mean excess over the last of them (the 99th percentile)
    support: list[list[float]]  # per feature, the training quantiles SUPPORT_Q
    feature_params: dict[str, float]
    rows: int
    compiled: CompiledForest

    def anomaly(self, rows: FloatArray) -> FloatArray:
        """The forest's anomaly score: flat arrays for small batches, scikit-learn's
        compiled trees for large ones (identical values)."""
        if len(rows) >= LARGE_BATCH:
            result: FloatArray = -self.forest.score_samples(rows)
            return result
        return self.compiled.anomaly(rows)

    def surprises(self, rows: FloatArray) -> FloatArray:
        """``-log10`` of each feature row's tail probability against the training rows:
        how rarely a training row was as isolated (the forest's anomaly score, its tail
        past the 99th percentile exponential) or, since isolation trees cannot tell "far
        outside" from "just outside", how far beyond the training support a feature lies
        (the rarer, corrected for asking twice and for each feature's two tails)."""
        raw = self.anomaly(rows)
        grid = np.array(self.raw_grid)
        isolated = np.where(
            raw <= grid[-1],
            np.interp(raw, grid, -np.log10(TAIL_P)),
            -math.log10(TAIL_P[-1]) + (raw - grid[-1]) / (self.raw_excess * math.log(10.0)),
        )
        q = np.array(self.support).T  # 4 x features
        above = 2.0 + (rows - q[2]) / np.maximum(q[3] - q[2], 1e-9)
        below = 2.0 + (q[1] - rows) / np.maximum(q[1] - q[0], 1e-9)
        outside = np.maximum(above, below).max(axis=1) - math.log10(2 * len(FEATURES))
        result: FloatArray = np.maximum(np.maximum(isolated, outside) - math.log10(2.0), 0.0)
        return result

    def scores(self, rows: FloatArray) -> FloatArray:
        """Graded scores of feature rows (n x len(FEATURES)), on every statistical
        detector's scale: 0.5 is a row as rare as one in 100,000 training rows would be."""
        if len(rows) == 0:
            return np.zeros(0)
        return surprise_scores(self.surprises(rows))


@register
class IsolationForestDetector(BaseDetector):
    """Scores readings with a :class:`TrainedModel` bound by :meth:`bind` (the snapshot
    names the model by id; the worker binds the model it loaded)."""

    name = "iforest"

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

    def bind(self, model: TrainedModel) -> IsolationForestDetector:
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
        return {"ewm": [self._fast, self._slow, self._dev, self._last], "count": self._count}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._fast, self._slow, self._dev, self._last = (float(x) for x in state["ewm"])
        self._count = int(state["count"])

    def warm(self) -> bool:
        return self._count >= self.warmup

    def features_one(self, ts_ms: int, value: float) -> list[float]:
        """The feature row of a reading, from the state before it."""
        scale = max(1.2533 * self._dev, self.min_scale)
        hour = ((ts_ms / 3_600_000) + self.tz_offset_h) % 24 * (2 * math.pi / 24)
        return [
            (value - self._fast) / scale,
            (value - self._slow) / scale,
            (value - self._last) / scale,
            math.sin(hour),
            math.cos(hour),
        ]

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
        slow = max(self.slow_alpha, 1.0 / self._count)
        self._dev += slow * (abs(value - self._slow) - self._dev)
        self._slow += slow * (value - self._slow)
        self._fast += self.fast_alpha * (value - self._fast)
        self._last = value

    def evidence(self) -> Evidence:
        return self._evidence

    def score_learn_many(
        self, ts_ms: Sequence[int] | npt.NDArray[np.int64], values: Sequence[float] | FloatArray
    ) -> FloatArray:
        """Features of the whole batch in order, then one call to the forest."""
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
    ts_ms: npt.NDArray[np.int64], values: FloatArray, detector: IsolationForestDetector
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
    blocks = [
        feature_rows(ts, v, IsolationForestDetector(slow_alpha=slow_alpha)) for ts, v in history
    ]
    rows = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)))
    if len(rows) < 50:
        raise ValueError(f"{len(rows)} feature rows are too few to train a model for {metric}")
    rng = np.random.default_rng(seed)
    if len(rows) > max_rows:
        rows = rows[np.sort(rng.choice(len(rows), max_rows, replace=False))]
    forest = IsolationForest(n_estimators=TREES, max_samples=256, random_state=seed).fit(rows)
    raw = -forest.score_samples(rows)
    grid = np.quantile(raw, [1.0 - p for p in TAIL_P])
    grid[0] = raw.min()
    exceedances = raw[raw > grid[-1]] - grid[-1]
    digest = hashlib.sha256(rows.tobytes() + f"{metric}:{seed}".encode()).hexdigest()[:12]
    return TrainedModel(
        model_id=f"{metric}-v{MODEL_VERSION}-{digest}",
        metric=metric,
        forest=forest,
        raw_grid=np.maximum.accumulate(grid).tolist(),
        raw_excess=float(exceedances.mean()) if len(exceedances) else 1e-3,
        support=np.quantile(rows, SUPPORT_Q, axis=0).T.tolist(),
        feature_params={"slow_alpha": slow_alpha},
        rows=len(rows),
        compiled=CompiledForest.of(forest),
    )


def dumps(model: TrainedModel) -> bytes:
    """Versioned bytes of a model (a pickle: load only files you trust)."""
    envelope = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "sklearn": sklearn.__version__,
        "model": model,
    }
    return pickle.dumps(envelope, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> TrainedModel:
    """The model in bytes from :func:`dumps`; refuses other formats and versions."""
    envelope = pickle.loads(blob)  # noqa: S301 - model files come from our own train command
    if not isinstance(envelope, dict) or envelope.get("format") != MODEL_FORMAT:
        raise ValueError("not a citybrain model file")
    if envelope.get("version") != MODEL_VERSION:
        raise ValueError(f"model file version {envelope.get('version')} != {MODEL_VERSION}")
    if envelope.get("sklearn") != sklearn.__version__:
        raise ValueError(
            f"model trained with scikit-learn {envelope.get('sklearn')}, "
            f"this is {sklearn.__version__}: retrain it"
        )
    model = envelope["model"]
    if not isinstance(model, TrainedModel):
        raise ValueError("model file holds no TrainedModel")
    return model
