"""Leek's "deep net", faithful to his h2o call, and the same fitted nets labelled by argmax.

Leek ran ``h2o.deeplearning(activation = "Tanh", hidden = rep(160, 5), epochs = 20)`` with every
other setting at h2o's default. What that resolves to (CLAIMS.md, "Leek's experiment"; h2o-3
source, ``DeepLearningModelInfo`` and ``Neurons``):

* inputs standardised with the draw's mean and (sample) standard deviation; columns constant
  in the draw dropped (here: masked to zero, which is the same net: their weights get no
  gradient and their count is left out of the first layer's fan-in);
* five dense layers of 160 tanh units, a 2-unit softmax output, cross-entropy;
* Glorot-uniform weights U(±sqrt(6/(fan_in+fan_out))), the output layer's multiplied by 4 as
  h2o does for classification; zero biases;
* ADADELTA with rho 0.99, epsilon 1e-8, h2o's variant for biases (fed by the mean squared
  gradient of the unit's incoming weights); mini-batch 1; the draw's rows in their order, never
  reshuffled; no L1/L2/dropout, momentum 0;
* training in iterations of 2 epochs; after each, the training data is scored with h2o's label
  rule and training stops once the training error is 0 (``classification_stop = 0``), at most
  20 epochs; the best iterate by training error is kept (``overwrite_with_best_model``);
* the label: for two classes h2o labels 1 when p1 reaches the threshold that maximises F1 on
  the training data (candidate thresholds are the training p1 values; the largest one attaining
  the maximum is taken).

Not reproduced: h2o's Hogwild multi-threading (not reproducible by design) and its fast
approximate square root. :class:`NaiveDNNArgmax` labels the same fitted nets by argmax; it is a
separate, named contender that reuses the fit.
"""
from __future__ import annotations


import numpy as np
import torch

from evidence.engine import forward_proba, init_tanh_stack, resolve_device, train_online_stack
from models.base import BatchedContender

__all__ = ["NaiveDNN", "NaiveDNNArgmax", "h2o_max_f1_threshold", "h2o_training_error"]

#: Replicate-steps (replicates × rows × epochs) above which compiling the step repays its cost
#: (~15 s cold on the 2-core CPU against ~1 ms per replicate-step in eager mode).
COMPILE_MIN_WORK = 15_000
#: Compiled and eager steps agree only to rounding, so whether a fit was compiled must follow
#: from its cache key alone (here: the fit spec and n), never from how many draws a call fits
#: (a resumed run fits fewer draws of a cell than a fresh one). ``compile="auto"`` therefore
#: compiles when one replicate's work, rows × epochs, is at least COMPILE_MIN_WORK spread over
#: a full-scale cell of 20 draws: 750 steps, i.e. when such a cell repays the compilation. With
#: early stopping (an iteration of 2 epochs) that is n ≥ 375, beyond every scale's sizes; without
#: it (20 epochs, the benchmark's setting) n ≥ 38.
COMPILE_MIN_STEPS = COMPILE_MIN_WORK // 20
#: Replicates per chunk on the CPU (their optimiser state stays in cache). Measured on the
#: 2-core CPU for the benchmark cell (n = 80, 20 draws, 20 epochs, compiled, chunks in turn):
#: chunk 1: 9.0 s, 2: 6.6 s, 4: 5.7–6.6 s, 5: 8.8 s, 10: 10.3 s, 20: 18.0 s. On a GPU all
#: replicates of a cell form one chunk.
CPU_CHUNK = 4


