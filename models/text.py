"""The three contenders of autokad's text claim, on the word features of ``evidence.words``.

autokad (Hacker News, 2017), on about the 5,000 most common English words: an RBF-kernel SVM
got 87–88%, a histogram-kernel SVM with some feature engineering 89.7%, a tuned TensorFlow net
about 89.7%. His task, features and tuning were never published; CLAIMS.md ("autokad's text
claim, on a stated proxy task") pre-registers each contender, and every setting below is
taken from there. All three read the same [H, E] count matrix (scipy sparse or dense) and tune
on the training draw only — ``fit`` never sees a test word.

* :class:`RbfSVM` — ``SVC(kernel="rbf")`` on the raw counts; γ = m / (d · Var(X)) (m times
  scikit-learn's ``gamma="scale"``, Var over every entry of the matrix the SVC is fitted on:
  a fold's training rows in the CV, the whole draw in the refit) with m ∈ {0.5, 1, 2};
  C ∈ {1, 10, 100}. The kernel is computed here and given to libsvm precomputed (class
  docstring).
* :class:`StandardisedRbfSVM` — the variant ``@standardised-rbf``: ``StandardScaler`` (centre
  and scale, its defaults) first, fitted on the same rows as the SVC, same grid.
* :class:`HistogramSVM` — ``SVC(kernel="precomputed")`` with the histogram-intersection kernel
  K(x, y) = Σᵢ min(xᵢ, yᵢ); C ∈ {0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10}.
* :class:`TunedMLP` — one hidden ReLU layer with dropout, 2-way softmax (``models.textnet``);
  grid width {64, 256} × dropout {0, 0.5}; AdamW (lr 1e-3, weight decay 1e-4), batch 32,
  cross-entropy; a stratified 20% of the draw held out; each configuration trains on the other
  80% for at most 200 epochs, early-stopped on validation loss (patience 10); the best
  validation accuracy at its best-loss epoch wins (ties: lower loss, then grid order); refitted
  on the whole draw for that many epochs; argmax label.

Tuning of the SVMs: 3-fold stratified cross-validation on the draw (shuffled, seeded by the
draw's ``random_state``), mean accuracy over the folds (compared exactly, as fractions), the
first best in grid order, refitted on the whole draw. Grid order is the order CLAIMS.md writes
the grid: for the RBF SVMs m outermost, then C. Each fitted contender records its choice in
``chosen_`` (and ``cv_scores_`` / ``selection_``), reported through ``fit_info()``.

Seeds: every random stream (the CV folds, the MLP's hold-out, initialisations, minibatch
orders, dropout masks) is ``SeedSequence(random_state, spawn_key=(stream,))`` for a fixed
stream number, so the draw's seed decides everything; ``random_state=None`` means 0.
"""
from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from models.base import CHECKS_ON_FEW_COLUMNS, Contender, strictly_above
from models.textnet import NetConfig, net_proba, train_nets

__all__ = ["RbfSVM", "StandardisedRbfSVM", "HistogramSVM", "TunedMLP",
           "histogram_intersection_kernel", "thermometer_code", "squared_distances",
           "stream_seed", "CHECKS_ON_REAL_VALUES"]

SOURCE = ("autokad 2017 (Hacker News); settings pre-registered in CLAIMS.md, "
          "\"autokad's text claim, on a stated proxy task\"")

# stream numbers of SeedSequence(random_state, spawn_key=(stream,))
_CV, _HOLDOUT, _ORDER, _REFIT_ORDER, _REFIT_INIT, _INIT = 0, 1, 2, 3, 4, 10


def stream_seed(random_state, stream: int) -> int:
    """A seed in [0, 2**63) for one random stream of the draw with seed ``random_state``."""
    if random_state is None:
        random_state = 0
    if (isinstance(random_state, (bool, np.bool_))
            or not isinstance(random_state, (int, np.integer)) or random_state < 0):
        raise ValueError(f"random_state must be a non-negative integer seed or None, not "
                         f"{random_state!r}; pass the draw's seed")
    words = np.random.SeedSequence(int(random_state), spawn_key=(stream,)).generate_state(2)
    return int((int(words[0]) << 32 | int(words[1])) >> 1)


