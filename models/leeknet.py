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

Reddit's critiques each change one thing in that call; the same engine learns them, each as h2o
resolves it (h2o-3 ``hex.deeplearning``: ``DeepLearningModelInfo``, ``Neurons``, ``Dropout``;
h2o's documentation, "Deep Learning (Neural Networks)", parameters ``activation``,
``hidden``, ``input_dropout_ratio`` and ``hidden_dropout_ratios``):

* ``activation="Rectifier"``: max(0, x) hidden units; h2o starts their biases at 0.5 in the
  first hidden layer and 1 in the others (tanh biases start at 0);
* ``"TanhWithDropout"`` / ``"RectifierWithDropout"``: for every training row h2o draws fresh
  masks; a hidden unit is dropped with its layer's ratio (``hidden_dropout_ratios``, 0.5 per
  layer when not given, h2o's default) by setting its pre-activation, bias included, to 0, and
  an input value with ``input_dropout_ratio`` by setting it to 0. Kept units are not rescaled
  in training; when scoring, no unit is dropped and each hidden layer's activations are
  multiplied by 1 − its ratio (inputs are not rescaled). Backpropagation uses h2o's derivative
  of the unit's output, so a dropped tanh unit still passes error back (``evidence.engine``);
* ``hidden``: any list of layer widths, e.g. ``(32,)``;
* ``augment=2``: the draw plus four copies of each image shifted by 2 pixels up, down, left and
  right with zero fill, 5n rows in the order image i, then its four shifts (h2o does not
  shuffle, so the order is part of the recipe). h2o sees those 5n rows as its training frame:
  they are standardised together, a column constant over all of them is dropped, the
  stop-at-zero-training-error test and the max-F1 threshold of h2o's label rule are computed
  on them (the threshold is kept with the fit, ``info["h2o_threshold"]``). The training
  accuracy the suite reports is on the n original images; the test set is unchanged.

Everything else stays Leek's call, including the 2-epoch iterations and the stopping test on
h2o's max-F1 rule (not 0.5): measured with h2o 3.46, a net that ranks its training rows perfectly
stops after its first iteration even when all its probabilities sit on one side of 0.5.

A contender's ``name`` says what it changes in Leek's call (``naive_dnn_relu``,
``naive_dnn_dropout_in20``, ``naive_dnn_h32``, ``naive_dnn_aug``...; see
:meth:`NaiveDNN._name_stem`). Every setting of one draw shares the draw's seed, so two settings
compared on a draw start from the same random stream (common random numbers in the paired
design: a Rectifier net starts from the same uniform weights as the tanh net).

Two engines do the same arithmetic (to rounding): the torch step of :mod:`evidence.engine`, for
Leek's own net and on a GPU, and the C kernel of :mod:`evidence.h2okernel`, for Reddit's wide
nets on the CPU (``NaiveDNN(engine=...)``).

Not reproduced: h2o's Hogwild multi-threading (not reproducible by design), its fast
approximate square root and its random number generator (masks come from each draw's own
``torch.Generator``). :class:`NaiveDNNArgmax` labels the same fitted nets by argmax; it is a
separate, named contender that reuses the fit.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from evidence import h2okernel
from evidence.engine import (Dropout, forward_proba, init_stack, resolve_device,
                             train_online_stack)
from models.base import CHECKS_ON_FEW_COLUMNS, BatchedContender

__all__ = ["NaiveDNN", "NaiveDNNArgmax", "h2o_max_f1_threshold", "h2o_training_error",
           "shifted_copies", "ACTIVATIONS", "REDDIT_CHANGES"]

#: Reddit's five critiques of Leek's call, each one change (CLAIMS.md, "Reddit's critiques"),
#: keyed by h2o's variant names there: ``NaiveDNN(**REDDIT_CHANGES["relu"])``
REDDIT_CHANGES: dict[str, dict] = {
    "augment": dict(augment=2),
    "dropout": dict(activation="TanhWithDropout", input_dropout_ratio=0.2),
    "relu": dict(activation="Rectifier"),
    "small": dict(hidden=(32,)),
    "modern": dict(activation="RectifierWithDropout", input_dropout_ratio=0.2, augment=2),
}

