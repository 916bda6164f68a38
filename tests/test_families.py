"""Composites, the fixed Holm family of probes, draws-to-decide (tested by simulation) and the
vectorised resampling against scipy and statsmodels (evidence/stats/)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from evidence.stats import (Outcome, adjust_family, all_of, decide, draws_to_decide, every,
                            holm, paired, refuted, some, supported)
from evidence.stats.resampling import Design, SignFlip, bootstrap_interval, ols_slope_hc3
from evidence.stats.rules import PairedEvidence, TrendEvidence


def _runs(diffs: dict) -> pd.DataFrame:
    rows = []
    for n, ds in diffs.items():
        for d, x in enumerate(ds):
            rows += [{"n": n, "draw": d, "contender": "A", "test_acc": 0.9 + x},
                     {"n": n, "draw": d, "contender": "B", "test_acc": 0.9}]
    return pd.DataFrame(rows)


def _exact_sample(mean: float, sd: float, k: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(size=k)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


# ------------------------------------------------------------------------------ resampling
def test_bootstrap_interval_reproduces_scipy():
    rng = np.random.default_rng(3)
    for _ in range(4):
        k = rng.integers(3, 11, 4)
        samples = [rng.normal(0.01, 0.05, kk) for kk in k]
        design = Design.of(np.repeat([10, 20, 40, 80], k))
        lo, hi = bootstrap_interval(np.concatenate(samples), design, confidence=0.9,
                                    n_resamples=9999, seed=np.random.SeedSequence(5))
        ref = sps.bootstrap(samples, lambda *xs, axis=-1: sum(x.mean(axis=axis) for x in xs) / len(xs),
                            vectorized=True, n_resamples=9999, confidence_level=0.9, method="BCa",
                            rng=np.random.default_rng(np.random.SeedSequence(5)))
        assert lo[0] == pytest.approx(ref.confidence_interval.low, abs=1e-12)
        assert hi[0] == pytest.approx(ref.confidence_interval.high, abs=1e-12)


def test_batches_equal_one_data_set_at_a_time():
    design = Design.grid((10, 20, 40), 6)
    D = np.random.default_rng(1).normal(0.0, 0.03, (5, design.n.size))
    flip = SignFlip(design, n_resamples=5000, seed=2)
    lo, hi = bootstrap_interval(D, design, confidence=0.9, n_resamples=2000, seed=4)
    for i in range(5):
        assert flip.p(D[i], 0.001)[0] == flip.p(D, 0.001)[i]
        l1, h1 = bootstrap_interval(D[i], design, confidence=0.9, n_resamples=2000, seed=4)
        assert (l1[0], h1[0]) == pytest.approx((lo[i], hi[i]), abs=1e-15)


def test_hc3_slope_matches_statsmodels():
    import statsmodels.api as sm

    design = Design.grid((10, 20, 40, 80), 5)
    x = np.log(design.n.astype(float))
    D = np.random.default_rng(2).normal(0.0, 0.02, (3, design.n.size)) - 0.01 * x
    slope, se, df = ols_slope_hc3(D, x)
    for i in range(3):
        fit = sm.OLS(D[i], sm.add_constant(x)).fit(cov_type="HC3")
        assert slope[i] == pytest.approx(fit.params[1], rel=1e-10)
        assert se[i] == pytest.approx(fit.bse[1], rel=1e-10)
    assert df == design.n.size - 2


# ------------------------------------------------------------------------------ composites
def _verdict(effect: float, sd: float = 0.003, k: int = 8, seed: int = 0):
    return paired(_runs({n: _exact_sample(effect, sd, k, seed + n) for n in (10, 20)}),
                  better="A", baseline="B")


def test_some_is_holm_adjusted_over_its_members():
    # one member barely SUPPORTED on its own p: with two other members it no longer counts
    marginal = _verdict(0.0009, sd=0.003, k=20, seed=1).beats()
    assert marginal.supported and 0.01 < marginal.p_supported < 0.05
    losers = [_verdict(-0.02, seed=s).beats() for s in (2, 3)]
    alone = some([supported(marginal)])
    union = some([supported(marginal)] + [supported(v) for v in losers])
    assert alone.holds and not union.holds
    assert union.p == pytest.approx(min(holm([marginal.p_supported] + [v.p_supported for v in losers])))


def test_every_takes_the_largest_p_and_decide_reports_the_branch_that_decided():
    a, b = _verdict(0.05).beats(), _verdict(0.04, seed=5).beats()
    v = decide([a, b], statement="both", supported_when=every([supported(a), supported(b)]),
               refuted_when=some([refuted(a), refuted(b)]))
    assert v.outcome is Outcome.SUPPORTED and v.p_value == max(a.p_supported, b.p_supported)
    assert v.parts == (a, b) and "SUPPORTED: all of:" in v.reason
    lose = _verdict(-0.05, seed=6).beats()
    w = all_of(a, lose, statement="both")
    assert lose.refuted and w.outcome is Outcome.REFUTED
    assert w.p_value == min(holm([a.p_refuted, lose.p_refuted]))


# ------------------------------------------------------------------------------ probe family
def _probe(pid, verdict, ps, pr):
    return {"id": pid, "probe": True, "verdict": verdict, "p_supported": ps, "p_refuted": pr,
            "p_value": ps, "explanation": ""}


MEMBERS = ["c1@4v9", "c2@4v9", "c3@4v9", "c4@all-layers"]


def test_family_is_fixed_and_a_missing_probe_counts_with_p_one():
    full = [_probe("c1@4v9", "SUPPORTED", 0.004, 1.0), _probe("c2@4v9", "SUPPORTED", 0.02, 1.0),
            _probe("c3@4v9", "REFUTED", 1.0, 0.01), _probe("c4@all-layers", "INCONCLUSIVE", 0.3, 0.6)]
    adjust_family(full, MEMBERS)
    assert [r["holm_family"] for r in full] == [4] * 4
    assert full[0]["p_value"] == pytest.approx(0.016) and full[0]["verdict"] == "SUPPORTED"
    # c2: 0.02 ranked third after 0.004 and 0.01 -> 2 * 0.02 = 0.04 < 0.05
    assert full[1]["p_value"] == pytest.approx(0.04) and full[1]["verdict"] == "SUPPORTED"
    assert full[2]["p_value"] == pytest.approx(0.03) and full[2]["verdict"] == "REFUTED"
    # only c1 ran: the others count with p = 1, the family size stays 4
    alone = [_probe("c1@4v9", "SUPPORTED", 0.004, 1.0)]
    adjust_family(alone, MEMBERS)
    assert alone[0]["holm_family"] == 4 and alone[0]["p_value"] == pytest.approx(0.016)
    assert len(alone[0]["holm_missing"]) == 3
    # a REFUTED probe is adjusted too, and demoted when its adjusted p is not below alpha
    weak = [_probe("c3@4v9", "REFUTED", 1.0, 0.02)]
    adjust_family(weak, MEMBERS)
    assert weak[0]["verdict"] == "INCONCLUSIVE" and weak[0]["verdict_raw"] == "REFUTED"
    adjust_family(weak, MEMBERS)  # idempotent: adjusts from the raw verdict and p
    assert weak[0]["verdict"] == "INCONCLUSIVE" and weak[0]["p_value"] == pytest.approx(0.08)
    with pytest.raises(ValueError, match="not in the family"):
        adjust_family([_probe("nope@4v9", "SUPPORTED", 0.01, 1.0)], MEMBERS)


def test_registry_family_does_not_depend_on_what_ran():
    from claims import registry

    small = registry.probe_family("small")
    assert len(small) == len(set(small))
    assert "kaplan/finetuning-beats-scratch@cross-domain" in small  # runs only with an option
    full = registry.probe_family("full")
    assert set(small) < set(full)
    # every registered probe pair and variant, whatever the number of claims; the full scale
    # adds the full-only pairs (7 vs 9)
    specs = registry.CLAIMS.values()
    assert len(small) == sum(len(c.probes) + len(c.variants) for c in specs)
    assert len(full) == len(small) + sum(len(c.full_probes) for c in specs)
    assert {p for p in full if p.endswith("@7v9")} == set(full) - set(small)
    assert {"reddit/modern-recipe-helps@4v9", "reddit/modern-recipe-helps@h2o-label"} <= set(small)


# ------------------------------------------------------------------------------ draws to decide
SIZES = (10, 20, 40)


def _simulate_supported(effect, sd, k, rule, n_sets=600, seed=11):
    """Rate at which ``rule`` decides as the pilot leaned, over data sets of k draws per size."""
    design = Design.grid(SIZES, k)
    rng = np.random.default_rng(seed)
    D = effect + rng.normal(0.0, sd, (n_sets, design.n.size))
    if rule[0] == "trend":
        ev = TrendEvidence(D, design)
    else:
        ev = PairedEvidence(D, design, seed=seed, n_resamples=2000)
    return float(np.mean(rule[1].decide(ev)["outcome"] == rule[2]))


@pytest.mark.parametrize("name, effect, call, outcome", [
    ("beats", 0.006, lambda p: p.beats(), "SUPPORTED"),
    ("no worse", -0.004, lambda p: p.no_worse(margin=0.01), "SUPPORTED"),
    ("matches", 0.0, lambda p: p.matches(margin=0.01), "SUPPORTED"),
    ("beats (refuted side)", -0.006, lambda p: p.beats(), "REFUTED"),
])
def test_draws_to_decide_gives_power_near_08(name, effect, call, outcome):
    from evidence.stats.rules import beats_rule, matches_rule, no_worse_rule

    sd, k0 = 0.03, 4
    pilot = call(paired(_runs({n: _exact_sample(effect, sd, k0, n) for n in SIZES}),
                        better="A", baseline="B"))
    assert pilot.outcome is Outcome.INCONCLUSIVE, pilot.explain()
    k = draws_to_decide(pilot, k0)
    assert k is not None and k > k0
    rule = {"beats": beats_rule("A", "B"), "no worse": no_worse_rule("A", "B", margin=0.01),
            "matches": matches_rule("A", "B", margin=0.01),
            "beats (refuted side)": beats_rule("A", "B")}[name]
    rate = _simulate_supported(effect, sd, k, (name, rule, outcome))
    assert 0.7 <= rate <= 0.9, f"{name}: {k} draws per size decide in {rate:.2f} of data sets"
    # and with half as many draws, clearly less often
    assert _simulate_supported(effect, sd, max(2, k // 2), (name, rule, outcome)) < rate - 0.1


def test_draws_to_decide_for_a_trend_and_decided_verdicts():
    from evidence.stats.rules import trend_rule

    sd, k0 = 0.03, 4
    x = np.log(np.array(SIZES, dtype=float))
    slope = -0.006
    pilot = paired(_runs({n: _exact_sample(slope * (np.log(n) - x.mean()), sd, k0, n)
                          for n in SIZES}), better="A", baseline="B").trend()
    assert pilot.outcome is Outcome.INCONCLUSIVE
    k = draws_to_decide(pilot, k0)
    design = Design.grid(SIZES, k)
    rng = np.random.default_rng(5)
    D = slope * (np.log(design.n) - x.mean()) + rng.normal(0, sd, (800, design.n.size))
    rate = float(np.mean(trend_rule("A", "B", decreasing=True).decide(TrendEvidence(D, design))
                         ["outcome"] == "SUPPORTED"))
    assert 0.7 <= rate <= 0.9, f"{k} draws: {rate:.2f}"
    decided = _verdict(0.05).beats()
    assert decided.supported and draws_to_decide(decided, 8) is None
