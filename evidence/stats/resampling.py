"""Resampling on the paired design, for one data set or a batch of them at once.

A *design* is the list of (n, draw) pairs sorted by n: S sizes, k_s draws at size s. A batch of
data sets on that design is a matrix ``D`` (B × N) of per-pair differences A − B. The estimand
of each row is the equal-weight mean over sizes of the per-size mean difference, i.e. ``D @ w``
with ``w_i = 1 / (S k_s)``.

* :class:`SignFlip` — the one-sided stratified sign-flip permutation test of a shifted null
  (H0: estimand == shift). Every pair's sign flips independently; all 2^N sign vectors when
  ``2^N <= n_resamples`` (exact p), otherwise ``n_resamples`` random ones with the
  ``(count + 1) / (n_resamples + 1)`` p-value (never 0). One sign matrix serves every row of a
  batch, so the null distributions of B data sets are one matrix product.
* :func:`bootstrap_interval` — the stratified bootstrap interval (draws resampled within each
  size), BCa with a percentile fallback per row where BCa is undefined. It reproduces
  :func:`scipy.stats.bootstrap` (``method="BCa"``, one sample per size, ``vectorized=True``,
  the same random generator) — the resample indices are drawn exactly as scipy draws them, size
  by size — but computes the bootstrap distribution of a whole batch as one product of the data
  with the resample counts; ``tests/test_stats.py`` checks it against scipy.
* :func:`ols_slope_hc3` — the OLS slope of the per-pair difference on log n with HC3 standard
  errors, for a batch (checked against statsmodels).

Batches are what make the calibration tests cheap: thousands of simulated data sets go through
the same code as a claim's one data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["Design", "SignFlip", "bootstrap_interval", "ols_slope_hc3"]


@dataclass(frozen=True)
class Design:
    """Sizes and draws of a paired design; pairs are sorted by n."""

    n: np.ndarray  # (N,) size of each pair, sorted

    @classmethod
    def of(cls, n) -> "Design":
        n = np.asarray(n, dtype=np.int64)
        if n.ndim != 1 or n.size == 0:
            raise ValueError("a design needs a non-empty 1-D array of sizes n")
        if np.any(np.diff(n) < 0):
            raise ValueError("a design's pairs must be sorted by n")
        return cls(n)

    @classmethod
    def grid(cls, sizes, draws: int) -> "Design":
        """``draws`` pairs at each size (the simulation designs)."""
        return cls.of(np.repeat(np.asarray(sorted(sizes), dtype=np.int64), int(draws)))

    @property
    def sizes(self) -> np.ndarray:
        return np.unique(self.n)

    @property
    def counts(self) -> np.ndarray:
        return np.unique(self.n, return_counts=True)[1]

    @property
    def slices(self) -> list[slice]:
        _, starts, counts = np.unique(self.n, return_index=True, return_counts=True)
        return [slice(int(a), int(a + c)) for a, c in zip(starts, counts)]

    @property
    def weights(self) -> np.ndarray:
        counts = self.counts
        return np.repeat(1.0 / (len(counts) * counts), counts)

    def estimand(self, D: np.ndarray) -> np.ndarray:
        return np.asarray(D, dtype=np.float64) @ self.weights

    def se(self, D: np.ndarray) -> np.ndarray:
        """Standard error of the estimand per row: sqrt(sum_s sd_s^2 / k_s) / S."""
        D = np.atleast_2d(np.asarray(D, dtype=np.float64))
        var = sum(D[:, s].var(axis=1, ddof=1) / (s.stop - s.start) for s in self.slices)
        return np.sqrt(var) / len(self.slices)


class SignFlip:
    """Stratified sign-flip test on one design; p-values for a batch of data sets."""

    def __init__(self, design: Design, *, n_resamples: int, seed):
        self.design = design
        N = design.n.size
        if N < 63 and 2**N <= n_resamples:
            codes = np.arange(2**N, dtype=np.int64)[:, None]
            flips = ((codes >> np.arange(N, dtype=np.int64)) & 1).T
            self.exact = True
        else:
            rng = np.random.default_rng(seed)
            raw = rng.integers(0, 256, size=(N, (n_resamples + 7) // 8), dtype=np.uint8)
            flips = np.unpackbits(raw, axis=1)[:, :n_resamples]
            self.exact = False
        # flip indicators (N x R) as floats: the null sums of a batch are one matrix product
        self._flips = np.ascontiguousarray(flips, dtype=np.float64)

    def p(self, D: np.ndarray, shift: float = 0.0, *, alternative: str = "greater",
          chunk: int = 256) -> np.ndarray:
        """One-sided p per row of D of H0: estimand == shift (``greater``: evidence that the
        estimand exceeds ``shift``; ``less``: that it is below)."""
        if alternative not in ("greater", "less"):
            raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}.")
        D = np.atleast_2d(np.asarray(D, dtype=np.float64))
        w = self.design.weights
        out = np.empty(D.shape[0])
        adj = 0 if self.exact else 1
        R = self._flips.shape[1]
        for start in range(0, D.shape[0], chunk):
            wd = w * (D[start:start + chunk] - shift)
            observed = wd.sum(axis=1)
            # flipping the pairs in a set F changes the sum by -2 * sum_{i in F} wd_i
            null = observed[:, None] - 2.0 * (wd @ self._flips)
            # ties equal in exact arithmetic count as ties (tolerance relative to the data)
            gamma = 100 * np.finfo(float).eps * np.maximum(np.abs(wd).sum(axis=1), 1e-300)
            if alternative == "greater":
                count = np.count_nonzero(null >= (observed - gamma)[:, None], axis=1)
            else:
                count = np.count_nonzero(null <= (observed + gamma)[:, None], axis=1)
            out[start:start + chunk] = np.minimum(1.0, (count + adj) / (R + adj))
        return out


def _quantile_rows(sorted_rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantile ``q[b]`` of each sorted row (numpy's default method)."""
    R = sorted_rows.shape[1]
    pos = np.clip(q, 0.0, 1.0) * (R - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, R - 1)
    frac = pos - lo
    rows = np.arange(sorted_rows.shape[0])
    a, b = sorted_rows[rows, lo], sorted_rows[rows, hi]
    return a + (b - a) * frac