#: h2o's activation names this engine reproduces -> (engine activation, with dropout)
ACTIVATIONS = {"Tanh": ("tanh", False), "TanhWithDropout": ("tanh", True),
               "Rectifier": ("relu", False), "RectifierWithDropout": ("relu", True)}
_NAME_TAGS = {"Tanh": "", "TanhWithDropout": "_dropout", "Rectifier": "_relu",
              "RectifierWithDropout": "_relu_dropout"}

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
#: Layer width from which a net with one of Reddit's settings (rectifier, dropout,
#: augmentation) is a "wide Reddit net": such a net runs over whole grids (Σn = 210 rows at the
#: small scale, ×5 with augmentation, often several iterations), so its training must be as
#: fast as it can be. On the CPU it trains on the C kernel (``engine="auto"``,
#: :mod:`evidence.h2okernel`; measured 5.8 times as fast as the compiled step on the modern
#: recipe's costliest cell, 3.6 with augmentation alone). With the torch engine (a GPU, or
#: ``engine="torch"``) it compiles its step at every n: measured on the 2-core CPU for the
#: 5×160 net (4 replicates, n = 50), eager 12.8 ms per step, compiled 1.6 ms (tanh) and 10.2
#: against 2.0 ms (rectifier with dropout); all these settings then share one compiled graph
#: (their settings passed as tensors, ``train_online_stack(one_graph=True)``; about 21 s to
#: compile on a cold inductor cache) with their columns kept at the full input width, so that
#: one graph serves every draw and cell of a run. Leek's own net and the 32-unit net keep the
#: torch engine and the per-cell rule above, so their recorded fits are unchanged.
WIDE = 100
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