# --------------------------------------------------------------------------- shared face


class _TextContender(Contender):
    """A contender that takes the sparse word features (CSR) as well as dense arrays."""

    source = SOURCE

    def fit(self, X, y):
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        classes, y01 = np.unique(y, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(
                f"Only binary classification is supported. {type(self).__name__} is a two-class "
                f"model but y has {len(classes)} class(es) {list(classes)[:5]}; give it exactly "
                "two classes")
        self.classes_ = classes
        self._fit01(X, y01.astype(np.int64))
        self.train_scores_ = np.asarray(self._scores(X), dtype=np.float64)
        self.y_train_ = y01.astype(np.int64)
        return self

    def decision_scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return np.asarray(self._scores(X), dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit_info(self) -> dict:
        return dict(self.chosen_)


def _check_cv_draw(y: np.ndarray, folds: int, who: str) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() < folds:
        raise ValueError(
            f"{who} tunes by {folds}-fold stratified cross-validation, which needs at least "
            f"{folds} words of each class, but the draw has {counts[0]} and {counts[1]}; "
            "use a larger draw")


def _cv_select(grid: list[dict], y: np.ndarray, folds: int, random_state, prepare, correct):
    """The first grid point with the best mean fold accuracy. ``prepare(train)`` returns what
    a fold's fits share (computed once per fold); ``correct(point, state, train, val)`` how
    many validation rows the point labels right. Returns (point, mean accuracy per point)."""
    cv = StratifiedKFold(n_splits=folds, shuffle=True,
                         random_state=stream_seed(random_state, _CV) % 2**32)
    splits = [(tr, va, prepare(tr)) for tr, va in cv.split(np.zeros(len(y)), y)]
    best, best_score, scores = None, None, []
    for point in grid:
        score = sum(Fraction(int(correct(point, state, tr, va)), len(va))
                    for tr, va, state in splits) / folds
        scores.append(float(score))
        if best_score is None or score > best_score:
            best, best_score = point, score
    return best, scores


# --------------------------------------------------------------------------- RBF SVMs


def squared_distances(X, Y, weights=None) -> np.ndarray:
    """(n, m) float64 ‖x − y‖² between the rows of X and Y (sparse or dense), each column
    multiplied by ``weights`` first if given; computed as ‖x‖² + ‖y‖² − 2 x·y, as libsvm's RBF
    kernel does (exact for integer counts), and clipped at 0."""
    X, Y = sp.csr_matrix(X, dtype=np.float64), sp.csr_matrix(Y, dtype=np.float64)
    if weights is not None:
        scale = sp.diags(np.asarray(weights, dtype=np.float64))
        X, Y = X @ scale, Y @ scale
    xx = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    yy = np.asarray(Y.multiply(Y).sum(axis=1)).ravel()
    D = xx[:, None] + yy[None, :] - 2.0 * (X @ Y.T).toarray()
    return np.maximum(D, 0.0)


def _scale_gamma(X) -> float:
    """scikit-learn's ``gamma="scale"``: 1 / (d · Var(X)), Var over every entry (1 if 0)."""
    if sp.issparse(X):
        var = X.multiply(X).mean() - X.mean() ** 2
    else:
        var = np.asarray(X).var()
    return 1.0 / (X.shape[1] * var) if var != 0 else 1.0


class RbfSVM(_TextContender):
    """RBF-kernel SVM on the raw counts, tuned by 3-fold CV over m (γ = m·"scale") and C.

    The RBF kernel exp(−γ‖x − y‖²) is computed here, once per fold, and handed to
    ``SVC(kernel="precomputed")``: the same SVM as ``SVC(kernel="rbf", gamma=γ)`` (libsvm
    forms the same ‖x‖² + ‖y‖² − 2x·y), ~10× faster on the 28 fits of one tuning because the
    distances are shared by the grid (tested: equal decision values).
    """

    name = "rbf_svm"
    #: StandardScaler first (the ``@standardised-rbf`` variant; a class, never an option)
    standardise: ClassVar[bool] = False

    def __init__(self, gamma_multipliers=(0.5, 1.0, 2.0), C_grid=(1.0, 10.0, 100.0),
                 cv_folds: int = 3, random_state: int | None = None):
        self.gamma_multipliers = gamma_multipliers
        self.C_grid = C_grid
        self.cv_folds = cv_folds
        self.random_state = random_state

    def _prepare(self, X):
        """(column weights or None, γ for m = 1) learnt from the rows the SVC is fitted on."""
        if not self.standardise:
            return None, _scale_gamma(X)
        # StandardScaler centres and scales. An RBF kernel reads only differences x − y, which
        # centring leaves unchanged, so the sparse rows are only scaled (no densifying); the
        # centring shows in γ alone, through the variance the centred matrix would have: every
        # column has mean 0 and variance var_j / scale_j² (1, or 0 for a constant column).
        scaler = StandardScaler(with_mean=False).fit(X)
        var = float(np.mean(scaler.var_ / scaler.scale_ ** 2))
        return 1.0 / scaler.scale_, (1.0 / (X.shape[1] * var) if var != 0 else 1.0)

    def grid(self) -> list[dict]:
        """The grid in its order (CLAIMS.md writes m first): m outermost, then C."""
        return [{"m": float(m), "C": float(C)} for m in self.gamma_multipliers for C in self.C_grid]

    def _fit01(self, X, y):
        _check_cv_draw(y, self.cv_folds, type(self).__name__)
        grid = self.grid()
        shared = None if self.standardise else squared_distances(X, X)

        def prepare(tr):
            weights, gamma1 = self._prepare(X[tr])
            D = shared if weights is None else squared_distances(X, X[tr], weights)
            cols = tr if weights is None else np.arange(len(tr))
            return D[np.ix_(tr, cols)], D[:, cols], gamma1

        def correct(point, state, tr, va):
            D_tr, D_all, gamma1 = state
            gamma = point["m"] * gamma1
            svc = SVC(kernel="precomputed", C=point["C"]).fit(np.exp(-gamma * D_tr), y[tr])
            return np.count_nonzero(svc.predict(np.exp(-gamma * D_all[va])) == y[va])

        point, self.cv_scores_ = _cv_select(grid, y, self.cv_folds, self.random_state,
                                            prepare, correct)
        self.weights_, gamma1 = self._prepare(X)
        self.gamma_ = point["m"] * gamma1
        D = shared if self.weights_ is None else squared_distances(X, X, self.weights_)
        self.svc_ = SVC(kernel="precomputed", C=point["C"]).fit(np.exp(-self.gamma_ * D), y)
        self.X_train_ = sp.csr_matrix(X)
        self.chosen_ = {"gamma_multiplier": point["m"], "C": point["C"],
                        "gamma": float(self.gamma_)}

    def _scores(self, X):
        D = squared_distances(X, self.X_train_, self.weights_)
        return self.svc_.decision_function(np.exp(-self.gamma_ * D))

    def label(self, train_scores, y_train, scores):
        """SVC's own rule: class 1 where the decision value is positive."""
        return strictly_above(scores, 0.0)


class StandardisedRbfSVM(RbfSVM):
    """The ``@standardised-rbf`` variant: StandardScaler, then the same RBF SVM and grid."""

    name = "standardised_rbf_svm"
    standardise = True


# --------------------------------------------------------------------------- histogram SVM


def _counts(X, who: str) -> sp.csr_matrix:
    X = sp.csr_matrix(X)
    if not X.has_canonical_format:  # repeated entries of one cell would count twice
        X = X.copy()
        X.sum_duplicates()
    data = X.data
    if data.size and (not np.all(np.isfinite(data)) or data.min() < 0
                      or not np.array_equal(data, np.round(data))):
        raise ValueError(f"{who} needs non-negative integer counts (the word features); "
                         "the matrix holds negative, fractional or non-finite values")
    return X


def thermometer_code(X, levels: int) -> sp.csr_matrix:
    """(n, d·levels) 0/1 CSR matrix with column j + (t−1)·d set where X[:, j] ≥ t, t = 1…levels,
    for non-negative integer counts X no larger than ``levels``."""
    X = _counts(X, "thermometer_code")
    n, d = X.shape
    v = X.data.astype(np.int64)
    if v.size and v.max() > levels:
        raise ValueError(f"thermometer_code: a count of {v.max()} exceeds levels={levels}")
    rows = np.repeat(np.repeat(np.arange(n), np.diff(X.indptr)), v)
    starts = np.repeat(np.cumsum(v) - v, v)
    t = np.arange(int(v.sum())) - starts  # 0 … v−1 within each entry
    cols = np.repeat(X.indices.astype(np.int64), v) + t * d
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n, d * max(levels, 1)))


