"""Tests of evidence.stats: the statistical protocol of CLAIMS.md turned into verdicts.

Property tests (hypothesis), decision-logic unit tests on data with a known answer, checks of the
hand-written sign-flip test against brute force and scipy, and (marked slow) the calibration of
the "beats" rule under the null and its power at Leek's published effect.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from evidence.stats import HALF_POINT, Outcome, Paired, Verdict, all_of, holm, paired

SIZES = (10, 20, 40, 60, 80)
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- helpers
def runs_from(a: dict, b: dict, *, names=("A", "B"), metric="test_acc", extra=None) -> pd.DataFrame:
    """Tidy runs from {n: per-draw metrics of A} and {n: per-draw metrics of B}."""
    rows = []
    for n in a:
        for d, (x, y) in enumerate(zip(a[n], b[n])):
            rows.append({"n": n, "draw": d, "contender": names[0], metric: float(x)})
            rows.append({"n": n, "draw": d, "contender": names[1], metric: float(y)})
    df = pd.DataFrame(rows)
    if extra:
        for k, v in extra.items():
            df[k] = v
    return df


def runs_from_diffs(diffs: dict, *, base=0.9, **kw) -> pd.DataFrame:
    """A = base + diff, B = base (differences then equal `diffs` up to float rounding)."""
    a = {n: base + np.asarray(v, dtype=float) for n, v in diffs.items()}
    b = {n: np.full(len(v), base) for n, v in diffs.items()}
    return runs_from(a, b, **kw)


def noisy_diffs(means: dict, sd: float, draws: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {n: m + rng.normal(0.0, sd, draws) for n, m in means.items()}


@st.composite
def paired_runs(draw, max_sizes=3, max_draws=5):
    """Runs of contenders A and B with metrics on a 1/1000 grid (like test-set accuracies)."""
    sizes = draw(st.lists(st.sampled_from(SIZES), min_size=1, max_size=max_sizes, unique=True))
    a, b = {}, {}
    for n in sorted(sizes):
        k = draw(st.integers(2, max_draws))
        a[n] = [draw(st.integers(0, 1000)) / 1000 for _ in range(k)]
        b[n] = [draw(st.integers(0, 1000)) / 1000 for _ in range(k)]
    return runs_from(a, b)


def stratified_stat(d: np.ndarray, n: np.ndarray) -> float:
    """Independent implementation of the estimand: mean over sizes of per-size means."""
    return float(np.mean([d[n == s].mean() for s in np.unique(n)]))


def brute_force_p(d, n, shift=0.0, alternative="greater") -> float:
    """Exact sign-flip p by enumerating every sign vector (itertools)."""
    d = np.asarray(d, float) - shift
    n = np.asarray(n)
    obs = stratified_stat(d, n)
    hits = 0
    total = 0
    for signs in itertools.product((1.0, -1.0), repeat=len(d)):
        t = stratified_stat(d * np.array(signs), n)
        total += 1
        if alternative == "greater":
            hits += t >= obs - 1e-12
        else:
            hits += t <= obs + 1e-12
    return hits / total


# ---------------------------------------------------------------------------- properties
@PROPS
@given(runs=paired_runs(), margin=st.sampled_from([0.0, 0.01, 0.02]))
def test_swap_negates_effect_mirrors_interval_and_never_both_supported(runs, margin):
    ab = paired(runs, better="A", baseline="B")
    ba = paired(runs, better="B", baseline="A")
    v1, v2 = ab.beats(margin=margin), ba.beats(margin=margin)
    assert v2.effect == -v1.effect
    assert (v2.ci_low, v2.ci_high) == (-v1.ci_high, -v1.ci_low)
    assert not (v1.supported and v2.supported)
    for r1, r2 in [(ab.matches(margin=0.02), ba.matches(margin=0.02)),
                   (ab.no_worse(margin=0.01), ba.no_worse(margin=0.01))]:
        assert (r2.ci_low, r2.ci_high) == (-r1.ci_high, -r1.ci_low)
    # matches is symmetric in the two contenders
    assert ab.matches(margin=0.02).outcome == ba.matches(margin=0.02).outcome
    if len(ab.sizes) >= 2:
        t1, t2 = ab.trend(), ba.trend(decreasing=False)
        assert t2.effect == -t1.effect
        assert (t2.ci_low, t2.ci_high) == (-t1.ci_high, -t1.ci_low)
        assert t1.outcome == t2.outcome


@PROPS
@given(runs=paired_runs())
def test_identical_arms_never_supported(runs):
    same = runs.copy()
    a_rows = same["contender"] == "A"
    b_vals = same.loc[~a_rows].set_index(["n", "draw"])["test_acc"]
    same.loc[a_rows, "test_acc"] = [b_vals[(n, d)] for n, d in same.loc[a_rows, ["n", "draw"]].to_numpy()]
    v = paired(same, better="A", baseline="B").beats()
    assert v.effect == 0.0
    assert not v.supported
    # all differences 0: the interval is the point 0, below half a point; REFUTED needs the
    # shifted sign-flip test too, whose smallest p with N pairs is 2^-N when it enumerates every
    # sign vector (2^N <= 10,000) and (count + 1) / 10,001 with 10,000 random ones, where count
    # is how many of them flip nothing (expected 10,000 / 2^N)
    assert v.outcome is (Outcome.REFUTED if 2.0 ** -v.n_pairs < 0.05 else Outcome.INCONCLUSIVE)
    if 2 ** v.n_pairs <= 10_000:
        assert v.p_refuted == pytest.approx(2.0 ** -v.n_pairs)
    else:
        assert 1 / 10_001 <= v.p_refuted <= (1 + 10_000 * 2.0 ** -v.n_pairs + 5) / 10_001
    assert (v.ci_low, v.ci_high) == (0.0, 0.0)


@PROPS
@given(runs=paired_runs(max_sizes=5, max_draws=6), margin=st.floats(0.0, 0.2))
def test_p_values_lie_in_unit_interval(runs, margin):
    p = paired(runs, better="A", baseline="B", n_resamples=2000)
    verdicts = [p.beats(margin=margin), p.no_worse(margin=margin)]
    if margin > 0:
        verdicts.append(p.matches(margin=margin))
    if len(p.sizes) >= 2:
        verdicts += [p.trend(), p.trend(decreasing=False)]
    for v in verdicts:
        assert 0.0 <= v.p_value <= 1.0
        assert v.ci_low <= v.ci_high
        assert v.mde >= 0.0


@PROPS
@given(runs=paired_runs(), shift=st.integers(-500, 500).map(lambda k: k / 1000))
def test_adding_a_constant_to_both_arms_changes_nothing(runs, shift):
    shifted = runs.assign(test_acc=runs["test_acc"] + shift)
    p0 = paired(runs, better="A", baseline="B")
    p1 = paired(shifted, better="A", baseline="B")
    assert p0.beats().to_dict() == p1.beats().to_dict()
    assert p0.matches(margin=0.01).to_dict() == p1.matches(margin=0.01).to_dict()
    if len(p0.sizes) >= 2:
        assert p0.trend().to_dict() == p1.trend().to_dict()


@PROPS
@given(runs=paired_runs(), order_seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_nothing(runs, order_seed):
    shuffled = runs.sample(frac=1.0, random_state=order_seed)
    p0 = paired(runs, better="A", baseline="B")
    p1 = paired(shuffled, better="A", baseline="B")
    assert p0.diffs.equals(p1.diffs)
    assert p0.beats(margin=0.01).to_dict() == p1.beats(margin=0.01).to_dict()
    assert p0.no_worse(margin=0.01).to_dict() == p1.no_worse(margin=0.01).to_dict()


def _corrupt(runs: pd.DataFrame, kind: str):
    """Return (runs, better, baseline, expected message fragments) for a bad input."""
    r = runs.copy()
    if kind == "unknown":
        return r, "A", "nope", ["unknown contender", "'nope'", "'A'", "'B'"]
    if kind == "same":
        return r, "A", "A", ["both 'A'", "different"]
    if kind == "unpaired":
        i = r.index[r["contender"] == "B"][0]
        n, d = int(r.at[i, "n"]), int(r.at[i, "draw"])
        return r.drop(index=i), "A", "B", ["not paired", f"({n}, {d})", "same draws"]
    if kind in ("nan", "inf"):
        i = r.index[r["contender"] == "A"][-1]
        r.loc[i, "test_acc"] = np.nan if kind == "nan" else np.inf
        return r, "A", "B", ["NaN/inf", "'test_acc'"]
    if kind == "one_draw":
        n0 = int(r["n"].min())
        r = r[(r["n"] != n0) | (r["draw"] == 0)]
        return r, "A", "B", ["fewer than 2", f"n = [{n0}]", "add draws"]
    if kind == "empty":
        return r.iloc[0:0], "A", "B", ["empty"]
    if kind == "non_numeric":
        return r.assign(test_acc=r["test_acc"].map(lambda x: f"{x:.3f}")), "A", "B", ["not numeric", "'test_acc'"]
    if kind == "two_tasks":
        task = np.where(np.arange(len(r)) % 4 < 2, "0v1", "4v9")
        return r.assign(task=task), "A", "B", ["2 tasks", "filter"]
    if kind == "missing_col":
        return r.drop(columns=["draw"]), "A", "B", ["lacks column", "'draw'"]
    if kind == "duplicate":
        return pd.concat([r, r.iloc[[0]]], ignore_index=True), "A", "B", ["more than one row", "one row per"]
    raise AssertionError(kind)


BAD_KINDS = ["unknown", "same", "unpaired", "nan", "inf", "one_draw", "empty", "non_numeric",
             "two_tasks", "missing_col", "duplicate"]


@PROPS
@given(runs=paired_runs(), kind=st.sampled_from(BAD_KINDS))
def test_bad_inputs_raise_helpful_value_errors(runs, kind):
    bad, better, baseline, fragments = _corrupt(runs, kind)
    with pytest.raises(ValueError) as err:
        paired(bad, better=better, baseline=baseline)
    msg = str(err.value)
    for frag in fragments:
        assert frag in msg, f"{kind}: {frag!r} missing from {msg!r}"


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_input_kind_is_rejected(kind):
    runs = runs_from_diffs({10: [0.01, 0.02, 0.0], 20: [0.0, 0.01, -0.01]})
    bad, better, baseline, fragments = _corrupt(runs, kind)
    with pytest.raises(ValueError) as err:
        paired(bad, better=better, baseline=baseline)
    for frag in fragments:
        assert frag in str(err.value)


def test_other_contenders_columns_and_a_single_task_are_fine():
    runs = runs_from_diffs({10: [0.05, 0.06, 0.04], 20: [0.03, 0.02, 0.04]})
    other = runs[runs["contender"] == "B"].assign(contender="C", test_acc=np.nan)
    runs = pd.concat([runs, other], ignore_index=True).assign(task="0v1", seconds=1.0)
    p = paired(runs, better="A", baseline="B")
    assert p.n_pairs == 6 and p.sizes == (10, 20)
    assert list(p.diffs.columns) == ["n", "draw", "diff"]
    np.testing.assert_allclose(p.diffs["diff"], [0.05, 0.06, 0.04, 0.03, 0.02, 0.04])


def test_trend_needs_two_sizes():
    p = paired(runs_from_diffs({10: [0.01, 0.02, 0.03]}), better="A", baseline="B")
    with pytest.raises(ValueError, match="at least 2 distinct sizes"):
        p.trend()


@pytest.mark.parametrize("call", [
    lambda p: p.beats(margin=-0.01), lambda p: p.matches(margin=0.0), lambda p: p.no_worse(margin=np.nan),
    lambda p: p.beats(alpha=0.0), lambda p: p.trend(alpha=1.5),
])
def test_rule_arguments_are_validated(call):
    p = paired(runs_from_diffs({10: [0.01, 0.02, 0.03]}), better="A", baseline="B")
    with pytest.raises(ValueError):
        call(p)


# ---------------------------------------------------------------------------- decision logic
def P(diffs: dict, **kw) -> Paired:
    return paired(runs_from_diffs(diffs), better="A", baseline="B", **kw)


def test_clear_win_is_supported_and_by_margin_logic():
    p = P(noisy_diffs({n: 0.05 for n in SIZES}, sd=0.01))
    v = p.beats()
    assert v.outcome is Outcome.SUPPORTED and v.rule == "beats"
    assert v.p_value < 0.001 and v.ci_low > 0.04
    assert v.statement == "A beats B"
    by1 = p.beats(margin=0.01)
    assert by1.outcome is Outcome.SUPPORTED and by1.rule == "beats_by"
    assert by1.statement == "A beats B by more than 1.0 points"
    assert p.beats(margin=0.10).outcome is Outcome.REFUTED      # upper bound < 10 points
    # a margin inside the interval: neither
    mid = p.beats(margin=round(v.effect, 3))
    assert mid.outcome is Outcome.INCONCLUSIVE


def test_clear_tie_with_tight_interval_refutes_beats():
    v = P(noisy_diffs({n: 0.0 for n in SIZES}, sd=0.002, seed=3)).beats()
    assert v.ci_high < HALF_POINT
    assert v.outcome is Outcome.REFUTED


def test_small_advantage_that_is_real_but_under_half_a_point_still_beats():
    # SUPPORTED is tested before REFUTED: a precise 0.3-point advantage is a win
    v = P(noisy_diffs({n: 0.003 for n in SIZES}, sd=0.0005, seed=4)).beats()
    assert v.ci_low > 0 and v.ci_high < HALF_POINT
    assert v.outcome is Outcome.SUPPORTED


def centred_noise(means: dict, sd: float, draws: int = 10, seed: int = 0) -> dict:
    """Like noisy_diffs but each size's sample mean is exactly its target."""
    rng = np.random.default_rng(seed)
    out = {}
    for n, m in means.items():
        z = rng.normal(size=draws)
        out[n] = m + sd * (z - z.mean()) / z.std(ddof=1)
    return out


