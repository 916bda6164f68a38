"""The C kernel (evidence/h2okernel.py) against the torch step it reproduces, its independence
of thread count and of the other replicates, the engine NaiveDNN picks, and its errors."""
import numpy as np
import pytest
import torch

from evidence import h2okernel
from evidence.engine import h2o_adadelta_step, init_stack, train_online_stack
from models.leeknet import REDDIT_CHANGES, NaiveDNN, h2o_training_error
from tests.helpers import draw_sets

needs_kernel = pytest.mark.skipif(not h2okernel.available(), reason="no C compiler here")


def _net(relu: bool, dropout: bool, *, hidden=(16, 8), d=20, n=6, R=3, steps=12, seed=0):
    """A small random stack, its rows and labels, and (with dropout) masks for every step."""
    g = torch.Generator().manual_seed(seed)
    gens = [torch.Generator().manual_seed(seed * 100 + r) for r in range(R)]
    stack = init_stack(gens, [d - 3] * R, n_inputs=d, hidden=hidden,
                       activation="relu" if relu else "tanh")
    Z = torch.randn(R, n, d, generator=g)
    Z[:, :, :3] = 0  # dropped columns: their inputs are exactly 0
    y = torch.randint(0, 2, (R, n), generator=g)
    in_keep = keep = None
    if dropout:
        in_keep = (torch.rand(R, steps, d, generator=g) > 0.2).float()
        keep = [(torch.rand(R, steps, h, generator=g) > 0.5).float() for h in hidden]
    return stack, Z, y, in_keep, keep


def _torch_steps(stack, Z, y, in_keep, keep, steps, relu, fast):
    L = len(stack.W)
    R, n, _ = Z.shape
    T = torch.nn.functional.one_hot(y, 2).float()
    s = [t.clone() for t in stack.tensors()]
    for j in range(steps):
        i = j % n
        x = Z[:, i] if in_keep is None else Z[:, i] * in_keep[:, j]
        out = h2o_adadelta_step(s[:L], s[L:2 * L], s[2 * L:3 * L], s[3 * L:4 * L],
                                s[4 * L:5 * L], s[5 * L:], stack.fan_in0, x, T[:, i],
                                torch.ones(R, 1), [] if keep is None else [k[:, j] for k in keep],
                                0.99, 1e-8, relu, fast)
        s = [t for group in out for t in group]
    return s


def _kernel_steps(stack, Z, y, in_keep, keep, steps, relu, fast, idx=None, threads=1):
    L = len(stack.W)
    idx = torch.arange(Z.shape[0]) if idx is None else idx
    s = [t.clone().contiguous() for t in stack.tensors()]
    h2okernel.train_iteration(s, L, stack.fan_in0, Z.contiguous(), y, idx, steps,
                              in_keep=None if in_keep is None else in_keep[idx],
                              keep=None if keep is None else [k[idx] for k in keep],
                              rho=0.99, eps=1e-8, relu=relu, fast=fast, threads=threads)
    return s


@needs_kernel
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_kernel_follows_the_torch_step_to_rounding(relu, fast, dropout):
    """Twelve steps of every setting: weights, biases and the four ADADELTA averages agree with
    the torch step's within float rounding."""
    stack, Z, y, in_keep, keep = _net(relu, dropout)
    ref = _torch_steps(stack, Z, y, in_keep, keep, 12, relu, fast)
    got = _kernel_steps(stack, Z, y, in_keep, keep, 12, relu, fast)
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
    assert not torch.equal(got[0], stack.W[0])  # it trained


@needs_kernel
def test_fast_mode_skips_what_h2o_skips_in_the_kernel():
    """A column that is always 0: with fast_mode its first-layer averages stay exactly as they
    were; without it they decay (here from 0.5), as in the torch step."""
    stack, Z, y, _, _ = _net(False, False)
    for t in (stack.eg2[0], stack.edx2[0]):
        t.fill_(0.5)
    fast = _kernel_steps(stack, Z, y, None, None, 12, False, True)
    slow = _kernel_steps(stack, Z, y, None, None, 12, False, False)
    L = len(stack.W)
    assert torch.all(fast[2 * L][:, :3] == 0.5) and torch.all(fast[3 * L][:, :3] == 0.5)
    assert torch.all(slow[2 * L][:, :3] < 0.5)
    torch.testing.assert_close(fast[0][:, :3], stack.W[0][:, :3], rtol=0, atol=0)


