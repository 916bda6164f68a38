"""Reddit's settings of Leek's h2o net (models/leeknet.py, evidence/engine.py): each as h2o
resolves it, and each with the engine's batched = separate proof.

h2o's behaviour checked here comes from its source (h2o-3 ``hex.deeplearning``): rectifier
biases start at 0.5 (first hidden layer) and 1 (others); a dropped hidden unit's pre-activation,
bias included, is 0 in training, and scoring multiplies each hidden layer's activations by
1 − its dropout ratio (inputs are not rescaled); backpropagation multiplies a unit's error by
the derivative taken from its output (so a dropped tanh unit still passes error back); its
default ``fast_mode`` leaves a weight whose input or unit error is 0 untouched, ADADELTA
averages included.
"""
import numpy as np
import pytest
import torch

from evidence.engine import (Dropout, forward_proba, h2o_adadelta_step, init_stack,
                             train_online_stack)
from models.leeknet import (REDDIT_CHANGES as SETTINGS, NaiveDNN, NaiveDNNArgmax,
                            h2o_max_f1_threshold, h2o_training_error, shifted_copies,
                            standardise)
from tests.helpers import draw_sets


# ------------------------------------------------------------------ batched = separate
@pytest.mark.parametrize("engine", ["c", "torch"])
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_batched_fit_equals_separate_fits(td, setting, engine):
    """Four draws fitted together give each draw the net it gets alone: the same epochs, the
    same h2o threshold and test scores within float tolerance (eager and compiled steps agree
    only to rounding, so both fits use the same compile setting), with either engine."""
    kw = {**SETTINGS[setting], "compile": False, "max_epochs": 4, "engine": engine}
    sets, seeds = draw_sets(td, 12, 4, "NaiveDNN")
    batched = NaiveDNN(**kw).fit_many(sets, td.test_X[:200], seeds)
    for (X, y), seed, out in zip(sets, seeds, batched):
        alone = NaiveDNN(**kw, random_state=seed).fit(X, y)
        assert alone.info_["epochs"] == out.info["epochs"]
        np.testing.assert_allclose(alone.decision_scores(td.test_X[:200]), out.test_scores,
                                   atol=2e-5, rtol=0)
        assert alone.info_["h2o_threshold"] == pytest.approx(out.info["h2o_threshold"], abs=2e-5)
    # and the setting changed the fit (the comparison is not of two Leek nets)
    leek = NaiveDNN(compile=False, max_epochs=4).fit_many(sets, td.test_X[:200], seeds)
    assert not np.allclose(leek[0].test_scores, batched[0].test_scores)


@pytest.mark.slow
def test_compiled_modern_step_matches_eager(td):
    """The compiled step (settings passed as tensors, one graph for every setting) follows the
    eager one to rounding on the rectifier + dropout + augmentation net."""
    kw = {**SETTINGS["modern"], "max_epochs": 2, "engine": "torch"}
    sets, seeds = draw_sets(td, 10, 4, "NaiveDNN")
    eager = NaiveDNN(**kw, compile=False).fit_many(sets, td.test_X[:200], seeds)
    comp = NaiveDNN(**kw, compile=True).fit_many(sets, td.test_X[:200], seeds)
    for a, b in zip(eager, comp):
        np.testing.assert_allclose(a.test_scores, b.test_scores, atol=1e-4, rtol=0)


# ------------------------------------------------------------------ h2o's settings
def test_rectifier_biases_start_at_half_then_one():
    gens = [torch.Generator().manual_seed(1)]
    relu = init_stack(gens, [10], n_inputs=10, hidden=(4, 4, 4), activation="relu")
    assert [float(b.unique()) for b in relu.b] == [0.5, 1.0, 1.0, 0.0]
    tanh = init_stack([torch.Generator().manual_seed(1)], [10], n_inputs=10, hidden=(4, 4, 4))
    assert all(float(b.abs().max()) == 0 for b in tanh.b)
    # the same generator gives the same weights whatever the activation
    assert all(torch.equal(a, b) for a, b in zip(relu.W, tanh.W))
    with pytest.raises(ValueError, match="activation"):
        init_stack(gens, [10], n_inputs=10, hidden=(4,), activation="sigmoid")


def _tiny(activation="tanh", seed=0, d=6, hidden=(5, 4)):
    g = torch.Generator().manual_seed(seed)
    stack = init_stack([g], [d], n_inputs=d, hidden=hidden, activation=activation)
    for b in stack.b[:-1]:
        b += torch.rand(b.shape, generator=g) * 0.2 - 0.1
    return stack


def test_scoring_scales_hidden_activations_not_inputs():
    stack = _tiny()
    stack.score_scale = (0.5, 0.25)
    X = torch.rand(1, 3, 6, generator=torch.Generator().manual_seed(2))
    h = X[0]
    for (W, b), s in zip(zip(stack.W[:-1], stack.b[:-1]), stack.score_scale):
        h = torch.tanh(h @ W[0] + b[0]) * s
    p = torch.softmax(h @ stack.W[-1][0] + stack.b[-1][0], dim=-1)[:, 1]
    torch.testing.assert_close(forward_proba(stack, X)[0], p)


