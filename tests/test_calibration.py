"""Calibration of every rule at its boundary, for SUPPORTED and for REFUTED, on every design the
suite runs (protocol version 2).

For each rule and outcome, data sets are simulated with the true effect exactly on the boundary
where that outcome would be wrong (e.g. a true effect of -m for "no worse than B by more than
m", +0.5 point for the REFUTED side of "beats"), and the rate at which the rule still says that
outcome must not exceed alpha plus three binomial standard errors (with 2,000 data sets the
band is 1.5 points wide). The data sets go through the same code as a claim
(:class:`evidence.stats.rules.PairedEvidence` on a batch), with noise like the suite's: per-draw
differences of two bounded, skewed accuracies with the anchor spreads of CLAIMS.md (Leekasso
against Leek's h2o net, bundled data), centred on the boundary, skewed to the right as measured
and mirrored (skewed to the left).

Finding (recorded below as strict xfails, with the rates measured by this file's seeds): the
sign-flip test is exact only for symmetric differences. With 6 draws per size and skewed
differences, the side of the test that the skew favours over-rejects: 6.5-7.5% instead of 5% on
Robinson's single size, about 6.5% on two REFUTED cases of the CNN grid (10,000 data sets gave
5.6% for the first), and 6.5-7.9% in five cases of the words grid (5 draws per size, with the
most skewed anchor spreads standing in for the text claim's). The 10- and 20-draw grids stay
within the band.

Designs: the small grid (5 sizes x 10 draws), the CNN grid (3 x 6), Robinson's single size
(1 x 6), the words grid of the text claim (4 x 5), and the full grid (15 x 20, marked slow).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from evidence.scales import FULL, SMALL
from evidence.stats.resampling import Design
from evidence.stats.rules import (HALF_POINT, PairedEvidence, TrendEvidence, beats_rule,
                                  matches_rule, no_worse_rule, trend_rule)

ALPHA = 0.05
N_SETS = 2000
BAND = 3 * math.sqrt(ALPHA * (1 - ALPHA) / N_SETS)  # 0.0146: narrower than 2 points
M = 0.01  # the margins the claims use: 1 point

# (mean, sd) of the Leekasso and of the h2o net (Leek's rule) on the bundled data, per anchor n
ANCHOR = {10: ((0.922, 0.080), (0.740, 0.114)), 20: ((0.962, 0.047), (0.898, 0.082)),
          40: ((0.974, 0.048), (0.931, 0.025)), 60: ((0.988, 0.004), (0.965, 0.013)),
          80: ((0.989, 0.003), (0.965, 0.014))}

DESIGNS = {
    "small": Design.grid(SMALL.sizes, SMALL.draws),
    "cnn": Design.grid(SMALL.grid("cnn").sizes, SMALL.grid("cnn").draws),
    "one-size": Design.grid((max(SMALL.grid("cnn").sizes),), SMALL.grid("cnn").draws),
    "words": Design.grid(SMALL.grid("words").sizes, SMALL.grid("words").draws),
    "full": Design.grid(FULL.sizes, FULL.draws),
}


def _beta(rng, mean, sd, size):
    common = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * common, (1 - mean) * common, size)


def centred_noise(design: Design, n_sets: int, seed: int) -> np.ndarray:
    """(n_sets, N) per-draw differences with mean 0 in expectation, anchor-like spread and skew
    (each size takes the nearest anchor size's distribution)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_sets, design.n.size))
    anchors = np.array(sorted(ANCHOR))
    for s in design.slices:
        n = design.n[s.start]
        (ma, sa), (mb, sb) = ANCHOR[int(anchors[np.argmin(abs(np.log(anchors) - np.log(n)))])]
        pool = _beta(rng, ma, sa, 20_000) - _beta(rng, mb, sb, 20_000)
        pool -= pool.mean()
        out[:, s] = rng.choice(pool, size=(n_sets, s.stop - s.start))
    return out


# (rule factory, outcome that would be wrong, true effect on the boundary)
CASES = {
    "beats/SUPPORTED": (lambda: beats_rule("A", "B"), "SUPPORTED", 0.0),
    "beats/REFUTED": (lambda: beats_rule("A", "B"), "REFUTED", HALF_POINT),
    "beats-by-m/SUPPORTED": (lambda: beats_rule("A", "B", margin=M), "SUPPORTED", M),
    "beats-by-m/REFUTED": (lambda: beats_rule("A", "B", margin=M), "REFUTED", M),
    "no-worse/SUPPORTED": (lambda: no_worse_rule("A", "B", margin=M), "SUPPORTED", -M),
    "no-worse/REFUTED": (lambda: no_worse_rule("A", "B", margin=M), "REFUTED", -M),
    "matches/SUPPORTED@+m": (lambda: matches_rule("A", "B", margin=M), "SUPPORTED", M),
    "matches/SUPPORTED@-m": (lambda: matches_rule("A", "B", margin=M), "SUPPORTED", -M),
    "matches/REFUTED": (lambda: matches_rule("A", "B", margin=M), "REFUTED", M),
    "trend/SUPPORTED": (lambda: trend_rule("A", "B", decreasing=True), "SUPPORTED", 0.0),
    "trend/REFUTED": (lambda: trend_rule("A", "B", decreasing=True), "REFUTED", 0.0),
}


def wrong_rate(case: str, design_name: str, skew: str) -> tuple[float, int]:
    make, wrong, effect = CASES[case]
    design = DESIGNS[design_name]
    seed = sum(map(ord, case + design_name))  # stable across processes
    # the anchor differences are skewed to the right; mirrored, to the left
    noise = centred_noise(design, N_SETS, seed) * (1.0 if skew == "right" else -1.0)
    rule = make()
    if rule.name == "trend":
        ev = TrendEvidence(noise, design)  # a slope of exactly 0 on the boundary
    else:
        ev = PairedEvidence(noise + effect, design, seed=seed + 1, n_resamples=10_000)
    outcome = rule.decide(ev)["outcome"]
    hits = int(np.count_nonzero(outcome == wrong))
    return hits / N_SETS, hits


#: (case, design, skew) -> rate measured with this file's seeds and 2,000 data sets
#: (2026-11-30): over alpha + 3 SE = 0.0646. A change in the code or the noise that moves
#: these turns the run red either way (strict).
OVER_REJECTS = {
    ("beats-by-m/REFUTED", "cnn", "right"): 0.065,
    ("matches/REFUTED", "cnn", "left"): 0.066,
    ("beats/SUPPORTED", "one-size", "left"): 0.066,
    ("beats-by-m/REFUTED", "one-size", "right"): 0.073,
    ("no-worse/SUPPORTED", "one-size", "left"): 0.075,
    ("matches/SUPPORTED@-m", "one-size", "left"): 0.065,
    # the words grid (4 sizes x 5 draws; its sizes take the n = 80 anchor's spreads, the most
    # skewed): 5 draws per size are too few for the test's symmetry assumption either
    ("beats/SUPPORTED", "words", "left"): 0.079,
    ("no-worse/REFUTED", "words", "right"): 0.068,
    ("matches/SUPPORTED@+m", "words", "right"): 0.066,
    ("matches/SUPPORTED@-m", "words", "left"): 0.065,
    ("matches/REFUTED", "words", "left"): 0.066,
}


def _params(designs, marks=()):
    out = []
    for d in designs:
        for case in CASES:
            if case.startswith("trend") and d == "one-size":
                continue  # a slope needs two sizes
            for skew in ("right", "left"):
                known = OVER_REJECTS.get((case, d, skew))
                extra = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
                    f"measured {known:.3f}: the sign-flip test over-rejects with skewed "
                    f"differences and few draws per size (module docstring)"))] if known else []
                out.append(pytest.param(case, d, skew, id=f"{case}-{d}-{skew}",
                                        marks=[*marks, *extra]))
    return out