def h2o_max_f1_threshold(p1: np.ndarray, y: np.ndarray) -> float:
    """h2o's two-class threshold: among the training p1 values, the largest that maximises F1
    of the rule ``p1 >= threshold`` on the training data."""
    p1 = np.asarray(p1, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    cand = np.unique(p1)[::-1]                      # descending
    pred = p1[None, :] >= cand[:, None]             # (thresholds, n)
    tp = (pred & y).sum(1)
    fp = (pred & ~y).sum(1)
    fn = (~pred & y).sum(1)
    denom = 2 * tp + fp + fn
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(cand[int(np.argmax(f1))])          # first maximum = largest threshold


def h2o_training_error(p_train: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Training classification error of each replicate under h2o's max-F1 label rule."""
    p_train = np.atleast_2d(p_train)
    y = np.atleast_2d(y)
    out = np.empty(len(p_train))
    for r, (p, yy) in enumerate(zip(p_train, y)):
        out[r] = np.mean((p >= h2o_max_f1_threshold(p, yy)).astype(int) != yy)
    return out


def kept_columns(masks: np.ndarray, multiple: int = 64) -> np.ndarray:
    """(R, k) column indices: each replicate's kept columns, padded with a column that
    replicate dropped (its input is 0, so the padding is inert) to a width k that rounds the
    widest replicate's count up to a ``multiple`` (so a compiled step serves many cells)."""
    counts = masks.sum(axis=1)
    k = min(masks.shape[1], -(-int(counts.max()) // multiple) * multiple)
    cols = np.empty((len(masks), k), dtype=np.int64)
    for r, keep in enumerate(masks):
        kept = np.flatnonzero(keep)
        pad = np.flatnonzero(~keep)[:1] if len(kept) < k else np.empty(0, dtype=np.int64)
        cols[r] = np.concatenate([kept, np.repeat(pad, k - len(kept))])
    return cols


def _compact_rows(t: torch.Tensor, cols: np.ndarray, counts: np.ndarray) -> torch.Tensor:
    """Rows ``cols[r]`` of ``t[r]`` (R, d, h) → (R, k, h); padding rows (beyond each
    replicate's ``counts[r]`` kept columns) set to 0."""
    idx = torch.from_numpy(cols).to(t.device)
    out = torch.gather(t, 1, idx.unsqueeze(2).expand(-1, -1, t.shape[2]))
    valid = torch.from_numpy(np.arange(cols.shape[1])[None, :] < counts[:, None]).to(t.device)
    return torch.where(valid.unsqueeze(2), out, torch.zeros((), dtype=t.dtype, device=t.device))


def standardise(Xs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per training set: column means, 1/sd (0 for constant columns) and the keep mask."""
    means, inv, masks = [], [], []
    for X in Xs:
        m = X.mean(axis=0)
        sd = X.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
        keep = sd > 0
        means.append(m)
        inv.append(np.where(keep, 1.0 / np.where(keep, sd, 1.0), 0.0))
        masks.append(keep)
    return np.stack(means), np.stack(inv), np.stack(masks)


class NaiveDNN(BatchedContender):
    """Leek's naive deep net, faithful to his h2o call (see the module docstring).

    Parameters beyond the faithful defaults exist for tests and benchmarks: ``max_epochs``,
    ``early_stop`` (False trains every net the full ``max_epochs``), ``compile`` ("auto" compiles
    the training step when the training size and epochs repay it, ``COMPILE_MIN_STEPS``;
    True/False force it). ``compile`` is part of ``fit_spec``: compiled and eager steps agree
    only to rounding, so a forced setting keys its own cached fits.
    """

    name = "naive_dnn"
    source = ("Leek 2017: h2o.deeplearning(activation='Tanh', hidden=rep(160,5), epochs=20), "
              "h2o defaults (CLAIMS.md)")
    _not_in_fit_spec = ("device",)

    def __init__(self, hidden: tuple[int, ...] = (160,) * 5, max_epochs: int = 20,
                 epochs_per_iteration: int = 2, early_stop: bool = True, rho: float = 0.99,
                 epsilon: float = 1e-8, random_state: int | None = None, device: str = "cpu",
                 compile: bool | str = "auto"):
        self.hidden = hidden
        self.max_epochs = max_epochs
        self.epochs_per_iteration = epochs_per_iteration
        self.early_stop = early_stop
        self.rho = rho
        self.epsilon = epsilon
        self.random_state = random_state
        self.device = device
        self.compile = compile

    # -- the label rule --------------------------------------------------------------------
    def label(self, train_scores, y_train, scores):
        t = h2o_max_f1_threshold(train_scores, y_train)
        return (np.asarray(scores) >= t).astype(np.int64)

    # -- batched fitting --------------------------------------------------------------------
    def _use_compile(self, n: int) -> bool:
        """Compile the step? A function of the fit spec and n only (``COMPILE_MIN_STEPS``):
        the same draw is fitted the same way whichever other draws share its call."""
        if self.compile == "auto":  # with early stopping most nets stop after one iteration
            epochs = self.epochs_per_iteration if self.early_stop else self.max_epochs
            return n * epochs >= COMPILE_MIN_STEPS
        return bool(self.compile)

    def _train(self, Xs: list[np.ndarray], ys: list[np.ndarray], seeds: list[int], device):
        """Fit one net per training set, all together. Returns ((stack, means, inv_sd), info)."""
        if len({len(X) for X in Xs}) != 1:
            raise ValueError("a batched fit needs training sets of one size")
        dev = resolve_device(device)
        means, inv, masks = standardise(Xs)
        Z = np.stack([(X - m) * s for X, m, s in zip(Xs, means, inv)]).astype(np.float32)
        gens = [torch.Generator().manual_seed(int(s) % (2**63)) for s in seeds]
        stack = init_tanh_stack(gens, [int(k.sum()) for k in masks], n_inputs=Z.shape[2],
                                hidden=tuple(self.hidden), device=dev)
        # Train on the kept columns only: a dropped column's input is 0, so its first-layer
        # weights never move; leaving them out cuts the optimiser's memory traffic by a quarter.
        cols = kept_columns(masks)
        full_W0 = stack.W[0]
        stack.W[0], stack.eg2[0], stack.edx2[0] = (
            _compact_rows(t, cols, masks.sum(axis=1)) for t in (stack.W[0], stack.eg2[0], stack.edx2[0]))
        Z = np.take_along_axis(Z, cols[:, None, :], axis=2)
        Zt = torch.from_numpy(Z).to(dev)
        yt = torch.from_numpy(np.stack(ys).astype(np.int64)).to(dev)
        n = yt.shape[1]
        info = train_online_stack(
            stack, Zt, yt, rho=self.rho, eps=self.epsilon,
            epochs_per_iteration=self.epochs_per_iteration, max_epochs=self.max_epochs,
            train_error=h2o_training_error if self.early_stop else None,
            chunk=CPU_CHUNK if dev.type == "cpu" else None,
            use_compile=self._use_compile(n))
        info["pixels_kept"] = masks.sum(axis=1)
        idx = torch.from_numpy(cols).to(dev)
        valid = torch.from_numpy(np.arange(cols.shape[1])[None, :] < masks.sum(axis=1)[:, None]).to(dev)
        for name in ("W", "eg2", "edx2"):  # back to the full input width (dropped rows: 0)
            t = getattr(stack, name)[0]
            full = torch.zeros(full_W0.shape, dtype=t.dtype, device=dev)
            src = torch.where(valid.unsqueeze(2), t, torch.zeros((), dtype=t.dtype, device=dev))
            full.scatter_add_(1, idx.unsqueeze(2).expand_as(t), src)
            getattr(stack, name)[0] = full
        return (stack, means, inv), info

    def _proba(self, fitted, X_list, device) -> np.ndarray:
        stack, means, inv = fitted
        Z = np.stack([(X - m) * s for X, m, s in zip(X_list, means, inv)]).astype(np.float32)
        return forward_proba(stack, torch.from_numpy(Z).to(resolve_device(device))).cpu().numpy()

    def _draw_info(self, info, r) -> dict:
        return {"epochs": int(info["epochs"][r]), "train_error_h2o": float(info["train_error"][r]),
                "pixels_kept": int(info["pixels_kept"][r])}

    # -- the fitted net, for inspection ----------------------------------------------------
    stack_ = property(lambda self: self.fitted_[0], doc="the fitted TanhNetStack (one replicate)")
    mean_ = property(lambda self: self.fitted_[1], doc="column means of the training draw")
    inv_sd_ = property(lambda self: self.fitted_[2], doc="1/sd per column (0 where constant)")

    def expected_failed_checks(self) -> dict[str, str]:
        return {}


class NaiveDNNArgmax(NaiveDNN):
    """The same fitted nets as :class:`NaiveDNN`, labelled by argmax (p1 > 0.5) instead of
    h2o's max-F1 threshold. Shares its fit (``fit_spec`` names ``NaiveDNN``)."""

    name = "naive_dnn_argmax"
    source = "the NaiveDNN fits, labelled by argmax (this suite's variant)"

    def label(self, train_scores, y_train, scores):
        return (np.asarray(scores) > 0.5).astype(np.int64)

    def fit_spec(self) -> dict:
        spec = super().fit_spec()
        spec["fit"] = NaiveDNN.__name__
        return spec
