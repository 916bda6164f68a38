"""Tests of the word-task contenders in models/text.py and their net engine models/textnet.py.

* the histogram-intersection kernel (one sparse product of thermometer codes) equals a
  brute-force Σ min on small integer inputs, dense and sparse;
* the RBF SVMs' precomputed kernel is ``SVC(kernel="rbf")`` (raw) and the dense
  ``StandardScaler`` + SVC pipeline (standardised) to rounding;
* the fused MLP net is the four configurations trained separately, and the engine is an
  ordinary dense MLP with torch's AdamW (same initialisation, batches and dropout masks);
* every contender beats the majority class on a 200-word draw of noun-v-verb, tunes on the
  draw alone, deterministically given ``random_state``;
* scikit-learn's estimator checks.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from evidence.words import word_task_data
from models import text, textnet
from models.text import (HistogramSVM, RbfSVM, StandardisedRbfSVM, TunedMLP,
                         histogram_intersection_kernel, squared_distances, thermometer_code)
from models.textnet import NetConfig, train_nets

CONTENDERS = [RbfSVM, StandardisedRbfSVM, HistogramSVM, TunedMLP]


def _draw(n: int, seed: int = 0, rule: str = "noun-v-verb"):
    td = word_task_data(rule)
    rows = np.random.default_rng(seed).choice(td.pool_size, n, replace=False)
    return td.pool_X[rows], td.pool_y[rows], td


# ------------------------------------------------------------------ 1. kernels


def _brute_min_sum(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    return np.minimum(A[:, None, :], B[None, :, :]).sum(axis=2)


@pytest.mark.parametrize("seed", range(6))
def test_histogram_kernel_equals_brute_force_min_sum(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 9))
    X = rng.integers(0, 5, size=(7, d)) * (rng.random((7, d)) < 0.6)
    Y = rng.integers(0, 8, size=(5, d)) * (rng.random((5, d)) < 0.6)  # larger counts than X
    X[0] = 0  # an all-zero row
    expected = _brute_min_sum(X, Y)
    for fmt in (np.asarray, sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        np.testing.assert_array_equal(histogram_intersection_kernel(fmt(X), fmt(Y)), expected)
        np.testing.assert_array_equal(histogram_intersection_kernel(fmt(Y), fmt(X)), expected.T)
        np.testing.assert_array_equal(histogram_intersection_kernel(fmt(X)), _brute_min_sum(X, X))
    # float-typed counts (as validate_data hands them over) give the same kernel
    np.testing.assert_array_equal(histogram_intersection_kernel(X.astype(float), Y), expected)


def test_histogram_kernel_sums_repeated_entries_first():
    # a non-canonical CSR matrix holding the count 3 as 1 + 2 in one cell
    X = sp.csr_matrix((np.array([1.0, 2.0]), np.array([0, 0]), np.array([0, 2])), shape=(1, 2))
    assert not X.has_canonical_format
    Y = np.array([[3, 0], [2, 1]])
    np.testing.assert_array_equal(histogram_intersection_kernel(X, Y), [[3, 2]])


def test_histogram_kernel_on_the_word_features():
    X, _, td = _draw(40)
    K = histogram_intersection_kernel(td.test_X[:30], X)
    np.testing.assert_array_equal(K, _brute_min_sum(td.test_X[:30].toarray(), X.toarray()))


def test_thermometer_code_columns():
    X = np.array([[0, 2, 1], [3, 0, 1]])
    T = thermometer_code(X, levels=3).toarray()
    assert T.shape == (2, 9)
    for t in (1, 2, 3):  # column j + (t − 1)·d is [X[:, j] >= t]
        np.testing.assert_array_equal(T[:, (t - 1) * 3:t * 3], (X >= t).astype(float))
    with pytest.raises(ValueError, match="exceeds levels"):
        thermometer_code(X, levels=2)


@pytest.mark.parametrize("bad", [np.array([[1.0, -1.0]]), np.array([[0.5, 1.0]]),
                                 np.array([[np.inf, 1.0]])])
def test_histogram_kernel_refuses_values_that_are_not_counts(bad):
    with pytest.raises(ValueError, match="non-negative integer counts"):
        histogram_intersection_kernel(bad)
    with pytest.raises(ValueError, match="same features"):
        histogram_intersection_kernel(np.ones((2, 3)), np.ones((2, 4)))


def test_squared_distances_match_direct_differences():
    rng = np.random.default_rng(1)
    A, B = rng.integers(0, 4, (6, 5)), rng.integers(0, 4, (4, 5))
    w = rng.random(5) + 0.5
    direct = (((A[:, None, :] - B[None, :, :]) * w) ** 2).sum(axis=2)
    np.testing.assert_allclose(squared_distances(sp.csr_matrix(A), B, w), direct, rtol=1e-12)
    np.testing.assert_array_equal(squared_distances(A, B), (((A[:, None] - B[None]) ** 2).sum(2)))


def test_rbf_svm_is_svc_with_the_rbf_kernel():
    # the precomputed kernel gives libsvm the same problem as SVC(kernel="rbf")
    X, y, td = _draw(300, seed=3)
    X = X.astype(float)
    model = RbfSVM(gamma_multipliers=(2.0,), C_grid=(10.0,), random_state=1).fit(X, y)
    scale = 1.0 / (X.shape[1] * (X.multiply(X).mean() - X.mean() ** 2))
    ref = SVC(kernel="rbf", C=10.0, gamma=2.0 * scale).fit(X, y)
    assert model.chosen_["gamma"] == pytest.approx(ref._gamma, rel=1e-12)
    np.testing.assert_allclose(model.decision_scores(td.test_X), ref.decision_function(td.test_X),
                               atol=1e-9)


def test_standardised_rbf_svm_is_the_dense_standard_scaler_pipeline():
    # centring is left out on sparse rows: distances are unchanged, γ uses the centred variance
    X, y, td = _draw(300, seed=3)
    model = StandardisedRbfSVM(gamma_multipliers=(1.0,), C_grid=(100.0,), random_state=1).fit(X, y)
    pipe = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=100.0, gamma="scale"))
    pipe.fit(X.toarray(), y)
    assert model.chosen_["gamma"] == pytest.approx(pipe[-1]._gamma, rel=1e-9)
    np.testing.assert_allclose(model.decision_scores(td.test_X),
                               pipe.decision_function(td.test_X.toarray()), atol=1e-9)


# ------------------------------------------------------------------ 2. the net engine

SETTINGS = dict(lr=1e-3, weight_decay=1e-4, batch_size=32)
GRID = [NetConfig(w, p) for w in (64, 256) for p in (0.0, 0.5)]


def test_fused_training_equals_separate_training():
    X, y, _ = _draw(150, seed=4)
    Xv, yv, _ = _draw(60, seed=5)
    seeds = [11, 12, 13, 14]
    # fixed epochs: the final weights of every configuration
    fused, _ = train_nets(X, y, GRID, init_seeds=seeds, order_seed=7, epochs=6, **SETTINGS)
    for k, config in enumerate(GRID):
        (alone,), _ = train_nets(X, y, [config], init_seeds=[seeds[k]], order_seed=7, epochs=6,
                                 **SETTINGS)
        for a, b in zip((fused[k].W1, fused[k].b1, fused[k].W2, fused[k].b2),
                        (alone.W1, alone.b1, alone.W2, alone.b2)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # early stopping: what each configuration saw, epoch by epoch
    _, records = train_nets(X, y, GRID, init_seeds=seeds, order_seed=7, epochs=60, X_val=Xv,
                            y_val=yv, patience=3, **SETTINGS)
    for k, config in enumerate(GRID):
        _, (alone,) = train_nets(X, y, [config], init_seeds=[seeds[k]], order_seed=7, epochs=60,
                                 X_val=Xv, y_val=yv, patience=3, **SETTINGS)
        assert records[k].best_epoch == alone.best_epoch
        assert records[k].epochs_run == alone.epochs_run
        assert records[k].acc_at_best == alone.acc_at_best
        np.testing.assert_allclose(records[k].val_losses, alone.val_losses, rtol=1e-5)


def test_training_only_the_present_columns_is_the_same_net():
    X, y, _ = _draw(60, seed=6)  # a small draw: most columns never occur in it
    Xv, yv, _ = _draw(40, seed=7)
    assert np.unique(X.indices).size < X.shape[1] / 2
    # a weight decay 1,000× the registered one, so that the absent rows' decay (here ~1%) is
    # far above the tolerance
    kw = dict(init_seeds=[1, 2], order_seed=3, epochs=40, X_val=Xv, y_val=yv, patience=40,
              lr=1e-3, weight_decay=0.1, batch_size=32)
    nets, recs = train_nets(X, y, GRID[:2], **kw)
    full_nets, full_recs = train_nets(X, y, GRID[:2], restrict_columns=False, **kw)
    for a, b, ra, rb in zip(nets, full_nets, recs, full_recs):
        torch.testing.assert_close(a.W1, b.W1, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(a.W2, b.W2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ra.val_losses, rb.val_losses, rtol=1e-5)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_engine_is_a_plain_mlp_with_adamw(dropout):
    # An independent dense implementation: nn.Linear layers, torch's default AdamW, the same
    # initialisation, minibatch order and dropout masks (drawn from the configuration's
    # generator after its initialisation, one (batch, width) uniform per step).
    X, y, _ = _draw(100, seed=8)
    config = NetConfig(16, dropout)
    (net,), _ = train_nets(X, y, [config], init_seeds=[21], order_seed=22, epochs=3, **SETTINGS)

    gen = torch.Generator().manual_seed(21)
    W1, b1, W2, b2 = textnet._init(config, X.shape[1], gen)
    lin1, lin2 = torch.nn.Linear(X.shape[1], 16), torch.nn.Linear(16, 2)
    with torch.no_grad():
        lin1.weight.copy_(W1.T), lin1.bias.copy_(b1), lin2.weight.copy_(W2.T), lin2.bias.copy_(b2)
    opt = torch.optim.AdamW([*lin1.parameters(), *lin2.parameters()], lr=1e-3, weight_decay=1e-4)
    Xd, yt = torch.tensor(X.toarray(), dtype=torch.float32), torch.as_tensor(y)
    order = np.random.default_rng(22)
    for _ in range(3):
        perm = order.permutation(len(y))
        for lo in range(0, len(y), 32):
            rows = torch.as_tensor(perm[lo:lo + 32])
            h = torch.relu(lin1(Xd[rows]))
            if dropout:
                h = h * (torch.rand(h.shape, generator=gen) >= dropout) / (1 - dropout)
            loss = F.cross_entropy(lin2(h), yt[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.testing.assert_close(net.W1, lin1.weight.detach().T, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(net.W2, lin2.weight.detach().T, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(net.b1, lin1.bias.detach(), rtol=1e-4, atol=1e-6)


def test_mlp_selection_rule_and_refit():
    X, y, _ = _draw(200, seed=9)
    model = TunedMLP(random_state=3).fit(X, y)
    sel = model.selection_
    assert [(s["width"], s["dropout"]) for s in sel] == [(64, 0.0), (64, 0.5), (256, 0.0),
                                                         (256, 0.5)]
    key = [(-s["val_accuracy"], s["val_loss"], k) for k, s in enumerate(sel)]
    win = sel[min(range(4), key=lambda k: key[k])]
    assert model.chosen_ == {"width": win["width"], "dropout": win["dropout"],
                             "epochs": win["best_epoch"]}
    for s in sel:  # early stopping: patience 10 after the best epoch, or the epoch limit
        assert s["epochs_run"] == min(s["best_epoch"] + 10, 200)
    assert model.net_.W1.shape == (X.shape[1], win["width"])
    assert model.fit_info() == model.chosen_


# ------------------------------------------------------------------ 3. the contenders


@pytest.fixture(scope="module")
def draw200():
    return _draw(200, seed=10)


@pytest.mark.parametrize("cls", CONTENDERS, ids=lambda c: c.__name__)
def test_contender_beats_the_majority_class(cls, draw200):
    X, y, td = draw200
    model = cls(random_state=5).fit(X, y)
    accuracy = float(np.mean(model.predict(td.test_X) == td.test_y))
    majority = max(td.test_y.mean(), 1 - td.test_y.mean())
    assert accuracy > majority + 0.08, (accuracy, majority)
    assert set(model.chosen_) and model.fit_info() == model.chosen_


@pytest.mark.parametrize("cls", CONTENDERS, ids=lambda c: c.__name__)
def test_tuning_sees_only_the_draw_and_is_deterministic(cls, draw200):
    X, y, td = draw200
    first = cls(random_state=5).fit(X, y)
    # fitting elsewhere in between (here: on the test words with permuted labels) leaves the
    # choice unchanged: fit takes the draw alone and keeps no state outside the estimator
    permuted = np.random.default_rng(0).permutation(td.test_y)
    cls(random_state=5).fit(td.test_X, permuted)
    again = clone(first).fit(X, y)
    assert again.chosen_ == first.chosen_
    np.testing.assert_array_equal(again.decision_scores(td.test_X),
                                  first.decision_scores(td.test_X))
    if cls is TunedMLP:
        assert again.selection_ == first.selection_
    else:
        assert again.cv_scores_ == first.cv_scores_


@pytest.mark.parametrize("cls", [RbfSVM, HistogramSVM], ids=lambda c: c.__name__)
def test_inner_cv_folds_follow_random_state(cls, draw200):
    X, y, _ = draw200
    scores = {tuple(cls(random_state=s).fit(X, y).cv_scores_) for s in (1, 2, 3)}
    assert len(scores) > 1  # the folds are shuffled by the draw's seed


def test_grid_order_and_first_best():
    assert [(g["m"], g["C"]) for g in RbfSVM().grid()] == [
        (m, C) for m in (0.5, 1.0, 2.0) for C in (1.0, 10.0, 100.0)]
    assert [g["C"] for g in HistogramSVM().grid()] == [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]
    assert [(c.width, c.dropout) for c in TunedMLP().grid()] == [(64, 0.0), (64, 0.5),
                                                                 (256, 0.0), (256, 0.5)]
    # mean fold accuracy compared exactly; the first of tied points wins
    y = np.array([0, 1] * 6)  # 3 folds of 4
    right = {0: [2, 3, 3], 1: [3, 3, 2], 2: [4, 4, 0], 3: [2, 2, 3]}  # points 0-2 tie at 8/12
    grid = [{"id": k} for k in range(4)]
    calls = iter(range(12))
    point, scores = text._cv_select(grid, y, 3, 0, lambda tr: next(calls),
                                    lambda p, state, tr, va: right[p["id"]][state % 3])
    assert point == {"id": 0} and scores[:3] == [2 / 3] * 3 and scores[3] == 7 / 12


def test_cv_needs_three_of_each_class():
    X, y, _ = _draw(50, seed=11)
    keep = np.flatnonzero(y == 0)[:20].tolist() + np.flatnonzero(y == 1)[:2].tolist()
    for cls in (RbfSVM, HistogramSVM):
        with pytest.raises(ValueError, match="at least 3 words of each class"):
            cls().fit(X[keep], y[keep])


def test_fit_many_takes_sparse_draws(draw200):
    X, y, td = draw200
    outs = HistogramSVM().fit_many([(X, y), (X[:150], y[:150])], td.test_X, [1, 2])
    assert [len(o.train_scores) for o in outs] == [200, 150]
    assert all(len(o.test_scores) == td.test_size and "C" in o.info for o in outs)


def test_faithful_defaults():
    # the settings CLAIMS.md pre-registers, as the classes' defaults
    for cls in (RbfSVM, StandardisedRbfSVM):
        p = cls().get_params()
        assert p["gamma_multipliers"] == (0.5, 1.0, 2.0) and p["C_grid"] == (1.0, 10.0, 100.0)
        assert p["cv_folds"] == 3
    assert StandardisedRbfSVM.standardise and not RbfSVM.standardise
    assert HistogramSVM().get_params()["C_grid"] == (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    p = TunedMLP().get_params()
    assert (p["widths"], p["dropouts"], p["lr"], p["weight_decay"]) == ((64, 256), (0.0, 0.5),
                                                                       1e-3, 1e-4)
    assert (p["batch_size"], p["max_epochs"], p["patience"], p["holdout"]) == (32, 200, 10, 0.2)


def test_bad_random_state_is_refused(draw200):
    X, y, _ = draw200
    with pytest.raises(ValueError, match="random_state"):
        RbfSVM(random_state=-1).fit(X, y)


# ------------------------------------------------------------------ 4. scikit-learn checks
#: the MLP with less work (one small configuration, a larger step) so the checks run fast
SMALL_MLP = dict(widths=(32,), dropouts=(0.0,), lr=3e-2, max_epochs=30, patience=5,
                 random_state=0)


@parametrize_with_checks([RbfSVM(), StandardisedRbfSVM(), HistogramSVM(), TunedMLP(**SMALL_MLP)],
                         expected_failed_checks=lambda e: e.expected_failed_checks(),
                         xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
