"""A fitted model of normal rows of d numeric columns, and the surprise of new rows under it.

The fit standardises each column robustly (median and MAD, so a few wild training rows do
not set the scale) and estimates the correlation of the standardised columns with
Ledoit-Wolf shrinkage (stable with few rows or nearly collinear sensors). One precision
matrix then asks three questions of a row, each a tail probability turned into a surprise
(``-log10 p``), each corrected for the columns it asks about (Bonferroni):

* **distance**: Hotelling's T^2 of the row, chi-square with d degrees of freedom: the
  row as a whole is far from the normal cloud;
* **relations**: each column's residual given all the others, ``(P z)_j / sqrt(P_jj)``,
  a standard normal under the model: a sensor no longer agrees with its partners
  (a valve closed while the pump runs on), although each value alone is ordinary;
* **columns**: each column's own robust z: one sensor far outside its range.

The largest surprise, corrected for asking three times, is the row's. A streaming detector
asks the same of the mean of the last few rows under a fit of such means (a small shift
that lasts; the fit of means knows how much they wander, autocorrelation included).

>>> rng = np.random.default_rng(0)
>>> latent = rng.normal(size=(500, 1))
>>> rows = np.hstack([latent, latent]) + 0.1 * rng.normal(size=(500, 2))
>>> fit = RowFit.of(rows)
>>> calm, broken = fit.surprises(np.array([[1.0, 1.0], [1.0, -1.0]]))
>>> bool(calm < 2.0 < 10.0 < broken)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.scoring.base import FloatArray
from detectors.scoring.likelihood import normal_surprises

CLIP = 6.0
"""Standardised training values are clipped here before the correlation is estimated, so a
stray spike in the normal rows cannot tilt it."""
_MAD_SIGMA = 1.4826


def chi2_surprises(t2: FloatArray, dof: int) -> FloatArray:
    """``-log10`` of the chi-square tail beyond each ``t2`` (Wilson-Hilferty: a cube root
    of a chi-square is nearly normal, close enough in the tail for a log scale).

    >>> np.round(chi2_surprises(np.array([3.84, 0.0, -1.0]), 1), 1).tolist()
    [1.3, 0.0, 0.0]
    """
    spread = 2.0 / (9.0 * dof)
    cube = np.cbrt(np.maximum(t2, 0.0) / dof)
    z = (cube - (1.0 - spread)) / math.sqrt(spread)
    result: FloatArray = np.where(z > 0.0, normal_surprises(np.maximum(z, 0.0), False), 0.0)
    return result


def _scales(rows: FloatArray, centre: FloatArray) -> FloatArray:
    """Robust spread of each column; the standard deviation where half the values tie (a
    quantised sensor), a tiny floor where the column never moved."""
    mad = _MAD_SIGMA * np.median(np.abs(rows - centre), axis=0)
    spread = np.where(mad > 0.0, mad, rows.std(axis=0))
    floor = 1e-6 * np.maximum(np.abs(centre), 1.0)
    result: FloatArray = np.maximum(spread, floor)
    return result


@dataclass(frozen=True)
class RowFit:
    """Robust centre and scale of each column, and the shrunk precision matrix of the
    standardised columns."""

    centre: FloatArray
    scale: FloatArray
    precision: FloatArray

    @classmethod
    def of(cls, rows: FloatArray) -> RowFit:
        """The fit of ``rows`` (n x d, n >= 2)."""
        rows = np.asarray(rows, dtype=np.float64)
        centre = np.median(rows, axis=0)
        scale = _scales(rows, centre)
        z = np.clip((rows - centre) / scale, -CLIP, CLIP)
        # Imported here: scikit-learn (with scipy.stats) takes seconds to import, and a
        # worker that only restores fitted models must be processing again in seconds.
        from sklearn.covariance import ledoit_wolf

        covariance, _ = ledoit_wolf(z)
        return cls(centre, scale, np.linalg.pinv(np.atleast_2d(covariance), hermitian=True))

    @property
    def columns(self) -> int:
        return len(self.centre)

    def standardise(self, rows: FloatArray) -> FloatArray:
        result: FloatArray = (np.atleast_2d(rows) - self.centre) / self.scale
        return result

    def parts(self, rows: FloatArray) -> FloatArray:
        """Surprise of each question (n x 3: distance, relations, columns) for each row."""
        z, d, p = self.standardise(rows), self.columns, self.precision
        t2 = np.einsum("ij,jk,ik->i", z, p, z)
        residual = (z @ p) / np.sqrt(np.maximum(np.diag(p), 1e-12))
        bonferroni = math.log10(d)
        out = np.empty((len(z), 3))
        out[:, 0] = chi2_surprises(t2, d)
        out[:, 1] = normal_surprises(np.abs(residual).max(axis=1)) - bonferroni
        out[:, 2] = normal_surprises(np.abs(z).max(axis=1)) - bonferroni
        return out

    def surprises(self, rows: FloatArray) -> FloatArray:
        """The surprise of each row: its largest question's, corrected for asking three."""
        result: FloatArray = np.maximum(self.parts(rows).max(axis=1) - math.log10(3), 0.0)
        return result

    def dump(self) -> dict[str, Any]:
        """The fit as plain data."""
        return {
            "centre": self.centre.tolist(),
            "scale": self.scale.tolist(),
            "precision": self.precision.tolist(),
        }

    @classmethod
    def load(cls, state: Mapping[str, Any]) -> RowFit:
        arrays = (np.array(state[k], dtype=np.float64) for k in ("centre", "scale", "precision"))
        return cls(*arrays)
