"""The "Leekasso": keep the 10 pixels most associated with the label, fit a linear model on them.

Two named variants, never silent options:

* :class:`Leekasso` — Jeff Leek's own (CLAIMS.md, "Leek's experiment", from his post's R
  source): per-pixel one-way F-test p-values, ``rank(p) <= 10`` with R's averaged ranks,
  ordinary least squares of the 0/1 label on those pixels with an intercept (R's ``lm``), label 1
  when the fitted value exceeds 0.5.
* :class:`BeamLeekasso` — Andrew Beam's Python re-implementation (CLAIMS.md, "Beam's
  experiment"): a Welch-style score, top 10, logistic regression with C = 1e6 and the liblinear
  solver he had in 2017.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from models.base import Contender

__all__ = ["Leekasso", "BeamLeekasso", "f_test_pvalues", "r_lm_rank_and_pivot"]


def f_test_pvalues(X: np.ndarray, y01: np.ndarray) -> np.ndarray:
    """One-way F-test p-value of every column of X against a two-group label (vectorised, as
    R's ``colFtests`` does). Constant columns get NaN; a column that is constant within each
    group but differs between them has F = inf and p = 0."""
    X = np.asarray(X, dtype=np.float64)
    y01 = np.asarray(y01)
    n = X.shape[0]
    grand = X.mean(axis=0)
    ssb = np.zeros(X.shape[1])
    ssw = np.zeros(X.shape[1])
    for g in (0, 1):
        Xg = X[y01 == g]
        mg = Xg.mean(axis=0)
        ssb += Xg.shape[0] * (mg - grand) ** 2
        ssw += ((Xg - mg) ** 2).sum(axis=0)
    df_b, df_w = 1, n - 2
    constant = np.all(X == X[0], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (ssb / df_b) / (ssw / df_w)
    p = stats.f.sf(F, df_b, df_w)
    p = np.where(np.isinf(F), 0.0, p)
    p[constant] = np.nan
    return p


def r_lm_rank_and_pivot(X: np.ndarray, tol: float = 1e-7) -> tuple[int, np.ndarray]:
    """Rank and column order of R's ``lm`` QR (LINPACK ``dqrdc2``, limited column pivoting).

    Householder QR that, before each step, moves to the end every remaining column whose norm
    (of the part not yet explained) has fallen below ``tol`` times its original norm. Columns
    beyond the rank are "aliased": ``lm`` reports NA for their coefficients and predicts without
    them. With more columns than rows, only the first ``n`` non-negligible columns are kept.
    """
    X = np.array(X, dtype=np.float64, copy=True)
    n, p = X.shape
    piv = np.arange(p)
    qraux = np.linalg.norm(X, axis=0)
    work1 = qraux.copy()  # noqa: F841 - kept to mirror the algorithm's bookkeeping
    work2 = np.where(qraux == 0, 1.0, qraux)
    k = p  # columns not (yet) moved to the end
    for l in range(min(n, p)):
        while l < k and qraux[l] < work2[l] * tol:
            order = np.r_[np.arange(l), np.arange(l + 1, p), l]
            X, piv, qraux, work1, work2 = X[:, order], piv[order], qraux[order], work1[order], work2[order]
            k -= 1
        if l == n - 1:
            continue
        nrmxl = np.linalg.norm(X[l:, l])
        if nrmxl == 0:
            continue
        if X[l, l] != 0:
            nrmxl = np.copysign(nrmxl, X[l, l])
        X[l:, l] /= nrmxl
        X[l, l] += 1.0
        for j in range(l + 1, p):
            t = -np.dot(X[l:, l], X[l:, j]) / X[l, l]
            X[l:, j] += t * X[l:, l]
            if qraux[j] != 0:
                tt = max(1.0 - (abs(X[l, j]) / qraux[j]) ** 2, 0.0)
                if abs(tt) < 1e-6:
                    qraux[j] = np.linalg.norm(X[l + 1:, j])
                    work1[j] = qraux[j]
                else:
                    qraux[j] *= np.sqrt(tt)
        qraux[l] = X[l, l]
        X[l, l] = -nrmxl
    return min(k, n), piv


class Leekasso(Contender):
    """Leek's Leekasso, emulating his R code.

    * pixels constant in the training draw are excluded (their F-test is undefined, R ranks
      NA last);
    * keep pixels with ``rank(p) <= n_pixels`` where tied p-values share their average rank, as
      R's ``rank`` does — so a tie can keep 9 or 11 pixels;
    * ``lm(label ~ pixels)`` with an intercept on the raw pixel values, columns in pixel order,
      via R's pivoted QR (tolerance 1e-7): aliased columns are dropped, as R does. At n = 10 the
      fit is often rank-deficient (11 columns, 10 rows): the last columns are then dropped;
    * label 1 when the fitted value exceeds 0.5.
    """

    name = "leekasso"
    source = "Leek 2017 (simplystatistics.org), R source of the post"

    def __init__(self, n_pixels: int = 10, tol: float = 1e-7):
        self.n_pixels = n_pixels
        self.tol = tol

    def _fit01(self, X, y):
        p = f_test_pvalues(X, y)
        ok = ~np.isnan(p)
        ranks = np.full(p.shape, np.inf)
        ranks[ok] = rankdata(p[ok], method="average")
        self.pixels_ = np.flatnonzero(ranks <= self.n_pixels)
        design = np.column_stack([np.ones(len(X)), X[:, self.pixels_]])
        rank, piv = r_lm_rank_and_pivot(design, self.tol)
        used = np.sort(piv[:rank])
        coef, *_ = np.linalg.lstsq(design[:, used], y.astype(np.float64), rcond=None)
        self.columns_ = used            # 0 = intercept, j > 0 = pixels_[j - 1]
        self.coef_ = coef
        self.rank_ = rank

    def _scores(self, X):
        design = np.column_stack([np.ones(len(X)), X[:, self.pixels_]])
        return design[:, self.columns_] @ self.coef_

    def fit_info(self) -> dict:
        return {"pixels_kept": int(len(self.pixels_)), "lm_rank": int(self.rank_)}


class BeamLeekasso(Contender):
    """Beam's Python Leekasso (his repository, final commit).

    Score per pixel |m0 − m1| / (sqrt(s0²/n0 + s1²/n1) + 1e-6) with population standard
    deviations; keep the 10 highest scores (ties broken by pixel order); logistic regression on
    those raw pixels with C = 1e6 and the liblinear solver (scikit-learn's default in 2017; it
    also penalises the intercept). Today's default solver (lbfgs) stops at a different
    near-separating solution and scores lower at small n, so it is not used.
    """

    name = "beam_leekasso"
    source = "Beam 2017, github beamandrew/deep_learning_works (final commit)"

    def __init__(self, n_pixels: int = 10, C: float = 1e6, random_state: int | None = 0):
        self.n_pixels = n_pixels
        self.C = C
        self.random_state = random_state

    def _fit01(self, X, y):
        a, b = X[y == 0], X[y == 1]
        score = np.abs(a.mean(0) - b.mean(0)) / (
            np.sqrt(a.var(0) / len(a) + b.var(0) / len(b)) + 1e-6)
        self.pixels_ = np.sort(np.argsort(-score, kind="stable")[: self.n_pixels])
        rs = None if self.random_state is None else int(self.random_state) % (2**32)
        self.model_ = LogisticRegression(C=self.C, solver="liblinear", random_state=rs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X[:, self.pixels_], y)

    def _scores(self, X):
        return self.model_.predict_proba(X[:, self.pixels_])[:, 1]