def test_noisy_small_effect_is_inconclusive():
    v = P(centred_noise({n: 0.01 for n in SIZES}, sd=0.1, seed=5)).beats()
    assert v.effect == pytest.approx(0.01)
    assert v.ci_low <= 0 < HALF_POINT <= v.ci_high
    assert v.outcome is Outcome.INCONCLUSIVE


def test_significant_p_but_interval_touching_zero_is_not_supported():
    # Build a Paired whose interval is forced to straddle 0 while p is tiny, to check that the
    # rule needs both conditions.
    p = P(noisy_diffs({n: 0.05 for n in SIZES}, sd=0.01))
    p._ev._interval = (np.array([-0.001]), np.array([0.08]))
    assert p.beats().outcome is Outcome.INCONCLUSIVE
    p._ev._interval = (np.array([0.001]), np.array([0.08]))
    assert p.beats().outcome is Outcome.SUPPORTED


def test_interval_above_zero_without_a_significant_p_is_not_supported():
    p = P(centred_noise({n: 0.0 for n in SIZES}, sd=0.05, seed=18))
    assert p.sign_flip_p() > 0.3
    p._ev._interval = (np.array([0.001]), np.array([0.05]))  # force the bound to hold
    assert p.beats().outcome is Outcome.INCONCLUSIVE


