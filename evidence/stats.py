"""Paired runs -> three-valued verdicts, following the frozen statistical protocol.

The protocol lives in ``CLAIMS.md`` ("The statistical protocol"). In short, for a comparison of
contender A (``better``) with contender B (``baseline``):

* Estimand: the per-draw paired difference A - B of the metric, averaged within each training
  size n, then averaged over the sizes with equal weight.
* Test: a one-sided stratified sign-flip permutation test of that statistic. Each (n, draw) pair
  has its sign flipped independently; the statistic keeps the equal-weight averaging over sizes.
  Exact enumeration when ``2**pairs <= n_resamples``, otherwise ``n_resamples`` random flips with
  the usual ``(count + 1) / (n_resamples + 1)`` p-value (never 0).
* Interval: a 90% two-sided stratified bootstrap interval (draws resampled within each size,
  :func:`scipy.stats.bootstrap` with one sample per size), BCa, falling back to the percentile
  interval when BCa is undefined (degenerate data). Its ends are one-sided 95% bounds.
* Trend: OLS of the per-draw difference on log(n) with an intercept and HC3 standard errors
  (statsmodels); t distribution with the model's residual degrees of freedom.

The sign-flip test is a vectorised hand-written version of
``scipy.stats.permutation_test(..., permutation_type="samples")`` (about ten times faster on
50 pairs; ``tests/test_stats.py`` checks it against scipy). Everything random derives from
``seed`` through :class:`numpy.random.SeedSequence`, so the same inputs and seed give the same
:class:`Verdict`. The interval and the OLS fit are computed on a canonical orientation of the
pair (contender names in sorted order) and mirrored, so swapping ``better`` and ``baseline``
gives exactly the negated effect and the mirrored interval.
"""
from __future__ import annotations

import enum
import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Outcome",
    "Verdict",
    "Paired",
    "paired",
    "all_of",
    "composite",
    "holm",
    "HALF_POINT",
    "CONFIDENCE",
    "POWER",
]

#: "A beats B" is REFUTED when the upper bound of the advantage is below half a point.
HALF_POINT = 0.005
#: Two-sided level of the bootstrap / OLS interval (its ends are one-sided 95% bounds).
CONFIDENCE = 0.90
#: Power used for the minimum detectable effect.
POWER = 0.80
#: Differences are rounded to this many decimals to remove the floating-point noise of a
#: subtraction (accuracies are multiples of 1/n_test, so nothing real is lost).
_DECIMALS = 12


class Outcome(str, enum.Enum):
    SUPPORTED = "SUPPORTED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rule: str
    statement: str
    better: str
    baseline: str
    margin: float
    alpha: float
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    mde: float
    n_pairs: int
    sizes: tuple[int, ...]
    per_size: tuple[dict, ...]
    parts: tuple["Verdict", ...] = ()

    @property
    def supported(self) -> bool:
        return self.outcome is Outcome.SUPPORTED

    @property
    def refuted(self) -> bool:
        return self.outcome is Outcome.REFUTED

    # ------------------------------------------------------------------ text
    def explain(self) -> str:
        lines = [self.statement, f"  verdict: {self.outcome.value} (rule: {self.rule})"]
        if self.rule == "trend":
            unit = " points per unit log(n)"
        else:
            unit = " points"
        lines.append(
            f"  effect ({self.better} - {self.baseline}): {_pts(self.effect)}{unit}, "
            f"{int(round(CONFIDENCE * 100))}% interval [{_pts(self.ci_low)}, {_pts(self.ci_high)}]"
        )
        lines.append(
            f"  one-sided p = {self.p_value:.4g} (alpha {self.alpha:g}); minimum detectable effect "
            f"at power {POWER:g}: {_pts(self.mde)}{unit}"
        )
        lines.append(f"  why: {_reason(self)}")
        if self.per_size and not self.parts:
            lines.append(
                f"  per size ({self.n_pairs} pairs; mean difference in points, sd, draws):"
            )
            for row in self.per_size:
                lines.append(
                    f"    n={row['n']}: {_pts(row['mean_diff'])} (sd {100.0 * row['sd_diff']:.2f}, "
                    f"{row['draws']} draws)"
                )
        for part in self.parts:
            sub = part.explain().splitlines()
            lines.append("  part: " + sub[0])
            lines.extend("    " + s for s in sub[1:])
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "rule": str(self.rule),
            "statement": str(self.statement),
            "better": str(self.better),
            "baseline": str(self.baseline),
            "margin": float(self.margin),
            "alpha": float(self.alpha),
            "effect": float(self.effect),
            "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high),
            "p_value": float(self.p_value),
            "mde": float(self.mde),
            "n_pairs": int(self.n_pairs),
            "sizes": [int(s) for s in self.sizes],
            "per_size": [
                {
                    "n": int(r["n"]),
                    "mean_diff": float(r["mean_diff"]),
                    "sd_diff": float(r["sd_diff"]),
                    "draws": int(r["draws"]),
                }
                for r in self.per_size
            ],
            "parts": [p.to_dict() for p in self.parts],
        }