@needs_kernel
@pytest.mark.parametrize("relu, dropout", [(False, False), (True, True)])
def test_a_replicate_trains_alone_as_in_a_stack_on_any_thread_count(relu, dropout):
    """Bit for bit: the whole stack on one thread, on two, and each replicate alone (the
    others untouched) give the same numbers."""
    stack, Z, y, in_keep, keep = _net(relu, dropout, R=4, steps=18)
    one = _kernel_steps(stack, Z, y, in_keep, keep, 18, relu, True, threads=1)
    two = _kernel_steps(stack, Z, y, in_keep, keep, 18, relu, True, threads=2)
    for a, b in zip(one, two):
        assert torch.equal(a, b)
    for r in range(4):
        alone = _kernel_steps(stack, Z, y, in_keep, keep, 18, relu, True,
                              idx=torch.tensor([r]))
        for a, b, orig in zip(one, alone, stack.tensors()):
            assert torch.equal(a[r], b[r])
            others = [q for q in range(4) if q != r]
            assert torch.equal(b[others], orig[others])  # only replicate r moved


@needs_kernel
def test_train_online_stack_with_the_kernel_matches_torch_and_stops_alike():
    """The whole training loop (iterations, h2o's stopping test, the best iterate) on the
    kernel follows the torch engine's: the same epochs and the same scores to rounding."""
    stack, Z, y, _, _ = _net(True, False, hidden=(32, 32), n=10, R=4)
    outs = {}
    for engine in ("torch", "c"):
        s = stack.clone()
        info = train_online_stack(s, Z, y, rho=0.99, eps=1e-8, epochs_per_iteration=2,
                                  max_epochs=10, train_error=h2o_training_error, chunk=2,
                                  fast=True, engine=engine)
        outs[engine] = (info["epochs"], s.W[-1])
    np.testing.assert_array_equal(outs["torch"][0], outs["c"][0])
    torch.testing.assert_close(outs["c"][1], outs["torch"][1], rtol=1e-3, atol=1e-5)


@needs_kernel
def test_naive_dnn_picks_the_kernel_for_reddits_wide_nets_only():
    """Leek's own net and the 32-unit net keep the torch engine (and their recorded fits);
    the four wide Reddit variants train on the kernel on the CPU; a forced engine is honoured
    and keys its own fits."""
    cpu = torch.device("cpu")
    assert NaiveDNN()._engine(cpu) == "torch"
    assert NaiveDNN(**REDDIT_CHANGES["small"])._engine(cpu) == "torch"
    for name in ("augment", "dropout", "relu", "modern"):
        assert NaiveDNN(**REDDIT_CHANGES[name])._engine(cpu) == "c", name
        assert NaiveDNN(**REDDIT_CHANGES[name])._engine(torch.device("cuda")) == "torch"
        assert NaiveDNN(**REDDIT_CHANGES[name], engine="torch")._engine(cpu) == "torch"
    assert NaiveDNN(engine="c")._engine(cpu) == "c"
    assert NaiveDNN(engine="c").fit_spec() != NaiveDNN().fit_spec()
    with pytest.raises(ValueError, match="engine='gpu'"):
        NaiveDNN(engine="gpu")._engine(cpu)


