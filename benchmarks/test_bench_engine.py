"""The batched engine against the loop a user would write, on one fixed cell, side by side.

Cell: the Leek net (5 dense 160 tanh layers, softmax output, ADADELTA rho 0.99 eps 1e-8),
batch size 1, rows in draw order, n = 80, 20 draws of MNIST 0 vs 1, 20 epochs without early
stopping, inputs standardised with constant columns dropped (same preprocessing for both).

Baseline: an ``nn.Module``, ``torch.optim.Adadelta``, one draw at a time, eager mode, torch's
default threads. Engine: ``NaiveDNN(early_stop=False, compile=True).fit_many`` on all 20 draws
(the stacked, compiled step). Compilation happens in a warm-up and is printed separately, not
counted in the ratio. Each arm runs three rounds in the same run (the naive loop's first); the ratio is of the
two medians.
"""
import time

import numpy as np
import pytest
import torch

from evidence.data import digit_pair, load_source, task_data
from evidence.engine import compile_seconds
from models.leekasso import BeamLeekasso, Leekasso
from models.leeknet import NaiveDNN, standardise
from tests.helpers import draw_sets

TASK = digit_pair(0, 1)
N, DRAWS, EPOCHS = 80, 20, 20
CELL = f"leek-net n={N} x{DRAWS} draws x{EPOCHS} epochs batch 1 (cpu)"
#: rounds of each arm; the ratio is of the two medians (timings on shared machines are noisy)
ROUNDS = 3


def _cell(n=N, draws=DRAWS):
    td = task_data(load_source(), TASK)
    return (td, *draw_sets(td, n, draws, "NaiveDNN"))


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

    naive_times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        naive_loop(sets, seeds)
        naive_times.append(time.perf_counter() - t0)
    naive = float(np.median(naive_times))
    result = {}

    def run_engine():
        result["out"] = engine.fit_many(sets, td.test_X, seeds)

    benchmark.pedantic(run_engine, rounds=ROUNDS, iterations=1)
    batched = benchmark.stats.stats.median
    bench_notes.append(f"{CELL}: median of {ROUNDS} rounds each, same run: naive loop {naive:.1f}s "
                       f"({naive / DRAWS:.2f}s per draw), engine {batched:.1f}s "
                       f"({batched / DRAWS:.2f}s per draw)")
    speedups[CELL] = naive / batched
    assert len(result["out"]) == DRAWS and all(o.info["epochs"] == EPOCHS for o in result["out"])


@pytest.mark.parametrize("contender", [Leekasso(), BeamLeekasso(), NaiveDNN(compile=False)],
                         ids=lambda c: c.name)
def test_fit_cost_per_contender(benchmark, contender):
    """One small-scale cell per contender (n = 40, 10 draws, faithful settings)."""
    td, sets, seeds = _cell(n=40, draws=10)
    outs = benchmark.pedantic(contender.fit_many, args=(sets, td.test_X, seeds), rounds=3, iterations=1)
    assert len(outs) == 10


# --------------------------------------------------------------------------- Beam's CNN cell
CNN_N, CNN_DRAWS, CNN_EPOCHS = 80, 20, 200
CNN_CELL = f"beam-cnn n={CNN_N} x{CNN_DRAWS} draws x{CNN_EPOCHS} epochs batch 32 (cpu)"
#: multiply-adds of one forward pass of one 28×28 image through Beam's CNN
CNN_FORWARD_MACS = (26 * 26 * 32 * 9 + 24 * 24 * 32 * 32 * 9 + 10 * 10 * 64 * 32 * 9
                    + 8 * 8 * 64 * 64 * 9 + 1024 * 128 + 128 * 2)


def naive_cnn_loop(sets, seeds, epochs=CNN_EPOCHS, batch=32):
    """What a user would write: one draw at a time, nn.Sequential + torch.optim.Adam, eager,
    a fresh shuffle every epoch, Keras's architecture and settings."""
    nn = torch.nn
    for (X, y), seed in zip(sets, seeds):
        torch.manual_seed(seed % 2**63)
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(1024, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 2))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-8)
        Xt = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28)
        yt = torch.tensor(y)
        for _ in range(epochs):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), batch):
                idx = order[start:start + batch]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
                opt.step()


def _matmul_gflops() -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    return 10 * 2 * 2048 ** 3 / (time.perf_counter() - t0) / 1e9


