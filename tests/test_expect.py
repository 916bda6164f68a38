"""Recording a run's verdicts (evidence/expect.py): the printed statements are valid Python that
give the registry the run's verdicts under the right keys, with the run's facts and numbers;
recorded verdicts are left out, a moved one is flagged; bad input is one line."""
from __future__ import annotations

import json

import pytest

from claims import registry
from claims.registry import Expected
from evidence import expect
from evidence.data import BUNDLED_NAME
from evidence import report as rp

from .test_report import _claim, _run, _runs


@pytest.fixture(autouse=True)
def recorded(monkeypatch):
    """The registry's expectations, as these tests set them."""
    book = {("robinson/centre-edge-rule-suffices", "0v1", "small", "bundled"):
            Expected("REFUTED", "a run"),
            ("leek/label-rule-artefact", "0v1", "small", "bundled"): Expected("SUPPORTED", "a run")}
    monkeypatch.setattr(registry, "EXPECTED", book)
    return book


def _report(tmp_path):
    claims = [
        _claim(expected="NONE", outcome="passed"),  # no record yet: printed
        _claim(cid="robinson/centre-edge-rule-suffices", verdict="REFUTED", expected="REFUTED",
               outcome="xfailed", contenders=("centre_edge_rule", "leekasso"),
               effect=-0.064, ci_low=-0.069, ci_high=-0.060, p_value=3e-4),  # recorded
        _claim(cid="leek/label-rule-artefact", verdict="INCONCLUSIVE", expected="SUPPORTED",
               outcome="failed", contenders=("naive_dnn_argmax", "naive_dnn"),
               draws_to_decide=84),  # moved
        _claim(cid="leek/label-rule-artefact@4v9", task="4v9", expected="NONE",
               contenders=("naive_dnn_argmax", "naive_dnn")),  # a probe
        _claim(cid="beam/sgd-settings-matter", verdict="ERROR", expected="NONE",
               outcome="failed", contenders=("beam_leek_net_no_decay", "beam_leek_net")),
        _claim(cid="autokad/nn-matches-histogram-svm", task="words:noun-v-verb",
               expected="NONE", contenders=("tuned_mlp", "histogram_svm"),
               parts=[{"statement": "tuned_mlp matches histogram_svm within ±2.0 points",
                       "verdict": "SUPPORTED", "effect": -0.008, "ci_low": -0.01,
                       "ci_high": -0.005, "p_value": 5e-5},
                      {"statement": "tuned_mlp beats rbf_svm", "verdict": "REFUTED",
                       "effect": -0.007, "ci_low": -0.009, "ci_high": -0.005,
                       "p_value": 2e-3}]),
    ]
    return rp.write_report(tmp_path / "report", run={**_run(), "data_source": BUNDLED_NAME},
                           claims=claims, protocol_version=2, runs=_runs())


def _recorded(text: str) -> dict:
    space = {"EXPECTED": {}, "Expected": Expected}
    exec(compile(text, "<printed>", "exec"), space)
    return space["EXPECTED"]


def test_the_printed_statements_record_the_runs_verdicts_with_their_evidence(tmp_path, capsys):
    assert expect.main([str(_report(tmp_path))]) == 0
    text = capsys.readouterr().out
    assert max(map(len, text.splitlines())) <= 100
    got = _recorded(text)
    assert set(got) == {
        ("leek/leekasso-beats-naive-dnn", "0v1", "small", "bundled"),
        ("leek/label-rule-artefact", "0v1", "small", "bundled"),
        ("autokad/nn-matches-histogram-svm", "words:noun-v-verb", "small", "words"),
    }
    first = got[("leek/leekasso-beats-naive-dnn", "0v1", "small", "bundled")]
    assert first.verdict == "SUPPORTED"
    assert first.evidence.startswith("protocol v2, scale small, seed 2017, split seed 12345, "
                                     "bundled data, CPU, 2024-05-31: +9.1 [+6.0, +12.2] points")
    moved = got[("leek/label-rule-artefact", "0v1", "small", "bundled")]
    assert moved.verdict == "INCONCLUSIVE" and "about 84 draws per size" in moved.evidence
    assert "this run says INCONCLUSIVE, the registry SUPPORTED" in text
    words = got[("autokad/nn-matches-histogram-svm", "words:noun-v-verb", "small", "words")]
    assert "word tasks" in words.evidence
    assert "tuned_mlp beats rbf_svm: REFUTED, -0.7 [-0.9, -0.5] points, p of the REFUTED " \
           "side = 0.002" in words.evidence


def test_all_prints_recorded_verdicts_too(tmp_path, capsys):
    assert expect.main([str(_report(tmp_path)), "--all"]) == 0
    got = _recorded(capsys.readouterr().out)
    refuted = got[("robinson/centre-edge-rule-suffices", "0v1", "small", "bundled")]
    assert refuted.verdict == "REFUTED"
    assert refuted.evidence.endswith("-6.4 [-6.9, -6.0] points, p of the REFUTED side = 3.0e-04")
    assert len(got) == 4  # never a probe, never an ERROR


def test_what_is_recorded_is_read_from_the_registry_as_it_is_now(tmp_path, capsys, recorded):
    out = _report(tmp_path)
    assert expect.main([str(out)]) == 0
    printed = capsys.readouterr().out
    recorded.update(_recorded(printed))  # pasted
    assert expect.main([str(out)]) == 0
    assert capsys.readouterr().out.startswith("# every claim in")


def test_a_run_on_a_users_own_digits_is_recorded_under_idx(tmp_path, capsys):
    out = rp.write_report(tmp_path / "r", run={**_run(), "data_source": "idx:/data/mnist"},
                          claims=[_claim(expected="NONE")], runs=_runs(), protocol_version=2)
    assert expect.main([str(out)]) == 0
    ((key, entry),) = _recorded(capsys.readouterr().out).items()
    assert key == ("leek/leekasso-beats-naive-dnn", "0v1", "small", "idx")
    assert "digits from idx:/data/mnist" in entry.evidence


def test_a_fully_recorded_report_says_so(tmp_path, capsys, recorded):
    recorded[("leek/leekasso-beats-naive-dnn", "0v1", "small", "bundled")] = \
        Expected("SUPPORTED", "a run")
    out = rp.write_report(tmp_path / "r", run={**_run(), "data_source": BUNDLED_NAME},
                          claims=[_claim()], runs=_runs())
    assert expect.main([str(out)]) == 0
    assert capsys.readouterr().out.startswith("# every claim in")


@pytest.mark.parametrize("content, says", [
    (None, "no claims.json"),
    ("{not json", "is not a claims report"),
    (json.dumps({"claims": "no"}), "is not a claims report"),
])
def test_a_folder_that_is_not_a_report_is_one_line(tmp_path, capsys, content, says):
    if content is not None:
        (tmp_path / "claims.json").write_text(content)
    assert expect.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