def test_trend_needs_p_below_alpha_too():
    rng = np.random.default_rng(17)
    d = {}
    for n in SIZES:
        z = rng.normal(size=10)
        d[n] = -0.019 * math.log(n) + 0.05 * (z - z.mean()) / z.std(ddof=1)
    p = P(d)
    at5, at1 = p.trend(alpha=0.05), p.trend(alpha=0.01)
    assert 0.01 < at5.p_value < 0.05 and at5.ci_high < 0   # 90% interval below 0 ...
    assert at5.outcome is Outcome.SUPPORTED
    assert at1.outcome is Outcome.INCONCLUSIVE             # ... but p is not below alpha=0.01


def test_matches_within_outside_and_straddling_margin():
    within = P(noisy_diffs({n: 0.0 for n in SIZES}, sd=0.004, seed=6)).matches(margin=0.01)
    assert within.outcome is Outcome.SUPPORTED and within.rule == "matches"
    assert -0.01 < within.ci_low and within.ci_high < 0.01
    assert within.p_value < 0.05
    assert within.statement == "A matches B within ±1.0 points"
    for sign in (1, -1):
        outside = P(noisy_diffs({n: sign * 0.05 for n in SIZES}, sd=0.004, seed=7)).matches(margin=0.01)
        assert outside.outcome is Outcome.REFUTED
    straddle = P(noisy_diffs({n: 0.01 for n in SIZES}, sd=0.01, seed=8)).matches(margin=0.01)
    assert straddle.ci_low < 0.01 < straddle.ci_high
    assert straddle.outcome is Outcome.INCONCLUSIVE