@pytest.mark.slow
def test_cnn_engine_against_naive_loop(benchmark, speedups, bench_notes):
    from models.beam import BeamCNN

    td, sets, seeds = _cell(n=CNN_N, draws=CNN_DRAWS)
    t0 = time.perf_counter()
    naive_cnn_loop(sets, seeds)
    naive = time.perf_counter() - t0
    result = {}

    net = BeamCNN()
    group = net.fit_group_size("cpu") or CNN_DRAWS  # as the engine fits a cell on the CPU

    def run_engine():
        result["out"] = [o for c in range(0, CNN_DRAWS, group)
                         for o in net.fit_many(sets[c:c + group], td.test_X, seeds[c:c + group])]

    benchmark.pedantic(run_engine, rounds=1, iterations=1)
    batched = benchmark.stats.stats.median
    flop = 3 * 2 * CNN_FORWARD_MACS * CNN_N * CNN_EPOCHS * CNN_DRAWS  # forward + backward ≈ 3 passes
    mm = _matmul_gflops()
    bench_notes.append(f"{CNN_CELL}: naive loop {naive:.1f}s ({naive / CNN_DRAWS:.2f}s per draw), "
                       f"engine {batched:.1f}s ({batched / CNN_DRAWS:.2f}s per draw), same run")
    bench_notes.append(f"{CNN_CELL}: about {flop / 1e12:.1f} TFLOP; naive {flop / naive / 1e9:.0f} "
                       f"GFLOP/s, engine {flop / batched / 1e9:.0f} GFLOP/s, a 2048x2048 matrix "
                       f"product {mm:.0f} GFLOP/s")
    speedups[CNN_CELL] = naive / batched
    assert len(result["out"]) == CNN_DRAWS and all(o.info["epochs"] == CNN_EPOCHS for o in result["out"])


# ------------------------------------------------------------- Reddit's nets: kernel vs torch
REDDIT_N, REDDIT_DRAWS, REDDIT_EPOCHS = 80, 10, 2
REDDIT_CELL = (f"reddit modern recipe 4v9 n={REDDIT_N} (5n rows) x{REDDIT_DRAWS} draws "
               f"x{REDDIT_EPOCHS} epochs batch 1 (cpu): C kernel against compiled torch step")


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["modern", "augment"])
def test_h2o_kernel_against_compiled_step(benchmark, speedups, bench_notes, setting):
    """Reddit's wide nets on the C kernel (``evidence/h2okernel.py``, default threads) against
    the compiled torch step they used before (``engine="torch"``: chunks of four, one thread),
    on the cell that dominates their claims' time: 4 vs 9, n = 80, no early stopping. The torch
    step compiles in a warm-up, not in the ratio; three rounds each, torch's first."""
    from evidence.data import parse_task
    from models.leeknet import REDDIT_CHANGES
    td = task_data(load_source(), parse_task("4v9"))
    sets, seeds = draw_sets(td, REDDIT_N, REDDIT_DRAWS, "NaiveDNN")
    kw = {**REDDIT_CHANGES[setting], "early_stop": False, "max_epochs": REDDIT_EPOCHS}
    for engine in ("torch", "c"):  # warm-up: compilation and the kernel's build
        NaiveDNN(**kw, engine=engine).fit_many(sets[:1], td.test_X[:10], seeds[:1])
    torch_times, outs = [], {}
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        outs["torch"] = NaiveDNN(**kw, engine="torch").fit_many(sets, td.test_X, seeds)
        torch_times.append(time.perf_counter() - t0)
    step = float(np.median(torch_times))

    def run_kernel():
        outs["c"] = NaiveDNN(**kw, engine="c").fit_many(sets, td.test_X, seeds)

    benchmark.pedantic(run_kernel, rounds=ROUNDS, iterations=1)
    kernel = benchmark.stats.stats.median
    cell = REDDIT_CELL.replace("modern recipe", setting)
    bench_notes.append(f"{cell}: median of {ROUNDS} rounds each, same run: torch {step:.2f}s, "
                       f"kernel {kernel:.2f}s")
    speedups[cell] = step / kernel
    for a, b in zip(outs["torch"], outs["c"]):  # the same nets, to rounding
        assert a.info["epochs"] == b.info["epochs"] == REDDIT_EPOCHS
        assert np.mean(np.abs(a.test_scores - b.test_scores) < 0.05) > 0.9