def _pts(x: float) -> str:
    """Accuracy units -> points, as text."""
    if not math.isfinite(x):
        return str(x)
    return f"{100.0 * x:+.2f}"


def _margin_text(m: float) -> str:
    pts = round(100.0 * m, 6)
    return f"{pts:.1f}" if float(pts * 10).is_integer() else f"{pts:g}"


def _reason(v: Verdict) -> str:
    """Which condition of the rule decided the verdict, re-derived from the verdict's numbers."""
    lo, hi, p, a, m = v.ci_low, v.ci_high, v.p_value, v.alpha, v.margin
    L, H = _pts(lo), _pts(hi)
    if v.rule in ("beats", "beats_by"):
        bar = 0.0 if v.rule == "beats" else m
        refute_bar = HALF_POINT if v.rule == "beats" else m
        if v.outcome is Outcome.SUPPORTED:
            return f"p = {p:.4g} < {a:g} and the lower bound {L} > {_pts(bar)} points"
        failed = []
        if not p < a:
            failed.append(f"p = {p:.4g} is not below {a:g}")
        if not lo > bar:
            failed.append(f"the lower bound {L} is not above {_pts(bar)} points")
        head = "not SUPPORTED because " + " and ".join(failed)
        if v.outcome is Outcome.REFUTED:
            return head + f"; REFUTED because the upper bound {H} < {_pts(refute_bar)} points"
        return head + (
            f"; not REFUTED because the upper bound {H} is not below {_pts(refute_bar)} points"
        )
    if v.rule == "no_worse":
        if v.outcome is Outcome.SUPPORTED:
            return f"the lower bound {L} > {_pts(-m)} points"
        if v.outcome is Outcome.REFUTED:
            return f"the upper bound {H} < {_pts(-m)} points"
        return (
            f"the interval [{L}, {H}] contains {_pts(-m)} points: neither bound clears the margin"
        )
    if v.rule == "matches":
        if v.outcome is Outcome.SUPPORTED:
            return f"the interval [{L}, {H}] lies inside +-{_margin_text(m)} points (TOST p = {p:.4g})"
        if v.outcome is Outcome.REFUTED:
            return f"the interval [{L}, {H}] lies wholly outside +-{_margin_text(m)} points"
        return f"the interval [{L}, {H}] straddles a margin of +-{_margin_text(m)} points"
    if v.rule == "trend":
        decreasing = "decreas" in v.statement
        if decreasing:
            sup_bound, ok_bound, bad = f"upper bound {H} < 0", hi < 0, lo >= 0
        else:
            sup_bound, ok_bound, bad = f"lower bound {L} > 0", lo > 0, hi <= 0
        if v.outcome is Outcome.SUPPORTED:
            return f"p = {p:.4g} < {a:g} and the slope's {sup_bound}"
        failed = []
        if not p < a:
            failed.append(f"p = {p:.4g} is not below {a:g}")
        if not ok_bound:
            failed.append(f"the slope's interval [{L}, {H}] includes 0 or the wrong sign")
        head = "not SUPPORTED because " + " and ".join(failed or ["the rule's conditions fail"])
        if v.outcome is Outcome.REFUTED or bad:
            which = "lower bound >= 0" if decreasing else "upper bound <= 0"
            return head + f"; REFUTED because the slope's {which}"
        return head + "; not REFUTED because the interval includes slopes in the claimed direction"
    if v.rule == "all_of":
        parts = ", ".join(f"{q.statement!r}: {q.outcome.value}" for q in v.parts)
        if v.outcome is Outcome.SUPPORTED:
            return f"every part is SUPPORTED ({parts})"
        if v.outcome is Outcome.REFUTED:
            return f"at least one part is REFUTED ({parts})"
        return f"no part is REFUTED but not every part is SUPPORTED ({parts})"
    if v.parts:  # a composite: the claim's own rule over its parts (see the claim's rule text)
        parts = ", ".join(f"{q.statement!r}: {q.outcome.value}" for q in v.parts)
        return f"the claim's rule applied to its parts gives {v.outcome.value} ({parts})"
    return "unknown rule"