@needs_kernel
def test_kernel_and_torch_engines_label_a_cell_alike(td):
    """On real draws (the modern recipe, 0 vs 1, n = 10) the two engines give test scores
    within rounding of each other after one iteration."""
    sets, seeds = draw_sets(td, 10, 2, "NaiveDNN")
    kw = {**REDDIT_CHANGES["modern"], "max_epochs": 2, "compile": False}
    c = NaiveDNN(**kw, engine="c").fit_many(sets, td.test_X[:300], seeds)
    t = NaiveDNN(**kw, engine="torch").fit_many(sets, td.test_X[:300], seeds)
    for a, b in zip(c, t):
        np.testing.assert_allclose(a.test_scores, b.test_scores, atol=1e-3, rtol=0)
        assert a.info["epochs"] == b.info["epochs"]


def test_no_compiler_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(h2okernel, "_LIB", [])
    monkeypatch.setattr(h2okernel, "_compiler", lambda: None)
    with pytest.raises(h2okernel.KernelUnavailable, match="needs a C compiler"):
        h2okernel.library()
    assert not h2okernel.available()


def test_without_a_compiler_auto_takes_the_torch_step(monkeypatch):
    """No C compiler: Reddit's nets warn once per fit and train with the torch step (as a
    failed torch.compile falls back to eager mode); a forced engine="c" is an error."""
    monkeypatch.setattr(h2okernel, "_LIB", [])
    monkeypatch.setattr(h2okernel, "_compiler", lambda: None)
    net = NaiveDNN(**REDDIT_CHANGES["relu"])
    with pytest.warns(UserWarning, match="needs a C compiler.*torch step instead"):
        assert net._engine(torch.device("cpu")) == "torch"
    with pytest.raises(h2okernel.KernelUnavailable):
        stack, Z, y, _, _ = _net(True, False)
        train_online_stack(stack, Z, y, rho=0.99, eps=1e-8, epochs_per_iteration=1,
                           max_epochs=1, engine="c")


@needs_kernel
def test_a_net_beyond_the_kernels_limits_is_refused():
    stack, Z, y, _, _ = _net(False, False, hidden=(2,) * h2okernel.MAX_LAYERS)
    with pytest.raises(ValueError, match="layers up to"):
        _kernel_steps(stack, Z, y, None, None, 1, False, False)


@needs_kernel
def test_engine_c_refuses_a_gpu_tensor_by_name():
    stack, Z, y, _, _ = _net(False, False)
    with pytest.raises(ValueError, match="engine='c' trains on the CPU"):
        train_online_stack(stack, Z.to("meta"), y, rho=0.99, eps=1e-8, epochs_per_iteration=1,
                           max_epochs=1, engine="c")


@needs_kernel
def test_arrays_of_the_wrong_shape_are_refused_before_the_c_loop_reads_them():
    """The C loop trusts its pointers: every shape is checked first (a ValueError, not a
    crash)."""
    stack, Z, y, in_keep, keep = _net(True, True)
    L = len(stack.W)
    s = [t.clone().contiguous() for t in stack.tensors()]
    common = dict(rho=0.99, eps=1e-8, relu=True, fast=True)
    idx = torch.arange(3)
    with pytest.raises(ValueError, match="in_keep has shape"):
        h2okernel.train_iteration(s, L, stack.fan_in0, Z, y, idx, 12, in_keep=in_keep[:, :6],
                                  keep=keep, **common)
    with pytest.raises(ValueError, match="keep\\[1\\] has shape"):
        h2okernel.train_iteration(s, L, stack.fan_in0, Z, y, idx, 12, in_keep=in_keep,
                                  keep=[keep[0], keep[0]], **common)
    with pytest.raises(ValueError, match="replicate indices"):
        h2okernel.train_iteration(s, L, stack.fan_in0, Z, y, torch.tensor([3]), 12, **common)
    with pytest.raises(ValueError, match=r"b\[0\] has shape"):
        bad = list(s)
        bad[L] = bad[L][:, :4].contiguous()
        h2okernel.train_iteration(bad, L, stack.fan_in0, Z, y, idx, 12, **common)
    with pytest.raises(ValueError, match="Z has 19 inputs"):
        h2okernel.train_iteration(s, L, stack.fan_in0, Z[:, :, :19].contiguous(), y, idx, 12,
                                  **common)
