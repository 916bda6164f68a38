"""The training engine of the tuned MLP on the word features (:class:`models.text.TunedMLP`).

One hidden ReLU layer with (inverted) dropout and a 2-unit softmax output, trained with AdamW
on cross-entropy in minibatches, on sparse count features. :func:`train_nets` trains several
configurations (width, dropout) at once as ONE fused net: their hidden units side by side in
one first layer, one output layer per configuration, the sum of their losses minimised. Each
configuration keeps exactly its own gradient, because its parameters enter only its own loss;
and AdamW is element-wise, so the fused net is the configurations trained separately — with
the same initialisation (drawn per configuration from its own generator), the same minibatches
(one order shared by all) and the same dropout masks (per configuration, from its own
generator). ``tests/test_text_models.py`` checks fused = separate to float tolerance.

Sparse input: the first layer is ``F.embedding_bag(mode="sum", per_sample_weights=counts)``
over each word's non-zero columns. Measured on the 2-core CPU (one thread, batch 32, the
3,722 columns, the grid's 640 hidden units, one training step with fused AdamW): embedding_bag
5.1 ms, a dense batch product 5.3 ms, ``torch.sparse.mm`` 7.6 ms (COO) and 8.0 ms (CSR); with
the for-each AdamW instead, embedding_bag and COO sparse.mm each took ~22 ms. The step is bound by
AdamW's pass over the first layer, hence the column restriction below.

Columns absent from the training rows: their first-layer rows never get a gradient, so AdamW's
moments for them stay 0 and its step is only the decoupled weight decay, ``w ← w (1 − lr·wd)``
per step. The engine therefore trains only the columns present in the training rows (at n = 100
a fifth of the 3,722 columns, at n = 931 about two thirds) and gives every absent row its
exact value ``w_init (1 − lr·wd)^steps``, also when scoring validation rows during training.
This is the same net to float tolerance (tested with ``restrict_columns=False``).

Determinism: every random number comes from a ``torch.Generator`` or ``numpy`` Generator
seeded by the caller; nothing touches torch's global RNG or thread settings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

__all__ = ["NetConfig", "NetRecord", "FittedNet", "train_nets", "net_proba", "adamw"]


@dataclass(frozen=True)
class NetConfig:
    """One configuration of the grid: hidden width and dropout probability."""

    width: int
    dropout: float


@dataclass
class NetRecord:
    """What early stopping saw for one configuration (epochs count from 1)."""

    best_epoch: int = 0
    best_loss: float = math.inf
    acc_at_best: float = 0.0
    epochs_run: int = 0
    val_losses: list = field(default_factory=list)


@dataclass
class FittedNet:
    """A trained single configuration, on the full column space (CPU tensors)."""

    config: NetConfig
    W1: torch.Tensor  # (d, width)
    b1: torch.Tensor  # (width,)
    W2: torch.Tensor  # (width, 2)
    b2: torch.Tensor  # (2,)


def adamw(params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """torch's AdamW (betas 0.9/0.999, eps 1e-8); its fused CPU kernel where this torch has
    one (2.4 on; a step here 4.5 ms against 22 ms), otherwise the for-each implementation."""
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - torch < 2.4
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)


class _Rows:
    """CSR rows as the three tensors ``embedding_bag`` takes."""

    def __init__(self, X: sp.csr_matrix, device):
        self.n = X.shape[0]
        self.indptr = X.indptr.astype(np.int64)
        self.indices = torch.as_tensor(X.indices.astype(np.int64), device=device)
        self.values = torch.as_tensor(X.data.astype(np.float32), device=device)
        self.device = device

    def bag(self, lo: int = 0, hi: int | None = None):
        hi = self.n if hi is None else hi
        start, end = int(self.indptr[lo]), int(self.indptr[hi])
        offsets = torch.as_tensor(self.indptr[lo:hi] - start, device=self.device)
        return self.indices[start:end], offsets, self.values[start:end]


def _uniform(shape, bound: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * bound


def _init(config: NetConfig, d: int, gen: torch.Generator):
    """nn.Linear's default initialisation, U(±1/sqrt(fan_in)) for weights and biases."""
    b_in, b_out = 1 / math.sqrt(d), 1 / math.sqrt(config.width)
    return (_uniform((d, config.width), b_in, gen), _uniform((config.width,), b_in, gen),
            _uniform((config.width, 2), b_out, gen), _uniform((2,), b_out, gen))