def test_matches_p_is_the_larger_one_sided_p():
    # effect near +0.7 points: the "below +1 point" side is the harder one
    p = P(centred_noise({10: 0.007, 20: 0.007}, sd=0.004, draws=5, seed=9))
    v = p.matches(margin=0.01)
    lower = p.sign_flip_p(-0.01, alternative="greater")
    upper = p.sign_flip_p(0.01, alternative="less")
    assert lower < upper
    assert v.p_value == upper


def test_no_worse_rule():
    ok = P(noisy_diffs({n: -0.002 for n in SIZES}, sd=0.004, seed=10)).no_worse(margin=0.01)
    assert ok.outcome is Outcome.SUPPORTED and ok.ci_low > -0.01
    assert ok.statement == "A is no worse than B by more than 1.0 points"
    bad = P(noisy_diffs({n: -0.05 for n in SIZES}, sd=0.004, seed=11)).no_worse(margin=0.01)
    assert bad.outcome is Outcome.REFUTED and bad.ci_high < -0.01
    mid = P(noisy_diffs({n: -0.01 for n in SIZES}, sd=0.02, seed=12)).no_worse(margin=0.01)
    assert mid.ci_low < -0.01 < mid.ci_high
    assert mid.outcome is Outcome.INCONCLUSIVE