def _step(stack, x, t, keep, relu=False, fast=False):
    return h2o_adadelta_step(stack.W, stack.b, stack.eg2, stack.edx2, stack.beg2, stack.bedx2,
                             stack.fan_in0, x, t, torch.ones(1, 1), keep, 0.99, 1e-8, relu, fast)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_dropped_unit_is_zero_and_backpropagates_as_h2o_does(activation):
    """Unit 0 of the first hidden layer dropped: its pre-activation (bias included) is 0, so
    the weights it feeds get no gradient. Its own incoming weights and bias: a tanh unit's
    derivative at output 0 is 1, so they still move (h2o); a rectifier's is 0, so they do not."""
    relu = activation == "relu"
    stack = _tiny(activation)
    x = torch.rand(1, 6, generator=torch.Generator().manual_seed(3)) + 0.1
    t = torch.tensor([[0.0, 1.0]])
    keep = [torch.ones(1, 5), torch.ones(1, 4)]
    keep[0][0, 0] = 0.0
    W, b, *_ = _step(stack, x, t, keep, relu=relu, fast=True)
    assert torch.equal(W[1][0, 0], stack.W[1][0, 0])  # the dropped unit fed nothing
    assert not torch.equal(W[1][0, 1], stack.W[1][0, 1])
    moved = not torch.equal(W[0][0, :, 0], stack.W[0][0, :, 0])
    assert moved == (not relu)
    assert (float(b[0][0, 0]) != float(stack.b[0][0, 0])) == (not relu)


def test_fast_mode_leaves_averages_of_skipped_weights_alone():
    """A zero input: with h2o's fast_mode its weights' ADADELTA averages keep their values;
    without it they decay by rho."""
    stack = _tiny()
    for t in (*stack.eg2, *stack.edx2):
        t.fill_(0.5)
    x = torch.rand(1, 6, generator=torch.Generator().manual_seed(4)) + 0.1
    x[0, 2] = 0.0
    t = torch.tensor([[1.0, 0.0]])
    keep = []
    _, _, e_fast, d_fast, *_ = _step(stack, x, t, keep, fast=True)
    _, _, e_slow, d_slow, *_ = _step(stack, x, t, keep, fast=False)
    assert torch.all(e_fast[0][0, 2] == 0.5) and torch.all(d_fast[0][0, 2] == 0.5)
    torch.testing.assert_close(e_slow[0][0, 2], torch.full((5,), 0.5 * 0.99))
    # used weights are updated the same way either way
    torch.testing.assert_close(e_fast[0][0, 1], e_slow[0][0, 1])
    # the tensor form of the flag (the compiled step's) gives the same
    W_t, *_ = h2o_adadelta_step(stack.W, stack.b, stack.eg2, stack.edx2, stack.beg2, stack.bedx2,
                                stack.fan_in0, x, t, torch.ones(1, 1),
                                [torch.ones(1, 5), torch.ones(1, 4)], 0.99, 1e-8,
                                torch.tensor(False), torch.tensor(True))
    W_b, *_ = _step(stack, x, t, keep, fast=True)
    torch.testing.assert_close(W_t[0], W_b[0])


def test_dropout_masks_follow_h2o_ratios_and_the_replicates_generator():
    cols = torch.arange(784).expand(2, -1)
    drop = Dropout([torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)], 784,
                   cols, 0.2, (0.5, 0.3))
    inputs, hidden = drop.draw(400, (160, 100), [0, 1])
    assert inputs.shape == (2, 400, 784) and [h.shape for h in hidden] == [(2, 400, 160), (2, 400, 100)]
    assert abs(float(inputs.mean()) - 0.8) < 0.01
    assert abs(float(hidden[0].mean()) - 0.5) < 0.01 and abs(float(hidden[1].mean()) - 0.7) < 0.01
    # replicate 1 drawn alone gets the same masks as in the pair
    alone = Dropout([torch.Generator().manual_seed(6)], 784, cols[:1], 0.2, (0.5, 0.3))
    a_in, a_hid = alone.draw(400, (160, 100), [0])
    assert torch.equal(a_in[0], inputs[1]) and torch.equal(a_hid[1][0], hidden[1][1])


def test_shifted_copies_order_and_zero_fill():
    X = np.arange(2 * 784, dtype=float).reshape(2, 784) + 1
    y = np.array([0, 1])
    A, ya = shifted_copies(X, y, 2)
    assert A.shape == (10, 784) and list(ya) == [0] * 5 + [1] * 5
    img = X[1].reshape(28, 28)
    up, down, left, right = (A[5 + k].reshape(28, 28) for k in range(1, 5))
    np.testing.assert_array_equal(A[5], X[1])
    np.testing.assert_array_equal(up[:26], img[2:])
    np.testing.assert_array_equal(down[2:], img[:26])
    np.testing.assert_array_equal(left[:, :26], img[:, 2:])
    np.testing.assert_array_equal(right[:, 2:], img[:, :26])
    assert not up[26:].any() and not down[:2].any() and not left[:, 26:].any() and not right[:, :2].any()
    with pytest.raises(ValueError, match="square image"):
        shifted_copies(np.ones((3, 30)), np.zeros(3), 2)