def histogram_intersection_kernel(X, Y=None) -> np.ndarray:
    """K[i, j] = Σₖ min(X[i, k], Y[j, k]) for non-negative integer counts, as ONE sparse
    product of thermometer codes: min(x, y) = Σ_{t ≥ 1} [x ≥ t][y ≥ t]. Dense (n, m) float64."""
    X = _counts(X, "histogram_intersection_kernel")
    Y = X if Y is None else _counts(Y, "histogram_intersection_kernel")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"histogram_intersection_kernel: X has {X.shape[1]} columns but Y has "
                         f"{Y.shape[1]}; give both the same features")
    levels = int(max(X.max() if X.nnz else 0, Y.max() if Y.nnz else 0, 1))
    TX = thermometer_code(X, levels)
    TY = TX if Y is X else thermometer_code(Y, levels)
    return (TX @ TY.T).toarray()


#: scikit-learn estimator checks that fit on real-valued data (random floats, some negative):
#: HistogramSVM reads non-negative integer counts and fails them with its ValueError. They are
#: the checks on synthetic few-column data that the image contenders fail too (except one,
#: which HistogramSVM passes), plus the sparse-input checks.
CHECKS_ON_REAL_VALUES = tuple(
    c for c in CHECKS_ON_FEW_COLUMNS if c != "check_classifier_data_not_an_array"
) + ("check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag")