def _trend_diffs(slope: float, sd: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {n: 0.05 + slope * math.log(n) + rng.normal(0, sd, 10) for n in SIZES}


def test_trend_down_up_and_flat():
    down = P(_trend_diffs(-0.03, 0.01, 13))
    assert down.trend().outcome is Outcome.SUPPORTED
    assert down.trend().effect < 0 and down.trend().ci_high < 0
    assert down.trend(decreasing=False).outcome is Outcome.REFUTED
    up = P(_trend_diffs(+0.03, 0.01, 14))
    assert up.trend().outcome is Outcome.REFUTED
    assert up.trend(decreasing=False).outcome is Outcome.SUPPORTED
    noisy_flat = P(_trend_diffs(0.0, 0.05, 15)).trend()
    assert noisy_flat.ci_low < 0 < noisy_flat.ci_high
    assert noisy_flat.outcome is Outcome.INCONCLUSIVE
    # constant differences: the slope is exactly 0 with no error; protocol v2 refutes
    # "decreasing" only when a slope above 0 is shown, so neither branch holds
    const = P({n: [0.02] * 4 for n in SIZES}).trend()
    assert const.effect == 0.0 and (const.ci_low, const.ci_high) == (0.0, 0.0)
    assert const.outcome is Outcome.INCONCLUSIVE and const.p_value == 1.0
    assert const.p_refuted == 1.0


def test_trend_matches_statsmodels_hc3_fit():
    import statsmodels.api as sm

    p = P(_trend_diffs(-0.01, 0.02, 16))
    v = p.trend()
    d = p.diffs
    fit = sm.OLS(d["diff"].to_numpy(), sm.add_constant(np.log(d["n"].to_numpy(float)))).fit(
        cov_type="HC3", use_t=True)
    assert v.effect == pytest.approx(fit.params[1], rel=1e-9, abs=1e-12)
    lo, hi = fit.conf_int(alpha=0.10)[1]
    assert (v.ci_low, v.ci_high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    t = fit.params[1] / fit.bse[1]
    assert v.p_value == pytest.approx(stats.t.cdf(t, fit.df_resid), rel=1e-9)
    assert v.mde == pytest.approx((stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * fit.bse[1], rel=1e-9)


def _verdict_with(outcome: Outcome, p: float, effect: float) -> Verdict:
    base = P(noisy_diffs({10: 0.0, 20: 0.0}, sd=0.01, draws=3)).beats()
    return dataclasses.replace(base, outcome=outcome, p_value=p, p_supported=p, p_refuted=p,
                               effect=effect, statement=f"{outcome.value}")


@pytest.mark.parametrize("outcomes, expected", [
    (("SUPPORTED", "SUPPORTED"), "SUPPORTED"),
    (("SUPPORTED", "INCONCLUSIVE"), "INCONCLUSIVE"),
    (("INCONCLUSIVE", "INCONCLUSIVE"), "INCONCLUSIVE"),
    (("SUPPORTED", "REFUTED"), "REFUTED"),
    (("REFUTED", "INCONCLUSIVE"), "REFUTED"),
    (("INCONCLUSIVE", "SUPPORTED", "REFUTED"), "REFUTED"),
    (("SUPPORTED",), "SUPPORTED"),
])
def test_all_of_combinations(outcomes, expected):
    parts = [_verdict_with(Outcome(o), p=0.01 * (i + 1), effect=0.1 * (i + 1)) for i, o in enumerate(outcomes)]
    v = all_of(*parts, statement="both parts")
    assert v.outcome is Outcome(expected)
    assert v.rule == "all_of" and v.statement == "both parts"
    assert v.parts == tuple(parts)
    assert v.effect == parts[0].effect and v.ci_low == parts[0].ci_low
    # SUPPORTED / INCONCLUSIVE: the largest part p; REFUTED: the smallest Holm-adjusted p of
    # the parts (a union over the parts)
    if expected == "REFUTED":
        assert v.p_value == min(holm([q.p_refuted for q in parts]))
    else:
        assert v.p_value == max(q.p_supported for q in parts)


def test_all_of_needs_parts():
    with pytest.raises(ValueError, match="at least one"):
        all_of(statement="nothing")


# ---------------------------------------------------------------------------- the test itself
def test_sign_flip_p_matches_brute_force_enumeration():
    d = {10: [0.03, -0.01, 0.02], 20: [0.01, 0.0, -0.02, 0.015]}
    p = P(d)
    flat = np.concatenate([d[10], d[20]])
    sizes = np.array([10] * 3 + [20] * 4)
    assert p.sign_flip_p() == pytest.approx(brute_force_p(flat, sizes), abs=1e-15)
    for shift in (-0.01, 0.005):
        assert p.sign_flip_p(shift) == pytest.approx(brute_force_p(flat, sizes, shift), abs=1e-15)
        assert p.sign_flip_p(shift, alternative="less") == pytest.approx(
            brute_force_p(flat, sizes, shift, "less"), abs=1e-15)
    v = p.beats(margin=0.005)
    assert v.p_value == pytest.approx(brute_force_p(flat, sizes, 0.005), abs=1e-15)
    # exact p-values are multiples of 1/2**7
    assert (p.sign_flip_p() * 2**7) == pytest.approx(round(p.sign_flip_p() * 2**7))


def test_sign_flip_p_matches_scipy_exact_and_random():
    rng = np.random.default_rng(42)
    d = {10: rng.normal(0.01, 0.02, 5), 40: rng.normal(0.01, 0.02, 6)}
    p = P(d)
    x = p.diffs["diff"].to_numpy()
    w = np.where(p.diffs["n"].to_numpy() == 10, 1 / (2 * 5), 1 / (2 * 6))

    def stat(z, axis=-1):
        return np.sum(z * w, axis=axis)

    ref = stats.permutation_test((x,), stat, permutation_type="samples", n_resamples=10_000,
                                 alternative="greater", vectorized=True)
    assert p.sign_flip_p() == pytest.approx(ref.pvalue, abs=1e-15)  # both exact (2**11 flips)

    # random flips: 50 pairs, so 2**50 > n_resamples
    d = noisy_diffs({n: 0.002 for n in SIZES}, sd=0.02, seed=43)
    p = P(d)
    x = p.diffs["diff"].to_numpy()
    w = np.full(50, 1 / 50)
    ref = stats.permutation_test((x,), lambda z, axis=-1: np.sum(z * w, axis=axis),
                                 permutation_type="samples", n_resamples=10_000,
                                 alternative="greater", vectorized=True, rng=np.random.default_rng(0))
    mine = p.sign_flip_p()
    se = math.sqrt(ref.pvalue * (1 - ref.pvalue) / 10_000)
    assert 0.01 < mine < 0.99
    assert abs(mine - ref.pvalue) < 5 * math.sqrt(2) * se


def test_exact_enumeration_switches_at_two_to_the_pairs():
    d = noisy_diffs({10: 0.01, 20: 0.01}, sd=0.02, draws=7, seed=44)  # 14 pairs
    exact = P(d, n_resamples=2**14)
    p = exact.sign_flip_p()
    assert (p * 2**14) == pytest.approx(round(p * 2**14), abs=1e-9)
    random_ = P(d, n_resamples=2**14 - 1)
    q = random_.sign_flip_p()
    assert (q * 2**14) == pytest.approx(round(q * 2**14), abs=1e-9)  # (count+1)/(B+1), B+1 = 2**14
    assert exact._ev._flip.exact is True and random_._ev._flip.exact is False


def test_random_flip_p_is_never_zero():
    v = P({n: [0.05] * 10 for n in SIZES}).beats()
    assert v.p_value == pytest.approx(1 / 10_001)
    assert v.p_value > 0


def test_interval_is_the_stratified_bca_bootstrap():
    d = noisy_diffs({10: 0.03, 20: 0.02, 40: 0.01}, sd=0.03, draws=8, seed=45)
    p = P(d, seed=7)
    samples = [p.diffs.loc[p.diffs["n"] == n, "diff"].to_numpy() for n in (10, 20, 40)]
    rng = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[1])
    ref = stats.bootstrap(samples, lambda *xs, axis=-1: sum(np.mean(x, axis=axis) for x in xs) / len(xs),
                          n_resamples=10_000, confidence_level=0.90, method="BCa", rng=rng, vectorized=True)
    lo, hi = p.interval()
    assert lo == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert hi == pytest.approx(ref.confidence_interval.high, rel=1e-12)
    assert lo < p.effect < hi


def test_degenerate_data_falls_back_to_the_point():
    v = P({n: [0.03] * 5 for n in (10, 20)}).beats()
    assert (v.ci_low, v.ci_high) == (pytest.approx(0.03), pytest.approx(0.03))
    assert v.outcome is Outcome.SUPPORTED


def test_estimand_weights_sizes_equally():
    # 2 draws at n=10 with diff 0.10, 8 draws at n=20 with diff 0: pooled mean 0.02, estimand 0.05
    p = P({10: [0.1, 0.1], 20: [0.0] * 8})
    v = p.beats()
    assert v.effect == pytest.approx(0.05)
    assert [r["mean_diff"] for r in v.per_size] == [pytest.approx(0.1), pytest.approx(0.0)]
    assert [r["draws"] for r in v.per_size] == [2, 8]
    assert v.n_pairs == 10 and v.sizes == (10, 20)


def test_mde_formula():
    d = noisy_diffs({10: 0.02, 20: 0.01, 40: 0.0}, sd=0.03, draws=6, seed=46)
    v = P(d).beats()
    var = [np.var(d[n] - 0.0, ddof=1) for n in (10, 20, 40)]
    se = math.sqrt(sum(s / 6 for s in var)) / 3
    assert v.mde == pytest.approx((stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * se, rel=1e-6)
    assert P(d).beats(alpha=0.01).mde > v.mde


def test_determinism_and_seed_dependence():
    d = noisy_diffs({n: 0.004 for n in SIZES}, sd=0.03, seed=47)
    a = P(d, seed=1).beats().to_dict()
    assert a == P(d, seed=1).beats().to_dict()
    b = P(d, seed=2).beats().to_dict()
    assert (a["p_value"], a["ci_low"]) != (b["p_value"], b["ci_low"])
    assert a["effect"] == b["effect"]


def test_to_dict_is_json_ready_and_explain_is_informative():
    p = P(noisy_diffs({n: 0.05 for n in SIZES}, sd=0.01))
    v = all_of(p.beats(), p.trend(), statement="wins and the gap is flat")
    d = v.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["outcome"] == v.outcome.value and back["rule"] == "all_of"
    assert len(back["parts"]) == 2 and back["parts"][0]["rule"] == "beats"
    assert back["sizes"] == list(SIZES) and back["per_size"][0]["n"] == 10
    e = p.beats().explain()
    assert "A beats B" in e and "SUPPORTED" in e and "points" in e and "90% interval" in e
    assert "p = " in e and "minimum detectable" in e and "why:" in e and "n=80" in e
    tie = P(noisy_diffs({n: 0.0 for n in SIZES}, sd=0.002, seed=3)).beats().explain()
    assert "REFUTED: the effect is below +0.50 points holds" in tie
    assert "part:" in v.explain()


def test_outcome_is_a_string_enum_and_properties():
    v = P(noisy_diffs({n: 0.05 for n in SIZES}, sd=0.01)).beats()
    assert Outcome.SUPPORTED == "SUPPORTED" and v.supported and not v.refuted


def test_holm():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    with pytest.raises(ValueError):
        holm([0.2, 1.5])


def test_one_full_rule_is_fast():
    runs = runs_from_diffs(noisy_diffs({n: 0.01 for n in SIZES}, sd=0.05, seed=48))
    paired(runs, better="A", baseline="B").beats()  # warm-up
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        paired(runs, better="A", baseline="B").beats()
        times.append(time.perf_counter() - t0)
    # a few tens of milliseconds at most (median, generous for a busy 2-core machine)
    assert np.median(times) < 0.1, f"median {1e3 * np.median(times):.1f} ms"


# ---------------------------------------------------------------------------- calibration / power
# Per-arm anchor figures (CLAIMS.md, Leek's experiment on the bundled data, 10 draws per n):
# (mean, sd) of the Leekasso and of the h2o net with h2o's label rule, at n = 10, 20, 40, 60, 80.
ANCHOR = {
    10: ((0.922, 0.080), (0.740, 0.114)),
    20: ((0.962, 0.047), (0.898, 0.082)),
    40: ((0.974, 0.048), (0.931, 0.025)),
    60: ((0.988, 0.004), (0.965, 0.013)),
    80: ((0.989, 0.003), (0.965, 0.014)),
}
# Leek's published mean gap: ~9 points for n <= 25, 4 for n 30-55, 2 for n >= 60.
LEEK_GAP = {10: 0.09, 20: 0.09, 40: 0.04, 60: 0.02, 80: 0.02}
POOL_PER_SIZE = 200
DRAWS = 10


def _beta(rng, mean, sd, size):
    common = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * common, (1 - mean) * common, size)


def anchor_pool(seed=20170531) -> dict:
    """Centred, anchor-like per-draw differences Leekasso - h2o net (bounded, skewed accuracies)."""
    rng = np.random.default_rng(seed)
    pool = {}
    for n, ((ma, sa), (mb, sb)) in ANCHOR.items():
        d = _beta(rng, ma, sa, POOL_PER_SIZE) - _beta(rng, mb, sb, POOL_PER_SIZE)
        pool[n] = d - d.mean()
    return pool


def _simulate(n_datasets: int, effect: dict, seed: int) -> tuple[int, float]:
    pool = anchor_pool()
    children = np.random.SeedSequence(seed).spawn(n_datasets)
    base = np.full(DRAWS, 0.9)
    supported = 0
    t0 = time.perf_counter()
    for i, child in enumerate(children):
        rng = np.random.default_rng(child)
        a = {n: base + effect[n] + rng.choice(pool[n], DRAWS, replace=True) for n in SIZES}
        b = {n: base for n in SIZES}
        v = paired(runs_from(a, b), better="A", baseline="B", seed=1000 + i).beats()
        supported += v.supported
    return supported, time.perf_counter() - t0


def test_anchor_pool_is_anchor_like():
    pool = anchor_pool()
    for n, ((_, sa), (_, sb)) in ANCHOR.items():
        assert abs(pool[n].mean()) < 1e-12
        assert pool[n].std(ddof=1) == pytest.approx(math.hypot(sa, sb), rel=0.2)


@pytest.mark.slow
def test_beats_false_positive_rate_is_calibrated():
    n_sets, alpha = 2000, 0.05
    hits, secs = _simulate(n_sets, {n: 0.0 for n in SIZES}, seed=1)
    lo, hi = stats.binom.interval(0.99, n_sets, alpha)
    rate = hits / n_sets
    print(f"\ncalibration: {hits}/{n_sets} SUPPORTED under the null = {rate:.4f} "
          f"(99% band {lo / n_sets:.4f}-{hi / n_sets:.4f}); {secs:.1f} s")
    assert lo <= hits <= hi, (
        f"false-positive rate {rate:.4f} ({hits}/{n_sets}) outside the 99% binomial band "
        f"[{lo / n_sets:.4f}, {hi / n_sets:.4f}] of alpha={alpha}")


@pytest.mark.slow
def test_beats_has_power_at_leeks_published_gap():
    n_sets = 500
    hits, secs = _simulate(n_sets, LEEK_GAP, seed=2)
    power = hits / n_sets
    print(f"\npower: {hits}/{n_sets} SUPPORTED at Leek's gap = {power:.3f}; {secs:.1f} s")
    assert power >= 0.8, f"power {power:.3f} ({hits}/{n_sets}) below 0.8"
