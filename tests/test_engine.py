"""Batched training equals separate training for the same seeds.

Replicate r of a stack must follow the trajectory it would follow alone: same draw, same
initialisation (its own generator), same row order, element-wise optimiser. Checked after a
few steps (parameters within 1e-5) and after full training (≥ 99% identical test labels), in
eager mode and with the compiled step.
"""
import numpy as np
import pytest
import torch

from evidence.engine import (NetStack, init_stack, resolve_device,
                             DeviceError, train_online_stack)
from models.leeknet import NaiveDNN, h2o_training_error, standardise
from tests.helpers import draw_sets


def _stack_for(sets, seeds):
    Xs = [X for X, _ in sets]
    means, inv, masks = standardise(Xs)
    Z = np.stack([(X - m) * s for X, m, s in zip(Xs, means, inv)]).astype(np.float32)
    gens = [torch.Generator().manual_seed(s % 2**63) for s in seeds]
    stack = init_stack(gens, [int(k.sum()) for k in masks], n_inputs=784, hidden=(160,) * 5)
    y = torch.from_numpy(np.stack([y for _, y in sets]).astype(np.int64))
    return stack, torch.from_numpy(Z), y


def _train_steps(stack: NetStack, Z, y, steps, use_compile):
    # 5 online steps = the first 5 rows of one epoch
    return train_online_stack(stack, Z[:, :steps], y[:, :steps], rho=0.99, eps=1e-8,
                              epochs_per_iteration=1, max_epochs=1, train_error=None,
                              chunk=4, use_compile=use_compile)


@pytest.mark.parametrize("use_compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_stack_equals_separate_after_five_steps(td, use_compile):
    sets, seeds = draw_sets(td, 40, 4, "NaiveDNN")
    together, Z, y = _stack_for(sets, seeds)
    _train_steps(together, Z, y, 5, use_compile)
    for r in range(4):
        alone, Zr, yr = _stack_for([sets[r]], [seeds[r]])
        _train_steps(alone, Zr, yr, 5, False)
        for a, b in zip(together.W + together.b, alone.W + alone.b):
            assert torch.allclose(a[r], b[0], atol=1e-5, rtol=0), f"replicate {r} drifted"
    # and training did move the weights (the comparison is not between two untouched nets)
    fresh, _, _ = _stack_for(sets, seeds)
    assert not torch.allclose(fresh.W[-1], together.W[-1])


def test_replicates_are_independent(td):
    """Changing one replicate's data changes no other replicate."""
    sets, seeds = draw_sets(td, 20, 3, "NaiveDNN")
    a, Z, y = _stack_for(sets, seeds)
    b, Z2, y2 = _stack_for(sets, seeds)
    Z2[1] = torch.flip(Z2[1], dims=[0])
    y2[1] = torch.flip(y2[1], dims=[0])
    _train_steps(a, Z, y, 10, False)
    _train_steps(b, Z2, y2, 10, False)
    assert torch.equal(a.W[0][0], b.W[0][0]) and torch.equal(a.W[0][2], b.W[0][2])
    assert not torch.equal(a.W[0][1], b.W[0][1])


def test_batched_fit_matches_separate_fits_after_full_training(td):
    sets, seeds = draw_sets(td, 40, 6, "NaiveDNN")
    net = NaiveDNN(compile=False)
    batched = net.fit_many(sets, td.test_X, seeds)
    same = total = 0
    for (X, y), seed, out in zip(sets, seeds, batched):
        alone = NaiveDNN(random_state=seed, compile=False).fit(X, y)
        p_alone = alone.decision_scores(td.test_X)
        lab_alone = alone.label(alone.train_scores_, alone.y_train_, p_alone)
        lab_batched = net.label(out.train_scores, y, out.test_scores)
        same += int((lab_alone == lab_batched).sum())
        total += len(lab_alone)
        assert out.info["epochs"] == alone.epochs_
    assert same / total >= 0.99, f"only {same / total:.4f} of test labels agree"


def test_stopped_replicates_are_frozen_and_best_iterate_kept(td):
    """A replicate whose training error reaches 0 stops: more epochs for the others do not move
    it; the reported error is that of the kept iterate."""
    sets, seeds = draw_sets(td, 20, 3, "NaiveDNN")
    stack, Z, y = _stack_for(sets, seeds)
    info = train_online_stack(stack, Z, y, rho=0.99, eps=1e-8, epochs_per_iteration=2,
                              max_epochs=20, train_error=h2o_training_error, chunk=4)
    assert set(info["epochs"]) <= set(range(2, 21, 2))
    for r in range(3):
        if info["train_error"][r] == 0:
            alone, Zr, yr = _stack_for([sets[r]], [seeds[r]])
            inf = train_online_stack(alone, Zr, yr, rho=0.99, eps=1e-8, epochs_per_iteration=2,
                                     max_epochs=20, train_error=h2o_training_error, chunk=4)
            assert inf["epochs"][0] == info["epochs"][r]
            assert torch.allclose(alone.W[0][0], stack.W[0][r], atol=1e-5)


def test_cuda_without_gpu_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.gpu
def test_cuda_stack_matches_cpu(td):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    sets, seeds = draw_sets(td, 40, 4, "NaiveDNN")
    cpu = NaiveDNN(compile=False).fit_many(sets, td.test_X, seeds, device="cpu")
    gpu = NaiveDNN(compile=False).fit_many(sets, td.test_X, seeds, device="cuda")
    agree = np.mean([np.mean((a.test_scores > 0.5) == (b.test_scores > 0.5)) for a, b in zip(cpu, gpu)])
    assert agree >= 0.99