# ---------------------------------------------------------------------- validation helpers
def _check_alpha(alpha: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}.")
    if not (0.0 < a < 1.0):
        raise ValueError(f"alpha must be strictly between 0 and 1 (e.g. 0.05), got {alpha!r}.")
    return a


def _check_margin(margin: float, *, positive: bool, rule: str) -> float:
    try:
        m = float(margin)
    except (TypeError, ValueError):
        raise ValueError(f"{rule}: margin must be a finite number in accuracy units, got {margin!r}.")
    if not math.isfinite(m) or m < 0 or (positive and m == 0):
        need = "positive" if positive else "non-negative"
        raise ValueError(
            f"{rule}: margin must be a finite {need} number in accuracy units "
            f"(0.01 = 1 point), got {margin!r}."
        )
    return m


# ---------------------------------------------------------------------- the paired design
class Paired:
    """One-row-per-(n, draw) paired differences ``better - baseline``, and the rules on them.

    Build with :func:`paired`; ``diffs`` has columns ``n``, ``draw``, ``diff`` sorted by (n, draw).
    """

    def __init__(
        self,
        *,
        better: str,
        baseline: str,
        n: np.ndarray,
        draw: np.ndarray,
        canonical_diff: np.ndarray,
        sign: float,
        seed: int,
        n_resamples: int,
    ):
        self.better = better
        self.baseline = baseline
        self._sign = float(sign)
        self._n = np.asarray(n, dtype=np.int64)
        self._draw = np.asarray(draw, dtype=np.int64)
        self._canon = np.asarray(canonical_diff, dtype=np.float64)
        self._d = self._sign * self._canon  # exact negation when sign == -1
        self.seed = int(seed)
        self.n_resamples = int(n_resamples)
        self.diffs = pd.DataFrame({"n": self._n, "draw": self._draw, "diff": self._d})

        sizes, starts, counts = np.unique(self._n, return_index=True, return_counts=True)
        self._sizes = tuple(int(s) for s in sizes)
        self._slices = [slice(int(a), int(a + c)) for a, c in zip(starts, counts)]
        self._counts = counts.astype(np.int64)
        S = len(sizes)
        # weight of each pair in the equal-weight-over-sizes average
        self._w = np.repeat(1.0 / (S * counts), counts)
        self._perm_ss, self._boot_ss = np.random.SeedSequence(self.seed).spawn(2)
        self._signs: np.ndarray | None = None
        self._exact: bool | None = None
        self._interval: tuple[float, float] | None = None

        means = np.array([self._d[s].mean() for s in self._slices])
        sds = np.array([self._d[s].std(ddof=1) for s in self._slices])
        self._effect = float(np.mean(means))
        self._per_size = tuple(
            {"n": int(n_), "mean_diff": float(m_), "sd_diff": float(s_), "draws": int(k_)}
            for n_, m_, s_, k_ in zip(sizes, means, sds, counts)
        )
        self._se = float(math.sqrt(float(np.sum(sds**2 / counts))) / S)

    # ------------------------------------------------------------------ machinery
    @property
    def n_pairs(self) -> int:
        return int(self._d.size)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def effect(self) -> float:
        """The estimand: equal-weight mean over sizes of the per-size mean difference."""
        return self._effect

    def _sign_matrix(self) -> tuple[np.ndarray, bool]:
        """Flip indicators (N x B, 1 = flip), one column per resample (all 2**N when exact)."""
        if self._signs is None:
            N = self.n_pairs
            if N < 63 and 2**N <= self.n_resamples:
                codes = np.arange(2**N, dtype=np.int64)[:, None]
                flips = ((codes >> np.arange(N, dtype=np.int64)) & 1).T
                self._exact = True
            else:
                rng = np.random.default_rng(self._perm_ss)
                B = self.n_resamples
                raw = rng.integers(0, 256, size=(N, (B + 7) // 8), dtype=np.uint8)
                flips = np.unpackbits(raw, axis=1)[:, :B]
                self._exact = False
            # flip indicators (N x B, uint8); the null distribution is one vector-matrix
            # product (einsum: single-threaded, faster here than a threaded BLAS gemv)
            self._signs = np.ascontiguousarray(flips, dtype=np.uint8)
        return self._signs, bool(self._exact)

    def sign_flip_p(self, shift: float = 0.0, *, alternative: str = "greater") -> float:
        """One-sided p of the stratified sign-flip test of H0: effect == shift.

        ``alternative="greater"``: evidence that the effect exceeds ``shift``;
        ``"less"``: that it is below ``shift``.
        """
        if alternative not in ("greater", "less"):
            raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}.")
        signs, exact = self._sign_matrix()
        wd = self._w * (self._d - shift)
        observed = float(np.sum(wd))
        # flipping the pairs in a set F changes the sum by -2 * sum_{i in F} wd_i
        null = observed - 2.0 * np.einsum("i,ij->j", wd, signs)
        # relative tolerance for ties that are equal in exact arithmetic (as scipy does, but
        # relative to the scale of the data so that an observed value near 0 is covered too)
        gamma = 100 * np.finfo(float).eps * max(float(np.sum(np.abs(wd))), 1e-300)
        if alternative == "greater":
            count = int(np.count_nonzero(null >= observed - gamma))
        else:
            count = int(np.count_nonzero(null <= observed + gamma))
        adj = 0 if exact else 1
        return min(1.0, (count + adj) / (signs.shape[1] + adj))

    def interval(self) -> tuple[float, float]:
        """90% two-sided stratified bootstrap interval (BCa; percentile if BCa is undefined)."""
        if self._interval is None:
            samples = [self._canon[s] for s in self._slices]

            def statistic(*xs, axis=-1):
                return sum(np.mean(x, axis=axis) for x in xs) / len(xs)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", stats.DegenerateDataWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                res = stats.bootstrap(
                    samples,
                    statistic,
                    vectorized=True,
                    n_resamples=self.n_resamples,
                    confidence_level=CONFIDENCE,
                    method="BCa",
                    rng=np.random.default_rng(self._boot_ss),
                )
                lo, hi = res.confidence_interval
                if not (np.isfinite(lo) and np.isfinite(hi)):
                    # BCa undefined (e.g. every difference equal): percentile interval on the
                    # same bootstrap distribution
                    res = stats.bootstrap(
                        samples,
                        statistic,
                        vectorized=True,
                        n_resamples=0,
                        confidence_level=CONFIDENCE,
                        method="percentile",
                        bootstrap_result=res,
                        rng=np.random.default_rng(self._boot_ss),
                    )
                    lo, hi = res.confidence_interval
            lo, hi = float(lo), float(hi)
            if self._sign < 0:
                lo, hi = -hi, -lo
            self._interval = (lo, hi)
        return self._interval

    def _mde(self, alpha: float) -> float:
        z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(POWER)
        return float(z * self._se)

    def _verdict(self, outcome, rule, statement, margin, alpha, p, ci, *, effect=None, mde=None):
        return Verdict(
            outcome=outcome,
            rule=rule,
            statement=statement,
            better=self.better,
            baseline=self.baseline,
            margin=float(margin),
            alpha=float(alpha),
            effect=float(self._effect if effect is None else effect),
            ci_low=float(ci[0]),
            ci_high=float(ci[1]),
            p_value=float(p),
            mde=float(self._mde(alpha) if mde is None else mde),
            n_pairs=self.n_pairs,
            sizes=self._sizes,
            per_size=self._per_size,
        )

    # ------------------------------------------------------------------ rules
    def beats(self, *, margin: float = 0.0, alpha: float = 0.05) -> Verdict:
        """"A beats B" (margin 0) or "A beats B by more than margin" (rule ``beats_by``)."""
        m = _check_margin(margin, positive=False, rule="beats")
        a = _check_alpha(alpha)
        p = self.sign_flip_p(m, alternative="greater")
        lo, hi = self.interval()
        if m == 0.0:
            rule, statement = "beats", f"{self.better} beats {self.baseline}"
            bar, refute_bar = 0.0, HALF_POINT
        else:
            rule = "beats_by"
            statement = f"{self.better} beats {self.baseline} by more than {_margin_text(m)} points"
            bar, refute_bar = m, m
        if p < a and lo > bar:
            outcome = Outcome.SUPPORTED
        elif hi < refute_bar:
            outcome = Outcome.REFUTED
        else:
            outcome = Outcome.INCONCLUSIVE
        return self._verdict(outcome, rule, statement, m, a, p, (lo, hi))

    def no_worse(self, *, margin: float, alpha: float = 0.05) -> Verdict:
        """"A is no worse than B by more than margin" (non-inferiority)."""
        m = _check_margin(margin, positive=False, rule="no_worse")
        a = _check_alpha(alpha)
        p = self.sign_flip_p(-m, alternative="greater")
        lo, hi = self.interval()
        if lo > -m:
            outcome = Outcome.SUPPORTED
        elif hi < -m:
            outcome = Outcome.REFUTED
        else:
            outcome = Outcome.INCONCLUSIVE
        statement = f"{self.better} is no worse than {self.baseline} by more than {_margin_text(m)} points"
        return self._verdict(outcome, "no_worse", statement, m, a, p, (lo, hi))

    def matches(self, *, margin: float, alpha: float = 0.05) -> Verdict:
        """"A matches B within +-margin" (equivalence, TOST)."""
        m = _check_margin(margin, positive=True, rule="matches")
        a = _check_alpha(alpha)
        p = max(
            self.sign_flip_p(-m, alternative="greater"),
            self.sign_flip_p(m, alternative="less"),
        )
        lo, hi = self.interval()
        if -m < lo and hi < m:
            outcome = Outcome.SUPPORTED
        elif hi < -m or lo > m:
            outcome = Outcome.REFUTED
        else:
            outcome = Outcome.INCONCLUSIVE
        statement = f"{self.better} matches {self.baseline} within ±{_margin_text(m)} points"
        return self._verdict(outcome, "matches", statement, m, a, p, (lo, hi))

    def trend(self, *, decreasing: bool = True, alpha: float = 0.05) -> Verdict:
        """Slope of the per-draw difference on log(n): OLS with HC3 errors, t(df_resid)."""
        import statsmodels.api as sm

        a = _check_alpha(alpha)
        if len(self._sizes) < 2:
            raise ValueError(
                f"trend needs at least 2 distinct sizes n, but the runs have only "
                f"n = {self._sizes[0]}; add draws at another size."
            )
        x = np.log(self._n.astype(np.float64))
        # canonical orientation, shifted by a data value (slope and its SE are shift-invariant;
        # constant differences then give an exactly zero slope)
        y = self._canon - self._canon[0]
        X = np.column_stack([np.ones_like(x), x - x.mean()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
        slope_c = float(fit.params[1])
        se = float(fit.bse[1])
        df = float(fit.df_resid)
        if not math.isfinite(se) or se <= 0.0:
            se = 0.0
        slope = self._sign * slope_c
        tq = stats.t.ppf(1 - (1 - CONFIDENCE) / 2, df)
        lo, hi = slope - tq * se, slope + tq * se
        if se == 0.0:
            # no residual variation: the slope is known exactly
            in_alt = slope < 0 if decreasing else slope > 0
            p = 0.0 if in_alt else 1.0
        else:
            tstat = slope / se
            p = float(stats.t.cdf(tstat, df) if decreasing else stats.t.sf(tstat, df))
        if decreasing:
            if p < a and hi < 0:
                outcome = Outcome.SUPPORTED
            elif lo >= 0:
                outcome = Outcome.REFUTED
            else:
                outcome = Outcome.INCONCLUSIVE
            statement = f"the difference {self.better} - {self.baseline} decreases as n grows"
        else:
            if p < a and lo > 0:
                outcome = Outcome.SUPPORTED
            elif hi <= 0:
                outcome = Outcome.REFUTED
            else:
                outcome = Outcome.INCONCLUSIVE
            statement = f"the difference {self.better} - {self.baseline} increases as n grows"
        mde = float((stats.norm.ppf(1 - a) + stats.norm.ppf(POWER)) * se)
        return self._verdict(outcome, "trend", statement, 0.0, a, p, (lo, hi), effect=slope, mde=mde)

    def __repr__(self) -> str:
        return (
            f"Paired(better={self.better!r}, baseline={self.baseline!r}, "
            f"n_pairs={self.n_pairs}, sizes={self._sizes})"
        )


def _is_integral(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return False
    if pd.api.types.is_integer_dtype(s):
        return True
    if pd.api.types.is_float_dtype(s):
        v = s.to_numpy(dtype=float)
        return bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))
    return False


def paired(
    runs: pd.DataFrame,
    *,
    better: str,
    baseline: str,
    metric: str = "test_acc",
    seed: int = 2017,
    n_resamples: int = 10_000,
) -> Paired:
    """Pair the runs of ``better`` (A) and ``baseline`` (B) by (n, draw); differences are A - B."""
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(
            f"runs must be a pandas DataFrame with columns n, draw, contender and the metric, "
            f"got {type(runs).__name__}."
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer (e.g. 10_000), got {n_resamples!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if len(runs) == 0:
        raise ValueError("runs is empty: pass a DataFrame with one row per (contender, n, draw).")
    needed = ["n", "draw", "contender", metric]
    missing = [c for c in needed if c not in runs.columns]
    if missing:
        raise ValueError(
            f"runs lacks column(s) {missing}; it needs n, draw, contender and the metric "
            f"column {metric!r} (columns present: {list(runs.columns)})."
        )
    if "task" in runs.columns:
        tasks = pd.unique(runs["task"])
        if len(tasks) > 1:
            raise ValueError(
                f"runs mixes {len(tasks)} tasks ({sorted(map(str, tasks))}); filter it to one task "
                f"before pairing."
            )
    if not pd.api.types.is_numeric_dtype(runs[metric]) or pd.api.types.is_bool_dtype(runs[metric]):
        raise ValueError(
            f"metric column {metric!r} is not numeric (dtype {runs[metric].dtype}); convert it to "
            f"float accuracies before pairing."
        )
    if better == baseline:
        raise ValueError(
            f"better and baseline are both {better!r}; compare two different contenders."
        )
    available = sorted(map(str, pd.unique(runs["contender"])))
    unknown = [c for c in (better, baseline) if c not in set(runs["contender"])]
    if unknown:
        raise ValueError(
            f"unknown contender(s) {unknown}; available contenders are {available}."
        )

    sub = runs.loc[runs["contender"].isin([better, baseline]), ["n", "draw", "contender", metric]]
    for col in ("n", "draw"):
        if not _is_integral(sub[col]):
            raise ValueError(
                f"column {col!r} must hold integers (got dtype {sub[col].dtype}); cast it to int."
            )
    n_vals = sub["n"].to_numpy(dtype=np.int64)
    if np.any(n_vals <= 0):
        raise ValueError(
            f"training-set sizes n must be positive, got {sorted(set(n_vals[n_vals <= 0].tolist()))}; "
            f"drop or fix those rows."
        )
    vals = sub[metric].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals)
    if bad.any():
        cells = sub.loc[bad, ["contender", "n", "draw"]].head(5).to_records(index=False).tolist()
        raise ValueError(
            f"metric {metric!r} has {int(bad.sum())} NaN/inf value(s), e.g. (contender, n, draw) "
            f"{cells}; rerun or drop those runs for both contenders."
        )
    dup = sub.duplicated(["contender", "n", "draw"], keep=False).to_numpy()
    if dup.any():
        cells = sub.loc[dup, ["contender", "n", "draw"]].drop_duplicates().head(5)
        raise ValueError(
            f"runs has more than one row for (contender, n, draw) "
            f"{cells.to_records(index=False).tolist()}; keep one row per contender and draw."
        )

    # pair the two arms by (n, draw) with numpy (pandas merge costs tens of milliseconds)
    is_a = (sub["contender"] == better).to_numpy()
    n_all = n_vals
    d_all = sub["draw"].to_numpy(dtype=np.int64)

    def arm(mask):
        n_, d_, v_ = n_all[mask], d_all[mask], vals[mask]
        order = np.lexsort((d_, n_))
        return n_[order], d_[order], v_[order]

    na, da, va = arm(is_a)
    nb, db, vb = arm(~is_a)
    if na.shape != nb.shape or np.any(na != nb) or np.any(da != db):
        keys_a = set(zip(na.tolist(), da.tolist()))
        keys_b = set(zip(nb.tolist(), db.tolist()))
        only_a = sorted(keys_a - keys_b)[:5]
        only_b = sorted(keys_b - keys_a)[:5]
        raise ValueError(
            f"the design is not paired: (n, draw) {only_a} present only for {better!r} and "
            f"{only_b} only for {baseline!r}; run both contenders on the same draws or drop the "
            f"unmatched ones."
        )
    sizes, counts = np.unique(na, return_counts=True)
    few = sizes[counts < 2]
    if few.size:
        raise ValueError(
            f"size(s) n = {few.tolist()} have fewer than 2 paired draws; add draws or drop "
            f"those sizes (each size needs at least 2 to estimate its spread)."
        )

    # canonical orientation: contender names in sorted order (makes a swap exactly symmetric)
    if str(better) <= str(baseline):
        sign, canon = 1.0, np.round(va - vb, _DECIMALS)
    else:
        sign, canon = -1.0, np.round(vb - va, _DECIMALS)
    canon = canon + 0.0  # turn -0.0 into 0.0
    return Paired(
        better=better,
        baseline=baseline,
        n=na,
        draw=da,
        canonical_diff=canon,
        sign=sign,
        seed=int(seed),
        n_resamples=int(n_resamples),
    )


def all_of(*verdicts: Verdict, statement: str) -> Verdict:
    """Conjunction: SUPPORTED if every part is, REFUTED if any part is, else INCONCLUSIVE
    (figures as in :func:`composite`)."""
    if not verdicts:
        raise ValueError("all_of needs at least one Verdict; pass the parts' verdicts.")
    for v in verdicts:
        if not isinstance(v, Verdict):
            raise ValueError(f"all_of takes Verdict objects, got {type(v).__name__}; pass rule results.")
    if any(v.outcome is Outcome.REFUTED for v in verdicts):
        outcome = Outcome.REFUTED
    elif all(v.outcome is Outcome.SUPPORTED for v in verdicts):
        outcome = Outcome.SUPPORTED
    else:
        outcome = Outcome.INCONCLUSIVE
    return composite(verdicts, outcome=outcome, statement=statement, rule="all_of")


def composite(verdicts: Sequence[Verdict], *, outcome: Outcome, statement: str,
              rule: str = "composite") -> Verdict:
    """A verdict decided from its parts by a claim's own rule (``outcome``), keeping the parts.

    Effect, interval, sizes and design figures are those of the first part; the p-value is the
    largest of the parts' p-values.
    """
    verdicts = tuple(verdicts)
    if not verdicts:
        raise ValueError("a composite verdict needs at least one part")
    if not isinstance(outcome, Outcome):
        raise ValueError(f"outcome must be an Outcome, got {outcome!r}")
    first = verdicts[0]
    return Verdict(
        outcome=outcome,
        rule=rule,
        statement=str(statement),
        better=first.better,
        baseline=first.baseline,
        margin=first.margin,
        alpha=first.alpha,
        effect=first.effect,
        ci_low=first.ci_low,
        ci_high=first.ci_high,
        p_value=float(max(v.p_value for v in verdicts)),
        mde=first.mde,
        n_pairs=first.n_pairs,
        sizes=first.sizes,
        per_size=first.per_size,
        parts=tuple(verdicts),
    )


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``), in input order."""
    from statsmodels.stats.multitest import multipletests

    a = _check_alpha(alpha)
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.size == 0:
        return []
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"holm needs a flat list of p-values in [0, 1], got {list(p_values)!r}.")
    return [float(x) for x in multipletests(p, alpha=a, method="holm")[1]]