class HistogramSVM(_TextContender):
    """SVM with the histogram-intersection kernel, tuned by 3-fold CV over C."""

    name = "histogram_svm"

    def __init__(self, C_grid=(0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0), cv_folds: int = 3,
                 random_state: int | None = None):
        self.C_grid = C_grid
        self.cv_folds = cv_folds
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def grid(self) -> list[dict]:
        """The grid in its order: C ascending as CLAIMS.md lists it."""
        return [{"C": float(C)} for C in self.C_grid]

    def _fit01(self, X, y):
        _check_cv_draw(y, self.cv_folds, type(self).__name__)
        X = _counts(X, type(self).__name__)
        K = histogram_intersection_kernel(X)

        def correct(point, state, tr, va):
            svc = SVC(kernel="precomputed", C=point["C"]).fit(K[np.ix_(tr, tr)], y[tr])
            return np.count_nonzero(svc.predict(K[np.ix_(va, tr)]) == y[va])

        grid = self.grid()
        point, self.cv_scores_ = _cv_select(grid, y, self.cv_folds, self.random_state,
                                            lambda tr: None, correct)
        self.svc_ = SVC(kernel="precomputed", C=point["C"]).fit(K, y)
        self.X_train_ = X
        self.chosen_ = {"C": point["C"]}

    def _scores(self, X):
        return self.svc_.decision_function(histogram_intersection_kernel(X, self.X_train_))

    def expected_failed_checks(self) -> dict[str, str]:
        reason = ("the check fits on real-valued (fractional or negative) data; HistogramSVM "
                  "reads non-negative integer counts and says so with a ValueError")
        return {name: reason for name in CHECKS_ON_REAL_VALUES}

    def label(self, train_scores, y_train, scores):
        """SVC's own rule: class 1 where the decision value is positive."""
        return strictly_above(scores, 0.0)


