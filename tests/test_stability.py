"""The stability study (evidence/stability.py): its plan, its summary on synthetic runs, the
main report's link to it, and one real (tiny) study."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evidence import report as rp
from evidence import stability as stab

ROOT = Path(__file__).resolve().parents[1]


def test_the_plan_runs_the_default_pair_once_and_counts_it_in_both_series():
    runs = stab.plan(3, 2)
    assert [(s, p) for _, s, p in runs] == [(2017, 2017), (2018, 2017), (2019, 2017), (2017, 2018)]
    assert len({name for name, _, _ in runs}) == 4


def _write_run(out: Path, name: str, seed: int, split: int, verdicts: dict[str, str]) -> None:
    folder = out / "runs" / name
    folder.mkdir(parents=True)
    claims = [{"id": cid, "task": "0v1", "verdict": v, "effect": 0.02 if v == "SUPPORTED" else 0.0,
               "ci_low": -0.01, "ci_high": 0.04} for cid, v in verdicts.items()]
    (folder / "claims.json").write_text(json.dumps({
        "protocol_version": 2, "run": {"seed": seed, "split_seed": split, "scale": "small"},
        "claims": claims}))


def _study(out: Path, moving_seeds: int, moving_splits: int) -> None:
    """Ten seeds and ten splits; claim x/steady never moves, x/moving moves in the first
    ``moving_*`` seeds/splits other than the default pair."""
    for name, seed, split in stab.plan(10, 10):
        k = (seed - 2017) if split == 2017 else (split - 2017)
        moves = (split == 2017 and 0 < k <= moving_seeds) or (seed == 2017 and 0 < k <= moving_splits)
        _write_run(out, name, seed, split, {"x/steady": "SUPPORTED",
                                           "x/moving": "REFUTED" if moves else "SUPPORTED"})


@pytest.mark.parametrize("seeds, splits, fragile", [
    (1, 1, []),                   # 9 of 10 agree in each series: stable
    (2, 0, ["seeds"]),            # 8 of 10 seeds agree: fragile across seeds
    (0, 2, ["splits"]),
    (2, 3, ["seeds", "splits"]),
])
def test_a_claim_is_fragile_when_fewer_than_9_of_10_agree(tmp_path, seeds, splits, fragile):
    _study(tmp_path, seeds, splits)
    summary = stab.summarise(tmp_path)
    rows = {r["id"]: r for r in summary["claims"]}
    assert rows["x/steady"]["fragile"] == []
    assert rows["x/steady"]["seeds"]["counts"] == {"SUPPORTED": 10}
    assert rows["x/moving"]["fragile"] == fragile
    assert rows["x/moving"]["seeds"]["counts"] == {"SUPPORTED": 10 - seeds, "REFUTED": seeds} \
        if seeds else {"SUPPORTED": 10}
    assert len(rows["x/moving"]["splits"]["effects"]) == 10
    md = (tmp_path / "stability.md").read_text()
    row = next(x for x in md.splitlines() if x.startswith("| x/moving | 0v1 |"))
    assert row.endswith("| stable |") != bool(fragile)
    assert (tmp_path / "stability.png").read_bytes()[:4] == b"\x89PNG"


def test_the_main_report_links_to_the_study_beside_it(tmp_path):
    _study(tmp_path / "reports" / "stability", 2, 0)
    stab.summarise(tmp_path / "reports" / "stability")
    claim = {"id": "x/moving", "task": "0v1", "scale": "small", "verdict": "SUPPORTED",
             "statement": "s", "source": "s", "rule": "r", "contenders": ["a", "b"],
             "per_size": [], "references": [], "alpha": 0.05, "expected": "SUPPORTED",
             "effect": 0.02, "ci_low": 0.0, "ci_high": 0.04, "p_value": 0.01, "mde": 0.01,
             "runtime_s": 1.0, "pool_size": 100, "test_size": 100, "repro": "pytest"}
    run = {"seed": 2017, "split_seed": 2017, "scale": "small", "device": "cpu",
           "data_source": "bundled", "git_sha": "0123abc", "seconds": 1.0}
    out = rp.write_report(tmp_path / "reports", run=run, claims=[claim], runs=None)
    for page in ("index.html", "claims.md"):
        text = (out / page).read_text()
        assert "stability/stability.md" in text and "x/moving (0v1: seeds)" in text


def test_a_study_run_in_parts_is_summarised_as_one(tmp_path):
    """Parts (``--part``) of one run merge: the cheap claims at the run's top level, the slow
    ones in ``runs/<run>/<part>/``; a part that has not run yet only lowers that claim's count."""
    for name, seed, split in stab.plan(3, 1):
        _write_run(tmp_path, name, seed, split, {"x/cheap": "SUPPORTED"})
        if seed != 2019:
            _write_run(tmp_path, f"{name}/slow", seed, split, {"x/slow": "REFUTED"})
    rows = {r["id"]: r for r in stab.summarise(tmp_path)["claims"]}
    assert rows["x/cheap"]["seeds"]["counts"] == {"SUPPORTED": 3}
    assert rows["x/slow"]["seeds"]["counts"] == {"REFUTED": 2}
    assert "runs/<run>/<part>/" in (tmp_path / "stability.md").read_text()


