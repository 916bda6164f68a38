"""Probes (the Leek and Beam claims rerun on another digit pair), composite verdicts, and the
report's digit-pair figures."""

import re
from dataclasses import replace

import pandas as pd
import pytest

from claims import registry
from evidence import report as rp
from evidence import stats
from evidence.plugin import ClaimRun, _holm_probes


def test_every_leek_and_beam_claim_has_the_hard_pair_as_probe():
    probed = [cid for cid in registry.CLAIMS if cid.startswith(("leek/", "beam/"))]
    assert probed
    for cid in probed:
        assert "4v9" in registry.CLAIMS[cid].probes, cid
    assert registry.CLAIMS["robinson/zero-one-is-too-easy"].tasks == ("0v1", "4v9")


def test_every_claim_lists_what_it_compares_with_exactly_its_contenders():
    # the plugin holds each run to these (evidence.plugin.ClaimRun._as_registered); here the
    # entry is held to itself: every contender it lists is in some comparison, and no other
    for spec in registry.CLAIMS.values():
        assert spec.compares, spec.id
        for name in spec.contenders:
            assert any(name in text for text in spec.compares), (spec.id, name)
        rest = " ".join(spec.compares)
        for name in sorted(spec.contenders, key=len, reverse=True):
            rest = rest.replace(name, " ")
        other = [w for w in re.findall(r"[a-z][a-z0-9_]+", rest) if "_" in w]
        assert not other, (spec.id, other)  # a contender named in a comparison, not listed


def test_holm_uses_the_registry_family_of_the_scale():
    family = registry.probe_family("small")
    ps = {family[0]: 0.001, family[1]: 0.03, family[2]: 0.04}
    records = [{"id": pid, "probe": True, "scale": "small", "family_scale": "small",
                "verdict": "SUPPORTED", "p_supported": p, "p_refuted": 1.0, "p_value": p,
                "explanation": ""} for pid, p in ps.items()]
    records.append({"id": "leek/leekasso-beats-naive-dnn", "probe": False, "scale": "small",
                    "verdict": "SUPPORTED", "p_value": 0.04})
    _holm_probes(records)
    assert [r["verdict"] for r in records[:3]] == ["SUPPORTED", "INCONCLUSIVE", "INCONCLUSIVE"]
    assert records[0]["p_value"] == pytest.approx(0.001 * len(family))
    assert records[0]["holm_family"] == len(family)  # not 3: the family is fixed
    assert records[3]["p_value"] == 0.04 and "holm_family" not in records[3]
    _holm_probes(records)  # idempotent
    assert records[0]["p_value"] == pytest.approx(0.001 * len(family))


def test_a_selection_gives_the_same_adjusted_p_as_the_whole_run_with_earlier_records():
    """-k re-runs some probes; the report keeps the others' records (merged), so the family
    adjustment sees the same raw p-values and gives the same adjusted ones."""
    family = registry.probe_family("small")
    raw = {pid: 0.002 * (i + 1) for i, pid in enumerate(family)}

    def recs(ids):
        return [{"id": pid, "probe": True, "scale": "small", "family_scale": "small",
                 "verdict": "SUPPORTED", "p_supported": raw[pid], "p_refuted": 1.0,
                 "p_value": raw[pid], "explanation": ""} for pid in ids]
    whole = recs(family)
    _holm_probes(whole)
    merged = recs(family[:2]) + [dict(r) for r in whole[2:]]  # earlier records, re-adjusted
    _holm_probes(merged)
    assert [r["p_value"] for r in merged] == [r["p_value"] for r in whole]
    alone = recs(family[:2])  # nothing earlier: the others count with p = 1 (conservative)
    _holm_probes(alone)
    assert all(a["p_value"] >= w["p_value"] for a, w in zip(alone, whole))


def test_a_custom_design_is_a_family_of_its_own():
    """Records of a custom design (--sizes/--draws) and of the small scale can sit in one report
    folder under the same probe id: each is adjusted within its own design."""
    family = registry.probe_family("small")
    small = {"id": family[0], "probe": True, "scale": "small", "family_scale": "small",
             "verdict": "SUPPORTED", "p_supported": 0.001, "p_refuted": 1.0, "p_value": 0.001,
             "explanation": ""}
    custom = dict(small, scale="custom", p_supported=0.002, p_value=0.002)
    records = [small, custom]
    _holm_probes(records)
    assert small["p_value"] == pytest.approx(0.001 * len(family))
    assert custom["p_value"] == pytest.approx(0.002 * len(family))


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


def _registered(spec, variant=None):
    run = ClaimRun.__new__(ClaimRun)  # only what the registry check reads
    run.spec, run.variant = spec, variant
    return run


def test_a_run_is_held_to_its_registry_entry_comparisons_and_contenders():
    rows = [{"n": n, "draw": d, "contender": c, "test_acc": 0.9 + 0.01 * (c == "a") + 0.001 * d}
            for n in (10, 20) for d in range(4) for c in ("a", "b", "c")]
    runs = pd.DataFrame(rows)
    a_b = stats.paired(runs, better="a", baseline="b", seed=1).beats()
    a_c = stats.paired(runs, better="a", baseline="c", seed=1).beats()
    spec = registry.ClaimSpec("you/a-beats-b", "A beats B.", "you", "rule", "0v1", ("a", "b"),
                              compares=("a beats b",))
    ClaimRun._as_registered(_registered(spec), a_b)  # as registered: passes
    with pytest.raises(pytest.fail.Exception, match=r"lists compares=\('a beats b',\), but the "
                       r"test compared \('a beats c',\)"):
        ClaimRun._as_registered(_registered(spec), a_c)
    # comparisons as listed, contenders not: an entry that contradicts itself
    wrong = replace(spec, contenders=("a", "b", "c"))
    with pytest.raises(pytest.fail.Exception, match=r"lists contenders=\('a', 'b', 'c'\), but "
                       r"the test compared \('a', 'b'\)"):
        ClaimRun._as_registered(_registered(wrong), a_b)
    # a variant swaps a contender by design: not held to the entry
    ClaimRun._as_registered(_registered(spec, variant="other"), a_c)