@pytest.mark.parametrize("case, design, skew", _params(("small", "cnn", "one-size", "words"))
                         + _params(("full",), marks=(pytest.mark.slow,)))
def test_rule_is_calibrated_at_its_boundary(case, design, skew):
    rate, hits = wrong_rate(case, design, skew)
    assert rate <= ALPHA + BAND, (
        f"{case} on the {design} design, noise skewed {skew}: {hits}/{N_SETS} data sets "
        f"({rate:.3f}) said {CASES[case][1]} with the true effect on the boundary; allowed "
        f"alpha + 3 SE = {ALPHA + BAND:.3f}")


def test_the_bound_alone_over_rejects_where_the_pair_does_not():
    """Why protocol v2 needs the sign-flip test too: on the CNN grid, "no worse" on its
    bootstrap bound alone says SUPPORTED too often at the boundary (issue 9 measured about 9% on
    3 sizes x 6 draws), while the full rule stays within its band."""
    design = DESIGNS["cnn"]
    noise = centred_noise(design, N_SETS, seed=99)
    ev = PairedEvidence(noise - M, design, seed=7, n_resamples=10_000)
    bound_alone = float(np.mean(ev.interval[0] > -M))
    both = float(np.mean(no_worse_rule("A", "B", margin=M).decide(ev)["outcome"] == "SUPPORTED"))
    assert both <= ALPHA + BAND
    assert bound_alone > ALPHA + BAND
    print(f"\nno-worse at its boundary, CNN grid: bound alone {bound_alone:.3f}, both {both:.3f}")
