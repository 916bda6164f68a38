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
    timing = ("runtime_s", "made_by", "fit_seconds")
    return ([{k: v for k, v in c.items() if k not in timing} for c in claims],
            pd.read_csv(report / "runs.csv").drop(columns=["fit_seconds"]))


def test_pytest_n_2_writes_the_serial_runs_report(tmp_path):
    pytest.importorskip("xdist")
    args = ["claims/test_leek.py", "-m", "small", "-k", "leekasso_beats or gap",
            "--sizes", "10,20", "--draws", "3"]
    serial = _pytest(*args, "--results-cache", str(tmp_path / "c1"),
                     "--report-dir", str(tmp_path / "r1"))
    assert serial.returncode == 0, serial.stdout[-3000:] + serial.stderr[-3000:]
    # its own empty cache: the workers fit everything again, and must get the same numbers
    workers = _pytest(*args, "-n", "2", "--results-cache", str(tmp_path / "c2"),
                      "--report-dir", str(tmp_path / "r2"))
    assert workers.returncode == 0, workers.stdout[-3000:] + workers.stderr[-3000:]
    (claims1, runs1), (claims2, runs2) = _numbers(tmp_path / "r1"), _numbers(tmp_path / "r2")
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
           for c in json.loads((tmp_path / "r2" / "claims.json").read_text())["claims"]}
    assert fit["leek/leekasso-beats-naive-dnn"] == fit["leek/gap-narrows-with-n"]