def shifted_copies(X: np.ndarray, y: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Each square image of ``X`` (n, side²) followed by four copies of it shifted by ``shift``
    pixels up, down, left and right, zero-filled: 5n rows in the order image i, up, down, left,
    right (``y`` repeated likewise)."""
    n, d = X.shape
    side = int(round(np.sqrt(d)))
    if side * side != d or not 0 < shift < side:
        raise ValueError(f"augment={shift} shifts square images by {shift} pixels: X has {d} "
                         "columns, not a square image (MNIST: 784 = 28 x 28) with room for "
                         "that shift; use augment=0 for other data")
    img = X.reshape(n, side, side)
    out = np.zeros((n, 5, side, side), dtype=X.dtype)
    out[:, 0] = img
    out[:, 1, :-shift] = img[:, shift:]   # up: row r shows row r + shift
    out[:, 2, shift:] = img[:, :-shift]   # down
    out[:, 3, :, :-shift] = img[:, :, shift:]  # left
    out[:, 4, :, shift:] = img[:, :, :-shift]  # right
    return out.reshape(5 * n, d), np.repeat(np.asarray(y), 5)


class NaiveDNN(BatchedContender):
    """Leek's naive deep net, faithful to his h2o call (see the module docstring).

    Parameters beyond the faithful defaults exist for tests and benchmarks: ``max_epochs``,
    ``early_stop`` (False trains every net the full ``max_epochs``), ``compile`` ("auto" compiles
    the training step when the training size and epochs repay it, ``COMPILE_MIN_STEPS``;
    True/False force it), ``engine`` ("auto": the C kernel for a wide Reddit net on the CPU,
    else the torch step, ``WIDE``; "c" or "torch" force one). ``compile`` and ``engine`` are
    part of ``fit_spec``: the engines, and compiled and eager steps, agree only to rounding, so
    a forced setting keys its own cached fits.
    """

    source = ("Leek 2017: h2o.deeplearning(activation='Tanh', hidden=rep(160,5), epochs=20), "
              "h2o defaults (CLAIMS.md)")
    _not_in_fit_spec = ("device",)

    def __init__(self, hidden: tuple[int, ...] = (160,) * 5, activation: str = "Tanh",
                 input_dropout_ratio: float = 0.0,
                 hidden_dropout_ratios: tuple[float, ...] | None = None, augment: int = 0,
                 max_epochs: int = 20, epochs_per_iteration: int = 2, early_stop: bool = True,
                 rho: float = 0.99, epsilon: float = 1e-8, random_state: int | None = None,
                 device: str = "cpu", compile: bool | str = "auto", engine: str = "auto"):
        self.hidden = hidden
        self.activation = activation
        self.input_dropout_ratio = input_dropout_ratio
        self.hidden_dropout_ratios = hidden_dropout_ratios
        self.augment = augment
        self.max_epochs = max_epochs
        self.epochs_per_iteration = epochs_per_iteration
        self.early_stop = early_stop
        self.rho = rho
        self.epsilon = epsilon
        self.random_state = random_state
        self.device = device
        self.compile = compile
        self.engine = engine

    #: the settings Reddit changed, said by the name's tags (the others, as for any
    #: contender, in brackets: ``naive_dnn_relu(epochs=20.0)``)
    _named_by_stem = ("activation", "input_dropout_ratio", "hidden_dropout_ratios", "hidden",
                      "augment")

    def _name_stem(self) -> str:
        """``naive_dnn`` plus a tag per change to Leek's call, in h2o's terms: the activation
        (``_relu``, ``_dropout``, ``_relu_dropout``), input dropout (``_in20`` for 0.2), hidden
        dropout ratios other than 0.5 (``_hd30`` for 0.3 in every layer, else each layer's),
        the hidden layers (``_h32``, ``_h64x64``) and augmentation (``_aug`` for 2-pixel
        shifts, ``_aug3`` for 3)."""
        tag = "naive_dnn" + _NAME_TAGS.get(self.activation, f"_{self.activation}")
        pct = lambda r: f"{round(100 * float(r)):d}"  # noqa: E731
        if self.input_dropout_ratio:
            tag += f"_in{pct(self.input_dropout_ratio)}"
        ratios = self.hidden_dropout_ratios
        if ratios is not None and any(float(r) != 0.5 for r in ratios):
            tag += "_hd" + ("x".join(pct(r) for r in ratios) if len(set(ratios)) > 1
                            else pct(ratios[0]))
        if tuple(self.hidden) != (160,) * 5:
            tag += "_h" + "x".join(str(int(h)) for h in self.hidden)
        if self.augment:
            tag += "_aug" + ("" if self.augment == 2 else str(int(self.augment)))
        return tag

    def _settings(self) -> tuple[str, float, tuple[float, ...]]:
        """(engine activation, input dropout ratio, hidden dropout ratios), checked as h2o
        checks them (DeepLearningModel.DeepLearningParameters.validate)."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r}: this engine reproduces h2o's "
                             f"{', '.join(ACTIVATIONS)}")
        act, with_dropout = ACTIVATIONS[self.activation]
        hidden = tuple(self.hidden)
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden={self.hidden!r}: give one or more layer widths ≥ 1")
        ratios = self.hidden_dropout_ratios
        if ratios is None:
            ratios = (0.5,) * len(hidden) if with_dropout else ()
        elif not with_dropout:
            raise ValueError(f"hidden_dropout_ratios={ratios!r} needs a dropout activation "
                             "('TanhWithDropout' or 'RectifierWithDropout'), as in h2o")
        elif len(ratios) != len(hidden):
            raise ValueError(f"hidden_dropout_ratios={ratios!r}: give one ratio per hidden "
                             f"layer ({len(hidden)})")
        ratios = tuple(float(r) for r in ratios)
        if any(not 0 <= r < 1 for r in (*ratios, float(self.input_dropout_ratio))):
            raise ValueError("dropout ratios must be in [0, 1), as in h2o")
        if int(self.augment) != self.augment or self.augment < 0:
            raise ValueError(f"augment={self.augment!r}: a shift in whole pixels (0: none)")
        return act, float(self.input_dropout_ratio), ratios

    # -- the label rule --------------------------------------------------------------------
    def label(self, train_scores, y_train, scores):
        t = h2o_max_f1_threshold(train_scores, y_train)
        return (np.asarray(scores) >= t).astype(np.int64)

    def label_with(self, train_scores, y_train, scores, info):
        """h2o's rule at the threshold of h2o's training frame (kept with the fit; with
        augmentation that frame is the 5n rows, not the n images scored here)."""
        t = (info or {}).get("h2o_threshold")
        if t is None:
            return self.label(train_scores, y_train, scores)
        return (np.asarray(scores) >= t).astype(np.int64)

    # -- batched fitting --------------------------------------------------------------------
    def _reddit_setting(self) -> bool:
        """A change Reddit proposed (rectifier, dropout or augmentation) on a wide net."""
        changed = self.activation != "Tanh" or self.input_dropout_ratio or self.augment
        return bool(changed) and min(int(h) for h in self.hidden) >= WIDE

    def _use_compile(self, n: int) -> bool:
        """Compile the step? A function of the fit spec and n only (``COMPILE_MIN_STEPS``):
        the same draw is fitted the same way whichever other draws share its call. A wide net
        with one of Reddit's settings always compiles (``WIDE``)."""
        if self.compile == "auto":  # with early stopping most nets stop after one iteration
            if self._reddit_setting():
                return True
            epochs = self.epochs_per_iteration if self.early_stop else self.max_epochs
            return n * epochs >= COMPILE_MIN_STEPS
        return bool(self.compile)

    def _engine(self, dev: torch.device) -> str:
        """Which engine trains: ``"c"`` (:mod:`evidence.h2okernel`) or ``"torch"``
        (:func:`evidence.engine.h2o_adadelta_step`). ``"auto"`` takes the C kernel on the CPU
        for a wide net with one of Reddit's settings (``WIDE``) and torch otherwise,
        so Leek's own net keeps its recorded fits; the device's type is part of every cache
        key, so the choice follows from the key. Where the kernel cannot be built (no C
        compiler), ``"auto"`` warns and takes the torch step, as a failed ``torch.compile``
        falls back to eager mode: the same arithmetic to rounding, under the same key."""
        if self.engine not in ("auto", "c", "torch"):
            raise ValueError(f"engine={self.engine!r}: use 'auto', 'c' or 'torch'")
        if self.engine != "auto":
            return self.engine
        if dev.type != "cpu" or not self._reddit_setting():
            return "torch"
        try:
            h2okernel.library()
        except h2okernel.KernelUnavailable as exc:
            warnings.warn(f"{exc}; Reddit's nets train with the torch step instead (slower)",
                          stacklevel=2)
            return "torch"
        return "c"

    def _train(self, Xs: list[np.ndarray], ys: list[np.ndarray], seeds: list[int], device):
        """Fit one net per training set, all together. Returns ((stack, means, inv_sd), info)."""
        if len({len(X) for X in Xs}) != 1:
            raise ValueError("a batched fit needs training sets of one size")
        act, input_ratio, hidden_ratios = self._settings()
        hidden = tuple(int(h) for h in self.hidden)
        dev = resolve_device(device)
        engine = self._engine(dev)
        if self.augment:  # h2o's training frame: each image, then its four shifts
            Xs, ys = map(list, zip(*(shifted_copies(X, y, int(self.augment)) for X, y in zip(Xs, ys))))
        means, inv, masks = standardise(Xs)
        Z = np.stack([(X - m) * s for X, m, s in zip(Xs, means, inv)]).astype(np.float32)
        gens = [torch.Generator().manual_seed(int(s) % (2**63)) for s in seeds]
        stack = init_stack(gens, [int(k.sum()) for k in masks], n_inputs=Z.shape[2],
                           hidden=hidden, activation=act, device=dev)
        stack.score_scale = tuple(1.0 - r for r in hidden_ratios)
        # Train on the kept columns only: a dropped column's input is 0, so its first-layer
        # weights never move; leaving them out cuts the optimiser's memory traffic by a quarter.
        shared_graph = engine == "torch" and self._reddit_setting()
        cols = kept_columns(masks, multiple=Z.shape[2] if shared_graph else 64)
        full_W0 = stack.W[0]
        stack.W[0], stack.eg2[0], stack.edx2[0] = (
            _compact_rows(t, cols, masks.sum(axis=1)) for t in (stack.W[0], stack.eg2[0], stack.edx2[0]))
        Zk = np.take_along_axis(Z, cols[:, None, :], axis=2)
        Zt = torch.from_numpy(Zk).to(dev)
        yt = torch.from_numpy(np.stack(ys).astype(np.int64)).to(dev)
        n = yt.shape[1]
        dropout = None
        if input_ratio or hidden_ratios:
            dropout = Dropout(gens, Z.shape[2], torch.from_numpy(cols), input_ratio, hidden_ratios)
        info = train_online_stack(
            stack, Zt, yt, rho=self.rho, eps=self.epsilon,
            epochs_per_iteration=self.epochs_per_iteration, max_epochs=self.max_epochs,
            train_error=h2o_training_error if self.early_stop else None,
            chunk=CPU_CHUNK if dev.type == "cpu" else None,
            use_compile=engine == "torch" and self._use_compile(n), dropout=dropout,
            fast=act == "relu" or dropout is not None, one_graph=shared_graph, engine=engine)
        info["pixels_kept"] = masks.sum(axis=1)
        idx = torch.from_numpy(cols).to(dev)
        valid = torch.from_numpy(np.arange(cols.shape[1])[None, :] < masks.sum(axis=1)[:, None]).to(dev)
        for name in ("W", "eg2", "edx2"):  # back to the full input width (dropped rows: 0)
            t = getattr(stack, name)[0]
            full = torch.zeros(full_W0.shape, dtype=t.dtype, device=dev)
            src = torch.where(valid.unsqueeze(2), t, torch.zeros((), dtype=t.dtype, device=dev))
            full.scatter_add_(1, idx.unsqueeze(2).expand_as(t), src)
            getattr(stack, name)[0] = full
        # h2o's label threshold, from its training frame scored as the engine scores any rows
        p_frame = self._proba((stack, means, inv), Xs, device)
        info["h2o_threshold"] = np.array([h2o_max_f1_threshold(p, y) for p, y in zip(p_frame, ys)])
        info["train_rows"] = np.full(len(Xs), n)
        return (stack, means, inv), info

    def _proba(self, fitted, X_list, device) -> np.ndarray:
        stack, means, inv = fitted
        Z = np.stack([(X - m) * s for X, m, s in zip(X_list, means, inv)]).astype(np.float32)
        return forward_proba(stack, torch.from_numpy(Z).to(resolve_device(device))).cpu().numpy()

    def _draw_info(self, info, r) -> dict:
        return {"epochs": int(info["epochs"][r]), "train_error_h2o": float(info["train_error"][r]),
                "pixels_kept": int(info["pixels_kept"][r]),
                "h2o_threshold": float(info["h2o_threshold"][r]),
                "train_rows": int(info["train_rows"][r])}

    # -- the fitted net, for inspection ----------------------------------------------------
    stack_ = property(lambda self: self.fitted_[0], doc="the fitted NetStack (one replicate)")
    mean_ = property(lambda self: self.fitted_[1], doc="column means of the training draw")
    inv_sd_ = property(lambda self: self.fitted_[2], doc="1/sd per column (0 where constant)")

    def expected_failed_checks(self) -> dict[str, str]:
        if self.augment:
            return {c: "augmentation shifts 28x28 images; the check fits a few columns"
                    for c in CHECKS_ON_FEW_COLUMNS}
        return {}


class NaiveDNNArgmax(NaiveDNN):
    """The same fitted nets as :class:`NaiveDNN`, labelled by argmax (p1 > 0.5) instead of
    h2o's max-F1 threshold. Shares its fit (``fit_spec`` names ``NaiveDNN``)."""

    source = "the NaiveDNN fits, labelled by argmax (this suite's variant)"

    def _name_stem(self) -> str:
        return super()._name_stem() + "_argmax"

    def label(self, train_scores, y_train, scores):
        return (np.asarray(scores) > 0.5).astype(np.int64)

    def label_with(self, train_scores, y_train, scores, info):
        return self.label(train_scores, y_train, scores)

    def fit_spec(self) -> dict:
        spec = super().fit_spec()
        spec["fit"] = NaiveDNN.__name__
        return spec
