"""The decision rules of the protocol (claims/PROTOCOL.md, version 2), each deciding and
explaining itself in one place.

Every rule is written as one-sided *bounds*: "the effect is above t" (``Above(t)``) or "below
t" (``Below(t)``). A bound is established when **both** the one-sided test of the shifted null
has p < alpha **and** the matching end of the 90% interval clears t (the lower end above t, or
the upper end below it). A rule is a pair of conditions on bounds:

======================  =============================  ==========================================
rule                    SUPPORTED when                 REFUTED when
======================  =============================  ==========================================
beats                   Above(0)                       Below(0.5 point)
beats by m              Above(m)                       Below(m)
no worse by m           Above(-m)                      Below(-m)
matches within +-m      Above(-m) and Below(m) (TOST)  Below(-m) or Above(m)
trend (decreasing)      slope Below(0)                 slope Above(0)
======================  =============================  ==========================================

SUPPORTED is tested first; neither gives INCONCLUSIVE. The evidence a rule reads is a batch:
the same code decides one claim's data set or ten thousand simulated ones
(``tests/test_calibration.py``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from evidence.stats.resampling import Design, SignFlip, bootstrap_interval, ols_slope_hc3

__all__ = ["Outcome", "Above", "Below", "Rule", "PairedEvidence", "TrendEvidence", "beats_rule",
           "no_worse_rule", "matches_rule", "trend_rule", "HALF_POINT", "CONFIDENCE",
           "points", "margin_text"]

#: "A beats B" is REFUTED when any advantage is shown to be below half a point.
HALF_POINT = 0.005
#: Two-sided level of the interval; its ends are one-sided 95% bounds.
CONFIDENCE = 0.90


class Outcome(str, enum.Enum):
    SUPPORTED = "SUPPORTED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


def points(x: float) -> str:
    """Accuracy units -> signed points, as text."""
    x = float(x)
    return f"{100.0 * x:+.2f}" if np.isfinite(x) else str(x)


def margin_text(m: float) -> str:
    pts = round(100.0 * float(m), 6)
    return f"{pts:.1f}" if float(pts * 10).is_integer() else f"{pts:g}"


# ------------------------------------------------------------------------------------ evidence
class PairedEvidence:
    """Paired differences of a batch of data sets on one design: the estimand, its interval,
    its standard error and the sign-flip p-value of any shifted null."""

    unit = "points"

    def __init__(self, D: np.ndarray, design: Design, *, seed: int, n_resamples: int = 10_000):
        self.D = np.atleast_2d(np.asarray(D, dtype=np.float64))
        self.design = design
        perm_ss, boot_ss = np.random.SeedSequence(int(seed)).spawn(2)
        self._flip = SignFlip(design, n_resamples=n_resamples, seed=perm_ss)
        self._boot = (boot_ss, n_resamples)
        self._interval: tuple[np.ndarray, np.ndarray] | None = None
        self.effect = design.estimand(self.D)
        self.se = design.se(self.D)

    @property
    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        if self._interval is None:
            ss, R = self._boot
            self._interval = bootstrap_interval(self.D, self.design, confidence=CONFIDENCE,
                                                n_resamples=R, seed=ss)
        return self._interval

    def p(self, threshold: float, alternative: str) -> np.ndarray:
        return self._flip.p(self.D, threshold, alternative=alternative)


class TrendEvidence:
    """OLS slope of the per-pair difference on log n with HC3 errors, t(N - 2): the estimand
    is the slope; intervals and p-values come from the t distribution."""

    unit = "points per unit of log n"

    def __init__(self, D: np.ndarray, design: Design):
        self.D = np.atleast_2d(np.asarray(D, dtype=np.float64))
        self.design = design
        if len(design.sizes) < 2:
            raise ValueError(
                f"trend needs at least 2 distinct sizes n, but the runs have only "
                f"n = {int(design.sizes[0])}; add draws at another size.")
        self.effect, se, self.df = ols_slope_hc3(self.D, np.log(design.n.astype(np.float64)))
        self.se = np.where(np.isfinite(se), se, 0.0)
        tq = sps.t.ppf(1 - (1 - CONFIDENCE) / 2, self.df)
        self.interval = (self.effect - tq * self.se, self.effect + tq * self.se)

    def p(self, threshold: float, alternative: str) -> np.ndarray:
        diff = self.effect - threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = np.where(self.se > 0, diff / np.where(self.se > 0, self.se, 1.0), 0.0)
        p = sps.t.sf(tstat, self.df) if alternative == "greater" else sps.t.cdf(tstat, self.df)
        # no residual variation: the slope is known exactly
        exact = np.where((diff > 0) if alternative == "greater" else (diff < 0), 0.0, 1.0)
        return np.where(self.se > 0, p, exact)


# ------------------------------------------------------------------------------------ bounds
@dataclass(frozen=True)
class Above:
    """The effect is above ``t``: p(H0: effect <= t) < alpha and the lower bound > t."""

    t: float

    def p(self, ev) -> np.ndarray:
        return ev.p(self.t, "greater")

    def clears(self, ev) -> np.ndarray:
        return ev.interval[0] > self.t

    def text(self, unit: str) -> str:
        return f"the effect is above {points(self.t)} {unit}"

    def bound_text(self, ev, i: int) -> str:
        return f"lower bound {points(ev.interval[0][i])}"


@dataclass(frozen=True)
class Below:
    """The effect is below ``t``: p(H0: effect >= t) < alpha and the upper bound < t."""

    t: float

    def p(self, ev) -> np.ndarray:
        return ev.p(self.t, "less")

    def clears(self, ev) -> np.ndarray:
        return ev.interval[1] < self.t

    def text(self, unit: str) -> str:
        return f"the effect is below {points(self.t)} {unit}"

    def bound_text(self, ev, i: int) -> str:
        return f"upper bound {points(ev.interval[1][i])}"


@dataclass(frozen=True)
class Rule:
    """SUPPORTED when every bound in ``supported`` holds; else REFUTED when any bound in
    ``refuted`` holds; else INCONCLUSIVE."""

    name: str
    statement: str
    margin: float
    supported: tuple
    refuted: tuple
    alpha: float = 0.05
    notes: dict = field(default_factory=dict)

    def holds(self, bound, ev) -> tuple[np.ndarray, np.ndarray]:
        p = bound.p(ev)
        return (p < self.alpha) & bound.clears(ev), p

    def decide(self, ev) -> dict:
        """Outcomes (array of Outcome values) and the p-values of both branches, per row."""
        sup = [self.holds(b, ev) for b in self.supported]
        ref = [self.holds(b, ev) for b in self.refuted]
        is_sup = np.logical_and.reduce([h for h, _ in sup])
        is_ref = ~is_sup & np.logical_or.reduce([h for h, _ in ref])
        p_sup = np.maximum.reduce([p for _, p in sup])   # intersection: the largest p
        p_ref = np.minimum.reduce([p for _, p in ref])   # disjoint events: the smallest p
        outcome = np.where(is_sup, Outcome.SUPPORTED.value,
                           np.where(is_ref, Outcome.REFUTED.value, Outcome.INCONCLUSIVE.value))
        return {"outcome": outcome, "p_supported": p_sup, "p_refuted": p_ref,
                "sup": sup, "ref": ref}

    def explain(self, ev, decided: dict, i: int = 0) -> str:
        """Why row ``i`` got its outcome: each bound with its p and its interval end."""
        def say(bound, held, p):
            ok = "holds" if held[i] else "does not hold"
            return (f"{bound.text(ev.unit)} {ok} (p = {p[i]:.4g} vs alpha {self.alpha:g}; "
                    f"{bound.bound_text(ev, i)})")
        sup = "; ".join(say(b, h, p) for b, (h, p) in zip(self.supported, decided["sup"]))
        ref = "; ".join(say(b, h, p) for b, (h, p) in zip(self.refuted, decided["ref"]))
        outcome = decided["outcome"][i]
        if outcome == Outcome.SUPPORTED.value:
            return f"SUPPORTED: {sup}"
        if outcome == Outcome.REFUTED.value:
            return f"not SUPPORTED: {sup}. REFUTED: {ref}"
        return f"not SUPPORTED: {sup}. Not REFUTED: {ref}"


def beats_rule(better: str, baseline: str, *, margin: float = 0.0, alpha: float = 0.05) -> Rule:
    if margin == 0.0:
        return Rule("beats", f"{better} beats {baseline}", 0.0,
                    (Above(0.0),), (Below(HALF_POINT),), alpha)
    return Rule("beats_by", f"{better} beats {baseline} by more than {margin_text(margin)} points",
                margin, (Above(margin),), (Below(margin),), alpha)


def no_worse_rule(better: str, baseline: str, *, margin: float, alpha: float = 0.05) -> Rule:
    return Rule("no_worse",
                f"{better} is no worse than {baseline} by more than {margin_text(margin)} points",
                margin, (Above(-margin),), (Below(-margin),), alpha)


def matches_rule(better: str, baseline: str, *, margin: float, alpha: float = 0.05) -> Rule:
    return Rule("matches", f"{better} matches {baseline} within ±{margin_text(margin)} points",
                margin, (Above(-margin), Below(margin)), (Below(-margin), Above(margin)), alpha)


def trend_rule(better: str, baseline: str, *, decreasing: bool, alpha: float = 0.05) -> Rule:
    way = "decreases" if decreasing else "increases"
    claimed, other = (Below(0.0), Above(0.0)) if decreasing else (Above(0.0), Below(0.0))
    return Rule("trend", f"the difference {better} - {baseline} {way} as n grows", 0.0,
                (claimed,), (other,), alpha, {"decreasing": decreasing})
