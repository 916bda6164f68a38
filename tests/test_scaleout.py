"""Scale-out: claims over pytest-xdist workers give a serial run's report, and processes that
share a result cache fit each cell once (evidence/scaleout.py)."""
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evidence.curves import ResultCache
from evidence.data import load_source
from evidence.scaleout import LockedEngine
from evidence.tasks import get_task
from models.base import Contender

ROOT = Path(__file__).resolve().parents[1]


class SlowMean(Contender):
    """A contender that takes a while and writes down every draw it fits."""

    name = "slow_mean"

    def __init__(self, log: str = ""):
        self.log = log

    def _fit01(self, X, y):
        time.sleep(0.3)
        self.mean_ = float(y.mean())
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()} {len(y)} {self.mean_:.6f}\n")

    def _scores(self, X):
        return np.full(len(X), self.mean_)


def _curve(cache: str, log: str, start, out) -> None:
    engine = LockedEngine(load_source(), 2017, 2017, "cpu", ResultCache(cache))
    start.wait()
    runs = engine.curve(task=get_task("0v1"), contenders=[SlowMean(log=log)], sizes=(10, 20),
                        draws=3)
    out.put(runs.drop(columns=["fit_seconds"]).to_json())


def test_two_processes_on_one_cache_fit_each_cell_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(2), ctx.Queue()
    log = tmp_path / "fits.log"
    procs = [ctx.Process(target=_curve, args=(str(tmp_path / "cache"), str(log), start, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    fits = log.read_text().splitlines()
    assert len(fits) == 2 * 3  # 2 sizes x 3 draws, each fitted by one process only
    assert results[0] == results[1]  # the second process read the first one's fits
    locks = list((tmp_path / "cache" / "locks").glob("*.lock"))
    assert len(locks) == 2  # one per cell


def _pytest(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=900)


def _numbers(report: Path):
    claims = json.loads((report / "claims.json").read_text())["claims"]
    timing = ("runtime_s", "made_by", "fit_seconds", "repro")  # repro names each run's folders
    return ([{k: v for k, v in c.items() if k not in timing} for c in claims],
            pd.read_csv(report / "runs.csv").drop(columns=["fit_seconds"]))


@pytest.fixture(scope="module")
def serial_report(tmp_path_factory):
    """A serial run of two Leek claims (and their probes) on a small custom design."""
    root = tmp_path_factory.mktemp("serial")
    run = _pytest(*LEEK_ARGS, "--results-cache", str(root / "cache"), "--report-dir",
                  str(root / "report"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root / "report"


LEEK_ARGS = ("claims/test_leek.py", "-m", "small", "-k", "leekasso_beats or gap",
             "--sizes", "10,20", "--draws", "3")


def test_pytest_n_2_writes_the_serial_runs_report(tmp_path, serial_report):
    pytest.importorskip("xdist")
    # its own empty cache: the workers fit everything again, and must get the same numbers
    workers = _pytest(*LEEK_ARGS, "-n", "2", "--results-cache", str(tmp_path / "c"),
                      "--report-dir", str(tmp_path / "r"))
    assert workers.returncode == 0, workers.stdout[-3000:] + workers.stderr[-3000:]
    (claims1, runs1), (claims2, runs2) = _numbers(serial_report), _numbers(tmp_path / "r")
    assert [c["id"] for c in claims1] == [c["id"] for c in claims2]  # the serial order
    assert len(claims1) == 4 and claims1 == claims2
    pd.testing.assert_frame_equal(runs1, runs2)
    # written once, by the controller, which prints the verdict table
    assert "claim verdicts" in workers.stdout and "leek/gap-narrows-with-n@4v9" in workers.stdout
    # the probes were Holm-adjusted once, over the whole family
    probes = [c for c in claims2 if c.get("probe")]
    assert probes and all(c["p_value"] >= c["p_value_raw"] for c in probes)
    # two claims share Leek's net on 0 vs 1: one fit, read by both (equal fit seconds)
    fit = {c["id"]: c["fit_seconds"]["naive_dnn"]
           for c in json.loads((tmp_path / "r" / "claims.json").read_text())["claims"]}
    assert fit["leek/leekasso-beats-naive-dnn"] == fit["leek/gap-narrows-with-n"]


# --------------------------------------------------------------------------- Dask

def test_dask_local_2_writes_the_serial_runs_report(tmp_path, serial_report):
    run = _pytest(*LEEK_ARGS, "--dask", "local:2", "-v", "--results-cache", str(tmp_path / "c"),
                  "--report-dir", str(tmp_path / "r"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (claims1, runs1), (claims2, runs2) = _numbers(serial_report), _numbers(tmp_path / "r")
    assert len(claims1) == 4 and claims1 == claims2
    pd.testing.assert_frame_equal(runs1, runs2)
    # progress per cell as the cluster's results arrive; every cell fitted there, once
    cells = [x for x in run.stdout.splitlines() if "fitted on the cluster" in x]
    assert len(cells) == 2 * 2 * 2  # 2 tasks x 2 sizes x (leekasso, naive_dnn)
    assert not [x for x in run.stdout.splitlines() if "fitted in" in x]


def test_a_fine_tuned_contenders_cells_go_as_one_task_per_group_of_draws():
    """Its draws' pretrained nets are shared across sizes: each group of draws goes with all its
    sizes, so that each net is trained by one worker, and the groups spread over the workers."""
    from evidence.scaleout import task_batches

    cells = [(n, part) for n in (10, 20, 80) for part in ([0, 1], [2, 3], [4])]
    assert task_batches(cells, shares_nets=False) == [[c] for c in cells]
    batches = task_batches(cells, shares_nets=True)
    assert batches == [[(n, part) for n in (10, 20, 80)] for part in ([0, 1], [2, 3], [4])]
    # a draw cached at one size only: no cell is lost or sent twice
    uneven = [(10, [0, 1]), (20, [1]), (80, [0, 1])]
    sent = [c for b in task_batches(uneven, shares_nets=True) for c in b]
    assert sorted(sent) == sorted(uneven)


@pytest.mark.parametrize("spec, says", [
    ("tcp://127.0.0.1:1", "no Dask scheduler answered"),
    ("local:0", "give local:N with N ≥ 1"),
    ("nonsense", "not an address"),
])
def test_a_bad_dask_address_is_one_line(spec, says, tmp_path):
    run = _pytest(*LEEK_ARGS, "--dask", spec, "--no-results-cache", "--report-dir",
                  str(tmp_path / "r"))
    assert run.returncode == 4  # pytest's usage error
    errors = [x for x in (run.stdout + run.stderr).splitlines() if x.startswith("ERROR:")]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in run.stderr


def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path):
    import signal
    import threading

    from evidence.scaleout import DaskEngine, connect

    client = connect("local:2")
    try:
        log = tmp_path / "fits.log"
        engine = DaskEngine(load_source(), 2017, 2017, "cpu", ResultCache(tmp_path / "cache"),
                            client=client)
        result = {}
        thread = threading.Thread(target=lambda: result.update(runs=engine.curve(
            task=get_task("0v1"), contenders=[SlowMean(log=str(log))], sizes=(10, 20, 40),
            draws=4)))
        thread.start()
        deadline = time.time() + 60
        while not (log.exists() and log.read_text()) and time.time() < deadline:
            time.sleep(0.05)  # the cluster has started fitting
        pids = client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        thread.join(timeout=300)
        runs = result["runs"]
        assert sorted(zip(runs.n, runs.draw)) == [(n, d) for n in (10, 20, 40) for d in range(4)]
        cached = list((tmp_path / "cache").rglob("*.npz"))
        assert len(cached) == 12  # one entry per (n, draw), none lost, none twice
        # the same numbers as in this process, without a cluster
        here = _engine_here().curve(task=get_task("0v1"),
                                           contenders=[SlowMean(log=str(tmp_path / "x.log"))],
                                           sizes=(10, 20, 40), draws=4)
        cols = ["n", "draw", "test_acc", "train_acc"]
        pd.testing.assert_frame_equal(runs[cols].reset_index(drop=True),
                                      here[cols].reset_index(drop=True))
    finally:
        client.close()
        client.cluster.close()


class NetMean(SlowMean):
    """A stand-in for a fine-tuned contender: each draw has a "pretrained net" (a file in the
    result cache, its training logged), shared by that draw's fits at every size."""

    name = "net_mean"
    wants_context = True

    def fit_group_size(self, device):
        return 2

    def pretrained(self, source, task, root_seed, cache_dir, device, draws, by="task"):
        for d in draws:
            net = Path(cache_dir) / "nets" / f"{task.name}-{root_seed}-{d}"
            if not net.exists():
                net.parent.mkdir(parents=True, exist_ok=True)
                time.sleep(0.2)
                net.write_text(str(d))
                with open(self.log + ".nets", "a") as f:
                    f.write(f"{os.getpid()} {d} {by}\n")
        return list(draws)

    def fit_many(self, train_sets, X_test, seeds, device="cpu", context=None):
        self.pretrained(context.source, context.task, context.root_seed, context.cache_dir,
                        device, context.draws, by="fit")
        return super().fit_many(train_sets, X_test, seeds, device=device)


def test_under_dask_each_draws_net_is_pretrained_once_and_the_numbers_are_a_serial_runs(tmp_path):
    from evidence.scaleout import DaskEngine, connect

    client = connect("local:2")
    try:
        log = str(tmp_path / "fits.log")
        engine = DaskEngine(load_source(), 2017, 2017, "cpu", ResultCache(tmp_path / "cache"),
                            client=client)
        runs = engine.curve(task=get_task("0v1"), contenders=[NetMean(log=log)],
                            sizes=(10, 20), draws=4)
    finally:
        client.close()
        client.cluster.close()
    pretrained = sorted(x.split()[1:] for x in Path(log + ".nets").read_text().splitlines())
    # each draw's net once, by its own task, before the fits that use it (which find it there)
    assert pretrained == [[str(d), "task"] for d in range(4)]
    assert len(Path(log).read_text().splitlines()) == 2 * 4
    here = LockedEngine(load_source(), 2017, 2017, "cpu", ResultCache(tmp_path / "serial")).curve(
        task=get_task("0v1"), contenders=[NetMean(log=str(tmp_path / "x.log"))], sizes=(10, 20),
        draws=4)
    cols = ["n", "draw", "test_acc", "train_acc"]
    pd.testing.assert_frame_equal(runs[cols].reset_index(drop=True),
                                  here[cols].reset_index(drop=True))


def _engine_here():
    return LockedEngine(load_source(), 2017, 2017, "cpu", ResultCache(None))


def test_a_design_error_under_pytest_n_is_one_line_per_claim_not_an_internal_error(tmp_path):
    pytest.importorskip("xdist")
    run = _pytest("claims/test_leek.py", "-m", "small", "-k", "leekasso_beats", "--sizes",
                  "10,2000", "-n", "2", "--no-results-cache", "--report-dir", str(tmp_path / "r"))
    both = run.stdout + run.stderr
    assert run.returncode == 1 and "INTERNALERROR" not in both and "Traceback" not in both, both
    # one message per claim in the ERRORS section; the short summary may repeat it or cut it,
    # depending on the terminal's width (CI's is wider), so count only whole message lines
    said = [line for line in both.splitlines()
            if line.startswith("size 2000 is larger than the training pool of 500 examples")]
    assert len(said) == 2, both


def test_the_timing_script_times_the_three_modes_and_compares_their_numbers(tmp_path):
    pytest.importorskip("xdist")
    run = subprocess.run(
        ["scripts/time-scaleout"], cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PY": sys.executable, "OUT": str(tmp_path / "t"), "ROUNDS": "1",
             "PATHS": "claims/test_leek.py",
             "ARGS": "-k 'leekasso_beats and 0v1' --sizes 10,20 --draws 3"})
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [x for x in run.stdout.splitlines() if "median" in x]
    assert [x.split(":")[0] for x in lines] == ["serial", "xdist", "dask"], run.stdout
    assert all("numbers the same as the first serial run's" in x for x in lines), run.stdout
    assert "1.00 times as fast as serial" in lines[0]
    bad = subprocess.run(["scripts/time-scaleout"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PY": sys.executable, "ROUNDS": "x"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
