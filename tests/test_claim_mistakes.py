"""The mistakes a researcher makes while adding a claim each give one clear line, not a
traceback (issue: "a researcher adds a claim in ten minutes"). Each test writes a claim test
file into a temporary folder and runs it the way a user would, with the suite's plugin."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACEBACK = "Traceback (most recent call last)"
TINY = ["-m", "small", "--sizes", "10,20", "--draws", "3"]


def _run(tmp_path: Path, source: str, *extra: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_my_claim.py"
    test.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "evidence.plugin",
         "-c", str(ROOT / "pytest.ini"),
         "--rootdir", str(ROOT), str(test), "--results-cache", str(tmp_path / "cache"),
         "--report-dir", str(tmp_path / "report"), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_claim_id_missing_from_the_registry_is_one_usage_line(tmp_path):
    run = _run(tmp_path, """
        import pytest

        @pytest.mark.claim("leek/leekasso-20-beats-leekasso")
        def test_twenty_pixels(claim):
            pass
        """, *TINY)
    both = run.stdout + run.stderr
    assert run.returncode == 4 and "INTERNALERROR" not in both and TRACEBACK not in both, both
    (line,) = [x for x in both.splitlines() if x.startswith("ERROR:")]
    assert "test_my_claim.py::test_twenty_pixels" in line
    assert "claim('leek/leekasso-20-beats-leekasso') names no claim in claims/registry.py" in line
    assert "leek/leekasso-beats-naive-dnn" in line  # the known ids


def _leek_claim(tmp_path: Path, better: str) -> subprocess.CompletedProcess:
    """Leek's first claim written as a researcher would, comparing ``better`` with his net."""
    return _run(tmp_path, f"""
        import pytest
        from models.leekasso import Leekasso
        from models.leeknet import NaiveDNN

        @pytest.mark.claim("leek/leekasso-beats-naive-dnn")
        def test_leekasso_beats_naive_dnn(claim):
            runs = claim.curve([Leekasso(), NaiveDNN()])
            claim.check(claim.paired(runs, better={better!r}, baseline="naive_dnn").beats())
        """, *TINY, "-k", "0v1")


def test_a_misspelt_contender_in_paired_is_one_line(tmp_path):
    run = _leek_claim(tmp_path, better="leekaso")
    both = run.stdout + run.stderr
    assert run.returncode == 1 and TRACEBACK not in both, both
    lines = [x for x in both.splitlines() if "better='leekaso'" in x]
    assert lines and "leekasso" in lines[0] and "naive_dnn" in lines[0], both
    assert "refits nothing" in lines[0]


def test_a_record_says_how_to_reproduce_it_and_its_intervals_stay_in_0_1(tmp_path):
    run = _leek_claim(tmp_path, better="leekasso")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (record,) = json.loads((tmp_path / "report" / "claims.json").read_text())["claims"]
    assert f"--results-cache {tmp_path / 'cache'}" in record["repro"]
    assert f"--report-dir {tmp_path / 'report'}" in record["repro"]
    assert all(0.0 <= r["ci_low"] <= r["mean_acc"] <= r["ci_high"] <= 1.0
               for r in record["per_size"])
    # Leekasso is perfect in some draws of 0 vs 1 at n = 20: the t interval would pass 1
    assert any(r["ci_high"] == 1.0 for r in record["per_size"]), record["per_size"]


def test_one_contender_twice_in_curve_is_one_line_before_any_fit(tmp_path):
    run = _run(tmp_path, """
        import pytest
        from models.leekasso import Leekasso

        @pytest.mark.claim("leek/leekasso-beats-naive-dnn")
        def test_twenty_pixels(claim):
            claim.curve([Leekasso(), Leekasso()])
        """, *TINY, "-k", "0v1")
    both = run.stdout + run.stderr
    assert run.returncode == 1 and TRACEBACK not in both and "[fit]" not in both, both
    (line,) = [x for x in both.splitlines() if "more than once" in x and not x.startswith("FAILED")]
    assert "'leekasso'" in line and "Leekasso(n_pixels=20) is 'leekasso(n_pixels=20)'" in line


def test_a_test_that_compares_otherwise_than_its_registry_entry_is_one_line(tmp_path):
    # the entry says "leekasso beats naive_dnn"; this test applies the trend rule instead
    run = _run(tmp_path, """
        import pytest
        from models.leekasso import Leekasso
        from models.leeknet import NaiveDNN

        @pytest.mark.claim("leek/leekasso-beats-naive-dnn")
        def test_leekasso_beats_naive_dnn(claim):
            runs = claim.curve([Leekasso(), NaiveDNN()])
            claim.check(claim.paired(runs, better="leekasso", baseline="naive_dnn")
                        .trend(decreasing=True))
        """, *TINY, "-k", "0v1")
    both = run.stdout + run.stderr
    assert run.returncode == 1 and TRACEBACK not in both, both
    lines = [x for x in both.splitlines() if "claims/registry.py lists compares=" in x
             and not x.startswith("FAILED")]
    assert len(lines) == 1, both
    assert "('leekasso beats naive_dnn',)" in lines[0]
    assert "('the difference leekasso - naive_dnn decreases as n grows',)" in lines[0]
    # no verdict is reported for a test that is not the registered one
    (record,) = json.loads((tmp_path / "report" / "claims.json").read_text())["claims"]
    assert record["verdict"] == "ERROR" and "compares=" in record["explanation"]