def train_nets(X: sp.csr_matrix, y: np.ndarray, configs: list[NetConfig], *,
               init_seeds: list[int], order_seed: int, epochs: int, lr: float,
               weight_decay: float, batch_size: int, X_val: sp.csr_matrix | None = None,
               y_val: np.ndarray | None = None, patience: int | None = None,
               restrict_columns: bool = True, device="cpu"):
    """Train ``configs`` as one fused net on (X, y) for ``epochs`` epochs, or — with a
    validation set and ``patience`` — until every configuration has gone ``patience`` epochs
    without a lower validation loss. Returns ([FittedNet], [NetRecord]) per configuration
    (a FittedNet holds the weights after the last epoch trained)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    y_t = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    n, d = X.shape
    gens = [torch.Generator().manual_seed(int(s)) for s in init_seeds]
    inits = [_init(c, d, g) for c, g in zip(configs, gens)]
    W1_full = torch.cat([i[0] for i in inits], dim=1)
    present = np.unique(X.indices) if restrict_columns else np.arange(d)
    absent = np.setdiff1d(np.arange(d), present)
    remap = np.full(d, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    X = sp.csr_matrix((X.data, remap[X.indices], X.indptr), shape=(n, len(present)))
    W1 = W1_full[torch.as_tensor(present)].to(device).requires_grad_()
    b1 = torch.cat([i[1] for i in inits]).to(device).requires_grad_()
    W2 = [i[2].to(device).requires_grad_() for i in inits]
    b2 = [i[3].to(device).requires_grad_() for i in inits]
    opt = adamw([W1, b1, *W2, *b2], lr, weight_decay)
    decay = 1.0 - lr * weight_decay
    blocks = np.cumsum([0] + [c.width for c in configs])

    def logits(h):
        return [h[:, blocks[k]:blocks[k + 1]] @ W2[k] + b2[k] for k in range(len(configs))]

    validating = X_val is not None
    if validating:
        X_val = sp.csr_matrix(X_val, dtype=np.float32)
        y_val_t = torch.as_tensor(np.asarray(y_val, dtype=np.int64), device=device)
        keep = remap[X_val.indices] >= 0
        seen = sp.csr_matrix((X_val.data * keep, np.where(keep, remap[X_val.indices], 0),
                              X_val.indptr), shape=(X_val.shape[0], len(present)))
        val_rows = _Rows(seen, device)
        # the absent columns' share of the hidden units, before their weight decay
        unseen = X_val[:, absent]
        val_absent = torch.as_tensor(unseen @ W1_full[torch.as_tensor(absent)].numpy(),
                                     device=device) if len(absent) else 0.0
    records = [NetRecord() for _ in configs]
    active = [True] * len(configs)
    order = np.random.default_rng(order_seed)
    steps = 0
    for epoch in range(1, epochs + 1):
        perm = order.permutation(n)
        rows = _Rows(X[perm], device)
        y_perm = y_t[torch.as_tensor(perm, device=device)]
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            idx, off, val = rows.bag(lo, hi)
            h = torch.relu(F.embedding_bag(idx, W1, off, mode="sum", per_sample_weights=val)
                           + b1)
            parts = []
            for k, c in enumerate(configs):
                part = h[:, blocks[k]:blocks[k + 1]]
                if c.dropout > 0:
                    mask = torch.rand(part.shape, generator=gens[k]) >= c.dropout
                    part = part * mask.to(device) / (1.0 - c.dropout)
                parts.append(part)
            loss = sum(F.cross_entropy(p @ W2[k] + b2[k], y_perm[lo:hi])
                       for k, p in enumerate(parts))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
        if not validating:
            continue
        with torch.no_grad():
            idx, off, val = val_rows.bag()
            h = F.embedding_bag(idx, W1, off, mode="sum", per_sample_weights=val)
            h = torch.relu(h + val_absent * decay ** steps + b1)
            for k, z in enumerate(logits(h)):
                if not active[k]:
                    continue
                r = records[k]
                vloss = float(F.cross_entropy(z, y_val_t))
                if not math.isfinite(vloss):
                    raise FloatingPointError(
                        f"MLP configuration {configs[k]}: the validation loss is {vloss} after "
                        f"epoch {epoch}; check the features for huge values or lower lr")
                r.val_losses.append(vloss)
                r.epochs_run = epoch
                if vloss < r.best_loss:
                    r.best_loss, r.best_epoch = vloss, epoch
                    r.acc_at_best = float((z.argmax(1) == y_val_t).float().mean())
                elif epoch - r.best_epoch >= patience:
                    active[k] = False
        if not any(active):
            break
    if not validating:
        for r in records:
            r.epochs_run = epochs
    nets = []
    with torch.no_grad():
        W1_out = W1_full * decay ** steps
        W1_out[torch.as_tensor(present)] = W1.detach().cpu()
        for k, c in enumerate(configs):
            nets.append(FittedNet(c, W1_out[:, blocks[k]:blocks[k + 1]].clone(),
                                  b1.detach().cpu()[blocks[k]:blocks[k + 1]].clone(),
                                  W2[k].detach().cpu().clone(), b2[k].detach().cpu().clone()))
    return nets, records


def net_proba(net: FittedNet, X: sp.csr_matrix) -> np.ndarray:
    """p(class 1) of every row of X (no dropout), float64."""
    rows = _Rows(sp.csr_matrix(X, dtype=np.float32), "cpu")
    with torch.no_grad():
        idx, off, val = rows.bag()
        h = torch.relu(F.embedding_bag(idx, net.W1, off, mode="sum", per_sample_weights=val)
                       + net.b1)
        z = (h @ net.W2 + net.b2).double()
    return torch.softmax(z, dim=1)[:, 1].numpy()