# --------------------------------------------------------------------------- tuned MLP


class TunedMLP(_TextContender):
    """One-hidden-layer ReLU net with dropout, tuned on a 20% hold-out (module docstring).

    The four configurations are trained at once as one fused net (``models.textnet``); each
    keeps exactly its own gradient. ``chosen_`` holds the winner's width, dropout and epochs;
    ``selection_`` what early stopping saw for every configuration.

    Settings CLAIMS.md leaves open, fixed here: the raw counts are the input (no scaling, as
    for every contender); weights and biases start from ``nn.Linear``'s default U(±1/√fan_in)
    (autokad's TensorFlow defaults are unknown); the minibatch order is reshuffled every epoch;
    the hold-out is scikit-learn's ``StratifiedShuffleSplit`` (⌈20%⌉ of the draw); the refit
    starts from a fresh initialisation; the label is the argmax, i.e. p(class 1) > 0.5 with a
    tie going to class 0, as ``argmax`` does.
    """

    name = "tuned_mlp"

    def __init__(self, widths=(64, 256), dropouts=(0.0, 0.5), lr: float = 1e-3,
                 weight_decay: float = 1e-4, batch_size: int = 32, max_epochs: int = 200,
                 patience: int = 10, holdout: float = 0.2, random_state: int | None = None,
                 device: str = "cpu"):
        self.widths = widths
        self.dropouts = dropouts
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.holdout = holdout
        self.random_state = random_state
        self.device = device

    def _train(self, X, y, configs, init_streams, order_stream, **kw):
        from evidence.engine import resolve_device

        return train_nets(
            X, y, configs, init_seeds=[stream_seed(self.random_state, s) for s in init_streams],
            order_seed=stream_seed(self.random_state, order_stream), lr=self.lr,
            weight_decay=self.weight_decay, batch_size=self.batch_size,
            device=resolve_device(self.device), **kw)

    def grid(self) -> list[NetConfig]:
        """The grid in its order: width outermost, then dropout."""
        return [NetConfig(int(w), float(p)) for w in self.widths for p in self.dropouts]

    def _fit01(self, X, y):
        X = sp.csr_matrix(X)
        split = StratifiedShuffleSplit(
            n_splits=1, test_size=self.holdout,
            random_state=stream_seed(self.random_state, _HOLDOUT) % 2**32)
        tr, va = next(split.split(np.zeros(len(y)), y))
        configs = self.grid()
        _, records = self._train(
            X[tr], y[tr], configs, [_INIT + k for k in range(len(configs))], _ORDER,
            epochs=self.max_epochs, X_val=X[va], y_val=y[va], patience=self.patience)
        # best validation accuracy at the best-loss epoch; ties: lower loss, then grid order
        win = min(range(len(configs)),
                  key=lambda k: (-records[k].acc_at_best, records[k].best_loss, k))
        epochs = records[win].best_epoch
        (self.net_,), _ = self._train(X, y, [configs[win]], [_REFIT_INIT], _REFIT_ORDER,
                                      epochs=epochs)
        self.chosen_ = {"width": configs[win].width, "dropout": configs[win].dropout,
                        "epochs": int(epochs)}
        self.selection_ = [
            {"width": c.width, "dropout": c.dropout, "best_epoch": r.best_epoch,
             "val_loss": r.best_loss, "val_accuracy": r.acc_at_best, "epochs_run": r.epochs_run}
            for c, r in zip(configs, records)]
        self.epochs_ = int(epochs)

    def _scores(self, X):
        return net_proba(self.net_, X)
