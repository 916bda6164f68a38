"""Verdicts, and the paired comparison of two contenders that produces them.

:func:`paired` pairs the runs of contender A (``better``) with contender B (``baseline``) by
(n, draw); :class:`Paired` then applies a rule of :mod:`evidence.stats.rules` and returns a
:class:`Verdict` — outcome, effect, interval, the p-values of both branches, the reason, and the
design figures the report shows. The interval is computed on a canonical orientation of the pair
(contender names in sorted order) and mirrored, so swapping ``better`` and ``baseline`` gives
exactly the negated effect and the mirrored interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from evidence.stats.resampling import Design
from evidence.stats.rules import (CONFIDENCE, Outcome, PairedEvidence, Rule, TrendEvidence,
                                  beats_rule, matches_rule, no_worse_rule, points, trend_rule)

__all__ = ["Verdict", "Paired", "paired", "POWER", "mde"]

#: Default power for the minimum detectable effect (a scale may ask for its own).
POWER = 0.80
#: Differences are rounded to this many decimals to remove the floating-point noise of a
#: subtraction (accuracies are multiples of 1/n_test, so nothing real is lost).
_DECIMALS = 12


def mde(se: float, alpha: float, power: float) -> float:
    """Smallest effect a one-sided test at ``alpha`` detects with ``power`` (normal approx.)."""
    return float((sps.norm.ppf(1 - alpha) + sps.norm.ppf(power)) * se)


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
    #: the p-value of the branch that decided (SUPPORTED: the supporting test; REFUTED: the
    #: refuting test; INCONCLUSIVE: the supporting test)
    p_value: float
    p_supported: float
    p_refuted: float
    se: float
    power: float
    n_pairs: int
    sizes: tuple[int, ...]
    per_size: tuple[dict, ...]
    reason: str
    unit: str = "points"
    parts: tuple["Verdict", ...] = ()
    #: how the rule's bounds read (for draws-to-decide): ((kind, threshold), ...) per branch
    bounds: tuple = ()

    @property
    def supported(self) -> bool:
        return self.outcome is Outcome.SUPPORTED

    @property
    def refuted(self) -> bool:
        return self.outcome is Outcome.REFUTED

    @property
    def mde(self) -> float:
        return mde(self.se, self.alpha, self.power)

    def explain(self) -> str:
        lines = [self.statement, f"  verdict: {self.outcome.value} (rule: {self.rule})"]
        lines.append(
            f"  effect ({self.better} - {self.baseline}): {points(self.effect)} {self.unit}, "
            f"{int(round(CONFIDENCE * 100))}% interval [{points(self.ci_low)}, "
            f"{points(self.ci_high)}]")
        lines.append(
            f"  p = {self.p_value:.4g} (alpha {self.alpha:g}); minimum detectable effect at "
            f"power {self.power:g}: {points(self.mde)} {self.unit}")
        lines.append(f"  why: {self.reason}")
        if self.per_size and not self.parts:
            lines.append(f"  per size ({self.n_pairs} pairs; mean difference in points, sd, draws):")
            for row in self.per_size:
                lines.append(f"    n={row['n']}: {points(row['mean_diff'])} "
                             f"(sd {100.0 * row['sd_diff']:.2f}, {row['draws']} draws)")
        for part in self.parts:
            sub = part.explain().splitlines()
            lines.append("  part: " + sub[0])
            lines.extend("    " + s for s in sub[1:])
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value, "rule": str(self.rule),
            "statement": str(self.statement), "better": str(self.better),
            "baseline": str(self.baseline), "margin": float(self.margin),
            "alpha": float(self.alpha), "effect": float(self.effect),
            "ci_low": float(self.ci_low), "ci_high": float(self.ci_high),
            "p_value": float(self.p_value), "p_supported": float(self.p_supported),
            "p_refuted": float(self.p_refuted), "mde": float(self.mde),
            "power": float(self.power), "reason": str(self.reason), "unit": str(self.unit),
            "n_pairs": int(self.n_pairs), "sizes": [int(s) for s in self.sizes],
            "per_size": [{"n": int(r["n"]), "mean_diff": float(r["mean_diff"]),
                          "sd_diff": float(r["sd_diff"]), "draws": int(r["draws"])}
                         for r in self.per_size],
            "parts": [p.to_dict() for p in self.parts],
        }


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
            f"(0.01 = 1 point), got {margin!r}.")
    return m


class Paired:
    """One-row-per-(n, draw) paired differences ``better - baseline``, and the rules on them.

    Build with :func:`paired`; ``diffs`` has columns ``n``, ``draw``, ``diff`` sorted by (n, draw).
    ``power`` is the power at which the minimum detectable effect is reported.
    """

    def __init__(self, *, better: str, baseline: str, n: np.ndarray, draw: np.ndarray,
                 canonical_diff: np.ndarray, sign: float, seed: int, n_resamples: int,
                 power: float = POWER):
        self.better, self.baseline = better, baseline
        self._sign = float(sign)
        self._n = np.asarray(n, dtype=np.int64)
        self._canon = np.asarray(canonical_diff, dtype=np.float64)
        self._d = self._sign * self._canon  # exact negation when sign == -1
        self.seed, self.n_resamples = int(seed), int(n_resamples)
        self.power = float(power)
        self.diffs = pd.DataFrame({"n": self._n, "draw": np.asarray(draw, dtype=np.int64),
                                   "diff": self._d})
        self.design = Design.of(self._n)
        # evidence on the canonical orientation, mirrored for the other one
        self._ev = PairedEvidence(self._canon, self.design, seed=self.seed,
                                  n_resamples=self.n_resamples)
        self._trend: TrendEvidence | None = None
        means = [self._d[s].mean() for s in self.design.slices]
        sds = [self._d[s].std(ddof=1) for s in self.design.slices]
        self._per_size = tuple(
            {"n": int(n_), "mean_diff": float(m_), "sd_diff": float(s_), "draws": int(k_)}
            for n_, m_, s_, k_ in zip(self.design.sizes, means, sds, self.design.counts))

    # ------------------------------------------------------------------ machinery
    @property
    def n_pairs(self) -> int:
        return int(self._d.size)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.design.sizes)

    @property
    def effect(self) -> float:
        """The estimand: equal-weight mean over sizes of the per-size mean difference."""
        return float(self.design.estimand(self._d[None, :])[0])

    def sign_flip_p(self, shift: float = 0.0, *, alternative: str = "greater") -> float:
        """One-sided p of the stratified sign-flip test of H0: effect == shift."""
        if alternative not in ("greater", "less"):
            raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}.")
        return float(_Oriented(self._ev, self._sign).p(shift, alternative)[0])

    def interval(self) -> tuple[float, float]:
        """90% two-sided stratified bootstrap interval (BCa; percentile if BCa is undefined)."""
        lo, hi = _Oriented(self._ev, self._sign).interval
        return float(lo[0]), float(hi[0])

    def _apply(self, rule: Rule, ev, *, unit: str = "points") -> Verdict:
        decided = rule.decide(ev)
        return Verdict(
            outcome=Outcome(str(decided["outcome"][0])), rule=rule.name,
            statement=rule.statement, better=self.better, baseline=self.baseline,
            margin=float(rule.margin), alpha=float(rule.alpha),
            effect=float(ev.effect[0]), ci_low=float(ev.interval[0][0]),
            ci_high=float(ev.interval[1][0]),
            p_value=float(decided["p_refuted"][0] if decided["outcome"][0] == "REFUTED"
                          else decided["p_supported"][0]),
            p_supported=float(decided["p_supported"][0]),
            p_refuted=float(decided["p_refuted"][0]),
            se=float(ev.se[0]), power=self.power, n_pairs=self.n_pairs, sizes=self.sizes,
            per_size=self._per_size, reason=rule.explain(ev, decided), unit=unit,
            bounds=(tuple((type(b).__name__, b.t) for b in rule.supported),
                    tuple((type(b).__name__, b.t) for b in rule.refuted)))

    # ------------------------------------------------------------------ rules
    def beats(self, *, margin: float = 0.0, alpha: float = 0.05) -> Verdict:
        """"A beats B" (margin 0) or "A beats B by more than margin" (rule ``beats_by``)."""
        m = _check_margin(margin, positive=False, rule="beats")
        rule = beats_rule(self.better, self.baseline, margin=m, alpha=_check_alpha(alpha))
        return self._apply(rule, _Oriented(self._ev, self._sign))

    def no_worse(self, *, margin: float, alpha: float = 0.05) -> Verdict:
        """"A is no worse than B by more than margin" (non-inferiority)."""
        m = _check_margin(margin, positive=False, rule="no_worse")
        rule = no_worse_rule(self.better, self.baseline, margin=m, alpha=_check_alpha(alpha))
        return self._apply(rule, _Oriented(self._ev, self._sign))

    def matches(self, *, margin: float, alpha: float = 0.05) -> Verdict:
        """"A matches B within +-margin" (equivalence: two one-sided tests)."""
        m = _check_margin(margin, positive=True, rule="matches")
        rule = matches_rule(self.better, self.baseline, margin=m, alpha=_check_alpha(alpha))
        return self._apply(rule, _Oriented(self._ev, self._sign))

    def trend(self, *, decreasing: bool = True, alpha: float = 0.05) -> Verdict:
        """Slope of the per-draw difference on log(n): OLS with HC3 errors, t(N - 2)."""
        a = _check_alpha(alpha)
        if self._trend is None:
            # canonical orientation, shifted by a data value (slope and its SE are
            # shift-invariant; constant differences then give an exactly zero slope)
            self._trend = TrendEvidence((self._canon - self._canon[0])[None, :], self.design)
        rule = trend_rule(self.better, self.baseline, decreasing=decreasing, alpha=a)
        return self._apply(rule, _Oriented(self._trend, self._sign), unit="points per unit of log n")

    def __repr__(self) -> str:
        return (f"Paired(better={self.better!r}, baseline={self.baseline!r}, "
                f"n_pairs={self.n_pairs}, sizes={self.sizes})")


class _Oriented:
    """Evidence computed on the canonical orientation, read in the caller's (sign -1: the
    effect negated, the interval mirrored, 'greater' and 'less' swapped)."""

    def __init__(self, ev, sign: float):
        self.ev, self.sign, self.unit = ev, sign, ev.unit

    @property
    def effect(self):
        return self.sign * self.ev.effect

    @property
    def se(self):
        return self.ev.se

    @property
    def interval(self):
        lo, hi = self.ev.interval
        return (lo, hi) if self.sign > 0 else (-hi, -lo)

    def p(self, threshold: float, alternative: str):
        if self.sign > 0:
            return self.ev.p(threshold, alternative)
        return self.ev.p(-threshold, "less" if alternative == "greater" else "greater")


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
    power: float = POWER,
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
        power=float(power),
    )


