"""Probes (the Leek and Beam claims rerun on another digit pair), composite verdicts, and the
report's digit-pair figures."""
import math

import numpy as np
import pandas as pd
import pytest

from claims import registry
from evidence import report as rp
from evidence import stats
from evidence.plugin import _draws_to_decide, _holm_probes


def _paired(effect, draws=8, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    rows = []
    for n in (10, 20):
        for d in range(draws):
            base = 0.9 + rng.normal(0, 0.01)
            rows += [{"task": "0v1", "n": n, "draw": d, "contender": "a",
                      "test_acc": base + effect + rng.normal(0, noise)},
                     {"task": "0v1", "n": n, "draw": d, "contender": "b", "test_acc": base}]
    return stats.paired(pd.DataFrame(rows), better="a", baseline="b", seed=1)


def test_every_leek_and_beam_claim_has_the_hard_pair_as_probe():
    probed = [cid for cid in registry.CLAIMS if cid.startswith(("leek/", "beam/"))]
    assert len(probed) == 7, probed
    for cid in probed:
        assert registry.CLAIMS[cid].probes == ("4v9",), cid
    assert registry.CLAIMS["robinson/zero-one-is-too-easy"].tasks == ("0v1", "4v9")


def test_holm_turns_a_marginal_probe_inconclusive():
    records = [{"probe": True, "scale": "small", "verdict": "SUPPORTED", "p_value_raw": p,
                "p_value": p, "explanation": ""} for p in (0.001, 0.03, 0.04)]
    records.append({"probe": False, "scale": "small", "verdict": "SUPPORTED", "p_value": 0.04})
    _holm_probes(records)
    assert [r["verdict"] for r in records[:3]] == ["SUPPORTED", "INCONCLUSIVE", "INCONCLUSIVE"]
    assert records[0]["p_value"] == pytest.approx(0.003)
    assert records[3]["p_value"] == 0.04 and "holm_family" not in records[3]
    _holm_probes(records)  # idempotent
    assert records[0]["p_value"] == pytest.approx(0.003)


def test_draws_to_decide():
    weak = _paired(0.01, draws=4, noise=0.04).beats()
    assert weak.outcome is stats.Outcome.INCONCLUSIVE
    more = _draws_to_decide(weak, 4)
    # the MDE shrinks as 1/sqrt(draws): it meets the observed effect at 4·(MDE/effect)² draws
    assert more == math.ceil(4 * (weak.mde / abs(weak.effect)) ** 2) and more > 4
    strong = _paired(0.05).beats()
    assert strong.supported and _draws_to_decide(strong, 8) is None


def test_composite_keeps_the_rule_and_parts():
    a, b = _paired(0.05).beats(), _paired(0.0).matches(margin=0.01)
    v = stats.composite([a, b], outcome=stats.Outcome.INCONCLUSIVE, statement="s")
    assert v.outcome is stats.Outcome.INCONCLUSIVE and v.parts == (a, b)
    # figures of the first part, the largest p of the parts
    assert v.effect == a.effect and (v.ci_low, v.ci_high) == (a.ci_low, a.ci_high)
    assert v.p_value == max(a.p_value, b.p_value) and v.rule == "composite"
    with pytest.raises(ValueError, match="Outcome"):
        stats.composite([a, b], outcome="SUPPORTED", statement="s")
    assert "the claim's rule applied to its parts gives INCONCLUSIVE" in v.explain()
    with pytest.raises(ValueError):
        stats.composite([], outcome=stats.Outcome.SUPPORTED, statement="s")


def test_report_draws_the_digit_pairs(tmp_path):
    runs = pd.DataFrame([{"task": t, "n": n, "draw": d, "contender": c, "test_acc": 0.9,
                          "train_acc": 1.0, "fit_seconds": 0.1}
                         for t in ("0v1", "4v9") for n in (10, 20) for d in range(2)
                         for c in ("leekasso", "beam_cnn")])
    pairs = {"regions": {"centre": [[4, 23, 12, 15]], "edge": [[4, 23, 4, 7], [4, 23, 20, 23]]},
             "4v9": {"digits": [4, 9], "means": [[0.0] * 784, [255.0] * 784]}}
    run = {"seed": 2017, "split_seed": 2017, "scale": "small", "device": "cpu",
           "data_source": "test", "git_sha": "x", "seconds": 1.0}
    rp.write_report(tmp_path, run=run, claims=[], runs=runs, pairs=pairs)
    assert (tmp_path / "figures" / "pairs-curves.png").stat().st_size > 1000
    assert (tmp_path / "figures" / "mean-images-4v9.png").stat().st_size > 1000
    md = (tmp_path / "claims.md").read_text()
    assert "## Digit pairs" in md and "figures/mean-images-4v9.png" in md


def test_variant_probes_run_on_the_claims_own_task():
    from evidence.plugin import _probe_parts

    spec = registry.CLAIMS["kaplan/finetuning-beats-scratch"]
    assert spec.variants == ("all-layers", "cross-domain") and spec.probes == ("0v1",)
    assert dict(spec.variant_options) == {"cross-domain": "--pretrain-dir"}
    assert _probe_parts(spec, None) == (None, None)
    assert _probe_parts(spec, "4v9") == (None, None)
    assert _probe_parts(spec, "0v1") == ("0v1", None)
    assert _probe_parts(spec, "all-layers") == (None, "all-layers")
    for cid, other in registry.CLAIMS.items():  # a variant's name is never a digit pair
        assert not set(other.variants) & {other.task, *other.probes, *other.full_probes}, cid
        assert set(dict(other.variant_options)) <= set(other.variants), cid