def test_augmented_net_keeps_the_frames_threshold_and_reports_the_draws_accuracy(td):
    """h2o trains, stops and sets its label threshold on the 5n-row frame; the suite's
    training accuracy is on the n images of the draw."""
    sets, seeds = draw_sets(td, 10, 2, "NaiveDNN")
    net = NaiveDNN(augment=2, compile=False, max_epochs=2)
    outs = net.fit_many(sets, td.test_X[:100], seeds)
    (X, y), out = sets[0], outs[0]
    assert out.info["train_rows"] == 50 and len(out.train_scores) == 10
    alone = NaiveDNN(augment=2, compile=False, max_epochs=2, random_state=seeds[0]).fit(X, y)
    frame, fy = shifted_copies(X, y, 2)
    means, inv, _ = standardise([frame])
    np.testing.assert_array_equal(alone.mean_[0], means[0])  # standardised over the 5n rows
    p_frame = alone._proba(alone.fitted_, [frame], "cpu")[0]
    assert out.info["h2o_threshold"] == pytest.approx(h2o_max_f1_threshold(p_frame, fy), abs=1e-6)
    got = net.label_with(out.train_scores, y, out.test_scores, out.info)
    np.testing.assert_array_equal(got, (out.test_scores >= out.info["h2o_threshold"]).astype(int))
    argmax = NaiveDNNArgmax(augment=2).label_with(out.train_scores, y, out.test_scores, out.info)
    np.testing.assert_array_equal(argmax, (out.test_scores > 0.5).astype(int))


# ------------------------------------------------------------------ names and bad settings
def test_names_say_what_changed():
    names = {k: NaiveDNN(**v).name for k, v in SETTINGS.items()}
    assert names == {"relu": "naive_dnn_relu", "dropout": "naive_dnn_dropout_in20",
                     "small": "naive_dnn_h32", "augment": "naive_dnn_aug",
                     "modern": "naive_dnn_relu_dropout_in20_aug"}
    assert NaiveDNNArgmax(**SETTINGS["modern"]).name == "naive_dnn_relu_dropout_in20_aug_argmax"
    assert NaiveDNN(activation="TanhWithDropout", hidden=(64, 64),
                    hidden_dropout_ratios=(0.3, 0.5)).name == "naive_dnn_dropout_hd30x50_h64x64"
    assert NaiveDNN(augment=3).name == "naive_dnn_aug3"
    # every setting has its own fit; the argmax twin shares it
    specs = {str(NaiveDNN(**v).fit_spec()) for v in SETTINGS.values()}
    assert len(specs) == len(SETTINGS)
    aug = SETTINGS["augment"]
    assert NaiveDNNArgmax(**aug).fit_spec() == NaiveDNN(**aug).fit_spec()


@pytest.mark.parametrize("kw, match", [
    (dict(activation="Maxout"), "activation='Maxout'"),
    (dict(hidden_dropout_ratios=(0.5,) * 5), "needs a dropout activation"),
    (dict(activation="TanhWithDropout", hidden_dropout_ratios=(0.5,)), "one ratio per hidden"),
    (dict(activation="TanhWithDropout", input_dropout_ratio=1.0), r"\[0, 1\)"),
    (dict(augment=-1), "whole pixels"),
    (dict(hidden=()), "layer widths"),
])
def test_bad_settings_are_one_line_errors(kw, match):
    X = np.random.default_rng(0).random((6, 784))
    with pytest.raises(ValueError, match=match) as err:
        NaiveDNN(**kw, compile=False).fit(X, np.array([0, 1] * 3))
    assert "\n" not in str(err.value)


def test_fast_mode_changes_no_label_of_leeks_net(td):
    """Leek's tanh net without dropout trains without the fast_mode shortcuts (exact zeros are
    accidents of rounding there): with them, its test labels on a cell are the same."""

    sets, seeds = draw_sets(td, 40, 4, "NaiveDNN")
    Xs = [X for X, _ in sets]
    means, inv, masks = standardise(Xs)
    Z = torch.from_numpy(np.stack([(X - m) * s for X, m, s in zip(Xs, means, inv)]).astype(np.float32))
    Zt = torch.from_numpy(np.stack([(td.test_X - m) * s for m, s in zip(means, inv)]).astype(np.float32))
    y = torch.from_numpy(np.stack([y for _, y in sets]).astype(np.int64))
    labels = []
    for fast in (False, True):
        gens = [torch.Generator().manual_seed(s % 2**63) for s in seeds]
        stack = init_stack(gens, [int(k.sum()) for k in masks], n_inputs=784, hidden=(160,) * 5)
        train_online_stack(stack, Z, y, rho=0.99, eps=1e-8, epochs_per_iteration=2,
                           max_epochs=20, train_error=h2o_training_error, chunk=4, fast=fast)
        labels.append((forward_proba(stack, Zt) > 0.5).numpy())
    # measured 2026-12-01: 0 of 2,000 labels differ
    assert (labels[0] == labels[1]).mean() >= 0.999, (labels[0] != labels[1]).sum()