def bootstrap_interval(D: np.ndarray, design: Design, *, confidence: float, n_resamples: int,
                       seed, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided stratified bootstrap interval of the estimand per row of D: BCa, or the
    percentile interval of the same bootstrap distribution where BCa is undefined (e.g. every
    difference equal). Rows share their resamples (as scipy's batched bootstrap does)."""
    D = np.atleast_2d(np.asarray(D, dtype=np.float64))
    rng = np.random.default_rng(seed)
    slices = design.slices
    S = len(slices)
    # resample counts per size, drawn as scipy draws them: indices (R, k_s), size by size
    weights = []
    for s in slices:
        k = s.stop - s.start
        idx = rng.integers(0, k, (n_resamples, k))
        counts = np.zeros((k, n_resamples))
        np.add.at(counts, (idx.T, np.arange(n_resamples)[None, :]), 1.0)
        weights.append(counts / (S * k))
    W = np.vstack(weights)  # (N, R): resample r's estimand is D @ W[:, r]
    alpha = (1.0 - confidence) / 2.0
    z_lo, z_hi = special.ndtri(alpha), -special.ndtri(alpha)
    lows, highs = np.empty(D.shape[0]), np.empty(D.shape[0])
    for start in range(0, D.shape[0], chunk):
        X = D[start:start + chunk]
        boot = np.sort(X @ W, axis=1)
        theta = X @ design.weights
        # bias correction: the 'mean' percentile of the observed estimand
        R = boot.shape[1]
        below = (np.count_nonzero(boot < theta[:, None], axis=1)
                 + np.count_nonzero(boot <= theta[:, None], axis=1)) / (2.0 * R)
        z0 = special.ndtri(below)
        # acceleration: jackknife within each size (scipy's multi-sample formula)
        num, den = np.zeros(len(X)), np.zeros(len(X))
        for s in slices:
            k = s.stop - s.start
            Xs = X[:, s]
            # leaving draw j of size s out changes that size's mean only
            loo_mean = (Xs.sum(axis=1, keepdims=True) - Xs) / (k - 1)
            theta_i = theta[:, None] + (loo_mean - Xs.mean(axis=1, keepdims=True)) / S
            U = (k - 1) * (theta_i.mean(axis=1, keepdims=True) - theta_i)
            num += (U**3).sum(axis=1) / k**3
            den += (U**2).sum(axis=1) / k**2
        with np.errstate(divide="ignore", invalid="ignore"):
            a_hat = num / (6.0 * den**1.5)
            n1, n2 = z0 + z_lo, z0 + z_hi
            q1 = special.ndtr(z0 + n1 / (1 - a_hat * n1))
            q2 = special.ndtr(z0 + n2 / (1 - a_hat * n2))
        bca = np.isfinite(q1) & np.isfinite(q2)
        q1 = np.where(bca, q1, alpha)
        q2 = np.where(bca, q2, 1 - alpha)
        lows[start:start + chunk] = _quantile_rows(boot, q1)
        highs[start:start + chunk] = _quantile_rows(boot, q2)
    return lows, highs


def ols_slope_hc3(D: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per row of D: OLS slope of D on x (with an intercept), its HC3 standard error, and the
    residual degrees of freedom (N - 2)."""
    D = np.atleast_2d(np.asarray(D, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    N = x.size
    if sxx == 0.0 or N < 3:
        raise ValueError("a slope needs at least 2 distinct sizes n and 3 pairs")
    slope = (D - D.mean(axis=1, keepdims=True)) @ xc / sxx
    resid = D - D.mean(axis=1, keepdims=True) - slope[:, None] * xc[None, :]
    h = 1.0 / N + xc**2 / sxx  # leverages of the design [1, x]
    # HC3: sum_i xc_i^2 e_i^2 / (1 - h_i)^2 / sxx^2
    var = (resid**2 / (1.0 - h) ** 2) @ (xc**2) / sxx**2
    se = np.sqrt(np.maximum(var, 0.0))
    return slope, se, float(N - 2)