def test_the_summary_lists_claims_by_id_each_before_its_probes(tmp_path):
    """Parts list their claims after the top level's; the summary orders them by claim."""
    _write_run(tmp_path, "seed-2017", 2017, 2017, {"x/b": "SUPPORTED", "x/a-z@p": "SUPPORTED"})
    _write_run(tmp_path, "seed-2017/slow", 2017, 2017, {"x/a-z": "REFUTED", "x/a@q": "REFUTED"})
    _write_run(tmp_path, "seed-2017/more", 2017, 2017, {"x/a": "REFUTED"})
    ids = [r["id"] for r in stab.summarise(tmp_path)["claims"]]
    assert ids == ["x/a", "x/a@q", "x/a-z", "x/a-z@p", "x/b"]


@pytest.mark.parametrize("clash", ["same claim", "other seed"])
def test_parts_that_clash_are_one_line(tmp_path, capsys, clash):
    _write_run(tmp_path, "seed-2017", 2017, 2017, {"x/a": "SUPPORTED"})
    _write_run(tmp_path, "seed-2017/slow", 2018 if clash == "other seed" else 2017, 2017,
               {"x/a" if clash == "same claim" else "x/b": "SUPPORTED"})
    assert stab.main(["summarise", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert ("disjoint -k" if clash == "same claim" else "different seeds") in err


def test_a_part_runs_into_its_own_folder_and_resumes(tmp_path, capsys):
    """``run(part=...)`` writes each run's report to ``runs/<run>/<part>/`` and keeps the top
    level's (a stand-in for pytest records what it was asked and writes a report)."""
    fake = tmp_path / "fake-python"
    fake.write_text("#!" + sys.executable + "\n"
                    "import json, pathlib, sys\n"
                    "a = sys.argv[1:]\n"
                    "out = pathlib.Path(a[a.index('--report-dir') + 1]); out.mkdir(parents=True)\n"
                    "run = {'seed': int(a[a.index('--seed') + 1]), "
                    "'split_seed': int(a[a.index('--split-seed') + 1]), 'scale': 'small'}\n"
                    "claims = [{'id': 'x/' + a[-1], 'task': '0v1', 'verdict': 'SUPPORTED', "
                    "'effect': 0.01, 'ci_low': 0.0, 'ci_high': 0.02}]\n"
                    "(out / 'claims.json').write_text(json.dumps("
                    "{'protocol_version': 2, 'run': run, 'claims': claims}))\n")
    fake.chmod(0o755)
    out = tmp_path / "study"
    assert stab.run(2, 1, out, ["-k", "cheap"], python=str(fake)) == 2
    assert stab.run(2, 1, out, ["-k", "slow"], python=str(fake), part="slow") == 2
    assert stab.run(2, 1, out, ["-k", "slow"], python=str(fake), part="slow") == 0
    assert "seed-2018/slow: report already there, kept" in capsys.readouterr().out
    assert sorted(p.relative_to(out / "runs").as_posix() for p in out.glob("runs/**/claims.json")) \
        == ["seed-2017/claims.json", "seed-2017/slow/claims.json", "seed-2018/claims.json",
            "seed-2018/slow/claims.json"]
    rows = {r["id"]: r for r in stab.summarise(out)["claims"]}
    assert rows["x/cheap"]["seeds"]["runs"] == rows["x/slow"]["seeds"]["runs"] == 2


def test_a_bad_part_name_is_one_line(tmp_path, capsys):
    assert stab.main(["run", "--seeds", "1", "--splits", "1", "--out", str(tmp_path),
                      "--part", "../x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --part") and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_no_runs_is_one_line(tmp_path, capsys):
    assert stab.main(["summarise", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_tiny_real_study_runs_resumes_and_summarises(tmp_path):
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "evidence.stability", "run", "--seeds", "2", "--splits", "1",
           "--out", str(out), "--", "claims/test_leek.py", "-k", "leekasso_beats",
           "--sizes", "10,20", "--draws", "3", "--results-cache", str(tmp_path / "cache")]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    summary = json.loads((out / "stability.json").read_text())
    assert summary["seeds"] == [2017, 2018] and summary["splits"] == [2017]
    ids = {r["id"] for r in summary["claims"]}
    assert "leek/leekasso-beats-naive-dnn" in ids and "leek/leekasso-beats-naive-dnn@4v9" in ids
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert again.returncode == 0 and again.stdout.count("report already there, kept") == 2
