"""The batched engine against the loop a user would write, on one fixed cell, side by side.

Cell: the Leek net (5 dense 160 tanh layers, softmax output, ADADELTA rho 0.99 eps 1e-8),
batch size 1, rows in draw order, n = 80, 20 draws of MNIST 0 vs 1, 20 epochs without early
stopping, inputs standardised with constant columns dropped (same preprocessing for both).

Baseline: an ``nn.Module``, ``torch.optim.Adadelta``, one draw at a time, eager mode, torch's
default threads. Engine: ``NaiveDNN(early_stop=False, compile=True).fit_many`` on all 20 draws
(the stacked, compiled step). Compilation happens in a warm-up and is printed separately, not
counted in the ratio. The ratio compares the two timings of this one run.
"""
import time

import numpy as np
import pytest
import torch

from evidence.data import digit_pair, load_source, task_data
from evidence.draws import contender_seed, draw_sample
from evidence.engine import compile_seconds
from models.leekasso import BeamLeekasso, Leekasso
from models.leeknet import NaiveDNN, standardise

TASK = digit_pair(0, 1)
N, DRAWS, EPOCHS = 80, 20, 20
CELL = f"leek-net n={N} x{DRAWS} draws x{EPOCHS} epochs batch 1 (cpu)"


def _cell(n=N, draws=DRAWS):
    td = task_data(load_source(), TASK)
    sets, seeds = [], []
    for d in range(draws):
        s = draw_sample(td.pool_y, n=n, draw=d, task=TASK, root_seed=2017)
        sets.append((td.pool_X[s.indices].astype(np.float64), td.pool_y[s.indices]))
        seeds.append(contender_seed(root_seed=2017, task=TASK, n=n, draw=d, contender="NaiveDNN"))
    return td, sets, seeds


def naive_loop(sets, seeds, epochs=EPOCHS):
    """What a user would write: one draw at a time, nn.Module + torch.optim, eager."""
    for (X, y), seed in zip(sets, seeds):
        means, inv, masks = standardise([X])
        keep = masks[0]
        Z = torch.tensor(((X - means[0]) * inv[0])[:, keep], dtype=torch.float32)
        t = torch.tensor(y)
        torch.manual_seed(seed % 2**63)
        layers, d = [], int(keep.sum())
        for _ in range(5):
            layers += [torch.nn.Linear(d, 160), torch.nn.Tanh()]
            d = 160
        net = torch.nn.Sequential(*layers, torch.nn.Linear(160, 2))
        opt = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.99, eps=1e-8)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            for i in range(len(Z)):
                opt.zero_grad()
                loss_fn(net(Z[i:i + 1]), t[i:i + 1]).backward()
                opt.step()


@pytest.mark.slow
def test_engine_against_naive_loop(benchmark, speedups, bench_notes):
    td, sets, seeds = _cell()
    engine = NaiveDNN(early_stop=False, max_epochs=EPOCHS, compile=True)
    t0 = time.perf_counter()
    NaiveDNN(early_stop=False, max_epochs=1, compile=True).fit_many(sets[:4], td.test_X[:10], seeds[:4])
    warm = time.perf_counter() - t0
    bench_notes.append(f"compile (warm-up, not in the ratio): {compile_seconds().get('h2o_adadelta_step', warm):.1f}s")

    t0 = time.perf_counter()
    naive_loop(sets, seeds)
    naive = time.perf_counter() - t0
    result = {}

    def run_engine():
        result["out"] = engine.fit_many(sets, td.test_X, seeds)

    benchmark.pedantic(run_engine, rounds=1, iterations=1)
    batched = benchmark.stats.stats.median
    bench_notes.append(f"{CELL}: naive loop {naive:.1f}s ({naive / DRAWS:.2f}s per draw), "
                       f"engine {batched:.1f}s ({batched / DRAWS:.2f}s per draw), same run")
    speedups[CELL] = naive / batched
    assert len(result["out"]) == DRAWS and all(o.info["epochs"] == EPOCHS for o in result["out"])


@pytest.mark.parametrize("contender", [Leekasso(), BeamLeekasso(), NaiveDNN(compile=False)],
                         ids=lambda c: c.name)
def test_fit_cost_per_contender(benchmark, contender):
    """One small-scale cell per contender (n = 40, 10 draws, faithful settings)."""
    td, sets, seeds = _cell(n=40, draws=10)
    outs = benchmark.pedantic(contender.fit_many, args=(sets, td.test_X, seeds), rounds=3, iterations=1)
    assert len(outs) == 10
