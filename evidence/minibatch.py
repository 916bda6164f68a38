"""Batched Keras-style training: many small nets, one per draw, trained together.

Beam's contenders (``models/beam.py``) are Keras models trained with ``model.fit``: raw pixels,
mini-batches in an order reshuffled every epoch, cross-entropy averaged over the batch, Adam or
SGD. Here the R draws of one (contender, n) cell train as one *stack*: every parameter carries
a leading replicate axis, dense layers are batched matmuls and convolutions are grouped
convolutions (one group per replicate), so one step updates every replicate at once.

Replicate ``r`` follows the trajectory it would follow alone (``tests/test_minibatch.py``):

* its initialisation, its per-epoch row order and its dropout masks come from its own
  generators, drawn in the same order whether it is trained alone or in a stack;
* the loss of the stack is the sum over replicates of each replicate's batch-mean loss, and no
  parameter is shared, so each replicate's gradient is its own;
* the optimisers (:func:`keras_adam`, :func:`keras_sgd`) are element-wise.

All replicates of a cell have the same n, so their batches have the same sizes (Keras's last
batch of an epoch is the remainder) and the steps run in lock-step.

Where the time goes: the CNN is compute-bound (about 59 MFLOP per image per step, forward and
backward); convolutions run in ``channels_last`` layout, which measured fastest for grouped
convolutions on the 2-core CPU. The dense nets at batch 1 are bound by per-step overhead: a
stack amortises it over the replicates.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "Layer",
    "dense",
    "conv",
    "pool",
    "dropout",
    "flatten",
    "NetStack",
    "init_stack",
    "forward",
    "parameter_count",
    "keras_adam",
    "keras_sgd",
    "train_minibatch",
    "predict_proba",
]


@dataclass(frozen=True)
class Layer:
    """One layer of a stacked net: ``kind`` is dense, conv, pool, dropout or flatten."""

    kind: str
    units: int = 0              # dense: output units; conv: output channels
    activation: str = "linear"  # relu, tanh or linear (the last dense layer is the logits)
    rate: float = 0.0           # dropout rate


def dense(units: int, activation: str = "linear") -> Layer:
    return Layer("dense", units, activation)


def conv(channels: int, activation: str = "relu") -> Layer:
    """A 3×3 convolution, stride 1, no padding (Keras ``Conv2D(c, (3, 3))``)."""
    return Layer("conv", channels, activation)


def pool() -> Layer:
    """2×2 max pooling (Keras ``MaxPooling2D(pool_size=(2, 2))``)."""
    return Layer("pool")


def dropout(rate: float) -> Layer:
    return Layer("dropout", rate=rate)


def flatten() -> Layer:
    return Layer("flatten")


_ACT = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda h: h}


@dataclass
class NetStack:
    """The parameters of R nets of one architecture: ``params`` alternates weight and bias of
    every dense/conv layer, each with a leading replicate axis. Dense weights are
    (R, fan_in, units); conv weights (R, out, in, 3, 3)."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]   # (d,) for dense nets, (1, 28, 28) for the CNN
    params: list[torch.Tensor]

    @property
    def replicates(self) -> int:
        return self.params[0].shape[0]


def _walk(layers: Sequence[Layer], input_shape: tuple[int, ...]):
    """(layer, shape of its input per image) for every layer, checking the architecture."""
    shape = tuple(input_shape)
    for layer in layers:
        yield layer, shape
        if layer.kind == "dense":
            if len(shape) != 1:
                raise ValueError("a dense layer needs a flat input: add flatten() before it")
            shape = (layer.units,)
        elif layer.kind == "conv":
            shape = (layer.units, shape[1] - 2, shape[2] - 2)
        elif layer.kind == "pool":
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        elif layer.kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif layer.kind != "dropout":
            raise ValueError(f"unknown layer kind {layer.kind!r}")


def _shapes(layers: Sequence[Layer], input_shape: tuple[int, ...]):
    """Weight and bias shapes of every dense and conv layer."""
    return [(((shape[0], layer.units) if layer.kind == "dense" else (layer.units, shape[0], 3, 3)),
             (layer.units,))
            for layer, shape in _walk(layers, input_shape) if layer.kind in ("dense", "conv")]


def parameter_count(layers: Sequence[Layer], input_shape: tuple[int, ...]) -> int:
    """Trainable parameters of one net (what Keras's ``model.summary()`` reports)."""
    return sum(int(np.prod(w)) + int(np.prod(b)) for w, b in _shapes(layers, input_shape))


def init_stack(layers: Sequence[Layer], input_shape: tuple[int, ...],
               generators: Sequence[torch.Generator], *,
               fan_in0: Sequence[int] | None = None,
               device: torch.device | str = "cpu") -> NetStack:
    """Keras's defaults: Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out)), with the
    3×3 receptive field counted in both fans for convolutions), zero biases. Drawn on the CPU
    from each replicate's own generator, layer by layer, so a replicate gets the same weights
    alone or in a stack. ``fan_in0`` replaces the first layer's fan-in per replicate (the
    number of input columns actually used, where constant columns are dropped)."""
    params: list[torch.Tensor] = []
    for layer_no, (wshape, bshape) in enumerate(_shapes(layers, input_shape)):
        receptive = int(np.prod(wshape[2:]))  # 9 for a 3×3 convolution, 1 for a dense layer
        fan_in, fan_out = ((wshape[1] * receptive, wshape[0] * receptive) if len(wshape) == 4
                           else wshape)
        mats = []
        for r, g in enumerate(generators):
            fi = fan_in0[r] if (fan_in0 is not None and layer_no == 0) else fan_in
            limit = math.sqrt(6.0 / (fi + fan_out))
            mats.append((torch.rand(wshape, generator=g, dtype=torch.float32) * 2 - 1) * limit)
        params.append(torch.stack(mats).to(device))
        params.append(torch.zeros(len(generators), *bshape, device=device))
    return NetStack(tuple(layers), tuple(input_shape), params)


def forward(stack: NetStack, x: torch.Tensor, params: Sequence[torch.Tensor] | None = None,
            masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    """Logits (R, B, classes) for inputs ``x`` (R, B, *input_shape).

    ``masks`` holds one tensor per dropout layer, (R, B, width) of kept-and-rescaled factors
    (0 or 1/(1 − rate)); without masks dropout is the identity (inference)."""
    params = stack.params if params is None else params
    R, B = x.shape[:2]
    h = x
    p = 0
    m = 0
    spatial = len(stack.input_shape) == 3
    if spatial:  # (R, B, C, H, W) → (B, R·C, H, W): replicate r owns channel group r
        c, hh, ww = stack.input_shape
        h = x.transpose(0, 1).reshape(B, R * c, hh, ww).contiguous(memory_format=torch.channels_last)
    for layer in stack.layers:
        if layer.kind == "conv":
            W, b = params[p], params[p + 1]
            p += 2
            h = F.conv2d(h, W.reshape(-1, *W.shape[2:]).contiguous(memory_format=torch.channels_last),
                         b.reshape(-1), groups=R)
            h = _ACT[layer.activation](h)
        elif layer.kind == "pool":
            h = F.max_pool2d(h, 2)
        elif layer.kind == "flatten":
            if h.dim() == 4:  # (B, R·C, H, W) → (R, B, C·H·W)
                h = h.contiguous().reshape(B, R, -1).transpose(0, 1)
            else:
                h = h.reshape(R, B, -1)
        elif layer.kind == "dropout":
            if masks is not None:
                mask = masks[m]
                if h.dim() == 4:
                    mask = mask.transpose(0, 1).reshape(h.shape)
                h = h * mask
            m += 1
        elif layer.kind == "dense":
            W, b = params[p], params[p + 1]
            p += 2
            h = _ACT[layer.activation](torch.baddbmm(b.unsqueeze(1), h, W))
    return h


def _dropout_widths(stack: NetStack) -> list[tuple[float, tuple[int, ...]]]:
    """(rate, per-image shape) of every dropout layer."""
    return [(layer.rate, shape) for layer, shape in _walk(stack.layers, stack.input_shape)
            if layer.kind == "dropout"]


# ------------------------------------------------------------------------------- optimisers
def keras_adam(lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """Adam as Keras writes it: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
    w ← w − lr·sqrt(1−β2ᵗ)/(1−β1ᵗ) · m/(sqrt(v) + ε). (torch's Adam adds ε to the
    bias-corrected sqrt(v) instead; with ε = 1e-8 the two differ only for tiny gradients.)
    Element-wise, so replicates stay independent. Returns ``step(params, grads, t)``."""
    state: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    @torch.no_grad()
    def step(params: list[torch.Tensor], grads: list[torch.Tensor], t: int) -> None:
        alpha = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        for i, (p, g) in enumerate(zip(params, grads)):
            if i not in state:
                state[i] = (torch.zeros_like(p), torch.zeros_like(p))
            m, v = state[i]
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.sub_(alpha * m / (v.sqrt() + eps))

    return step


def keras_sgd(lr: float, decay: float = 0.0):
    """Keras 2 SGD without momentum: w ← w − lr/(1 + decay·t')·g, where t' counts the updates
    made before this one (``decay`` is Keras's per-update time-based decay)."""

    @torch.no_grad()
    def step(params: list[torch.Tensor], grads: list[torch.Tensor], t: int) -> None:
        rate = lr / (1.0 + decay * (t - 1))
        for p, g in zip(params, grads):
            p.sub_(rate * g)

    return step


# ------------------------------------------------------------------------------- training
@contextlib.contextmanager
def one_cpu_thread(device: torch.device):
    """Run the block with one intra-op thread when ``device`` is the CPU (and restore the
    count after): torch splits a product's sums by the thread count, so the same net trained
    with two threads and with one comes out otherwise. Used where the numbers must not depend
    on the process's thread count (``dense_threads``; ``evidence.pretrain``)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def dense_threads(stack: NetStack, device: torch.device):
    """On the CPU, run a stack without convolutions with one intra-op thread. With two, the
    batched matmuls split their work by the number of stacked replicates, so a replicate's
    numbers depended on how many others were stacked with it (measured on the 2-core machine,
    2026-12-01: Beam's Leek nets trained alone and in a stack of four ended up to 0.12 apart in
    one test image's p(class 1)); with one thread they are bit-identical, and these small
    products ran faster (the three Leek-net stack tests: 9 s against 34 s). Convolutional
    stacks keep every thread: they are compute-bound, and a cell's draws are stacked in fixed
    pairs."""
    if any(layer.kind == "conv" for layer in stack.layers):
        return contextlib.nullcontext()
    return one_cpu_thread(device)


def train_minibatch(
    stack: NetStack,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int | None,
    optimiser: Callable,
    seeds: Sequence[int],
    shuffle: bool = True,
    stop_loss: float | None = None,
    check_every: int = 1,
) -> dict:
    """Train every replicate of ``stack`` in place, Keras ``model.fit`` style.

    ``X`` (R, n, *input_shape), ``y`` (R, n) 0/1 labels. Each epoch, replicate r visits its rows
    in a fresh order from ``numpy.random.default_rng(seeds[r])`` (``shuffle``), in batches of
    ``batch_size`` (None: the full batch) with the remainder last; dropout masks come from a
    ``torch.Generator`` seeded from the same seed. ``stop_loss``: stop a replicate once its
    training loss, computed on the whole draw every ``check_every`` epochs without dropout, is
    below it (its parameters then stay frozen). Returns ``epochs`` (R,) trained and ``loss``
    (R,) the last full-draw training loss.
    """
    with dense_threads(stack, X.device):
        return _train_minibatch(stack, X, y, epochs=epochs, batch_size=batch_size,
                                optimiser=optimiser, seeds=seeds, shuffle=shuffle,
                                stop_loss=stop_loss, check_every=check_every)


def _train_minibatch(stack, X, y, *, epochs, batch_size, optimiser, seeds, shuffle, stop_loss,
                     check_every) -> dict:
    R, n = y.shape
    device = X.device
    bs = n if batch_size is None else min(batch_size, n)
    order_rngs = [np.random.default_rng(int(s) % 2**63) for s in seeds]
    mask_gens = [torch.Generator().manual_seed((int(s) + 1) % 2**63) for s in seeds]
    drops = _dropout_widths(stack)
    params = [p.requires_grad_(True) for p in stack.params]
    active = torch.ones(R, dtype=torch.bool)
    trained = np.zeros(R, dtype=np.int64)
    last_loss = np.full(R, np.nan)
    rows = torch.arange(R, device=device).unsqueeze(1)
    t = 0
    for epoch in range(epochs):
        order = np.stack([rng.permutation(n) if shuffle else np.arange(n) for rng in order_rngs])
        order_t = torch.from_numpy(order).to(device)
        # one dropout factor per (row position in this epoch, unit), per replicate
        epoch_masks = []
        for rate, shape in drops:
            keep = torch.stack([torch.rand((n, *shape), generator=g) >= rate for g in mask_gens])
            epoch_masks.append((keep.to(torch.float32) / (1.0 - rate)).to(device))
        for start in range(0, n, bs):
            idx = order_t[:, start:start + bs]
            xb = X[rows, idx]
            yb = y[rows, idx]
            masks = [mk[:, start:start + bs] for mk in epoch_masks]
            logits = forward(stack, xb, params, masks)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1),
                                   reduction="none").reshape(R, -1).mean(dim=1)
            grads = torch.autograd.grad(loss.sum(), params)
            t += 1
            if bool(active.all()):
                optimiser(params, list(grads), t)
            else:  # stopped replicates are frozen: undo whatever the optimiser did to them
                keep = active.to(device)
                with torch.no_grad():
                    before = [p.detach().clone() for p in params]
                    optimiser(params, list(grads), t)
                    for p, old in zip(params, before):
                        p.copy_(torch.where(keep.view(-1, *([1] * (p.dim() - 1))), p, old))
        trained[active.numpy()] += 1
        if stop_loss is not None and ((epoch + 1) % check_every == 0 or epoch + 1 == epochs):
            with torch.no_grad():
                full = training_loss(stack, X, y)
            last_loss = full
            active &= torch.from_numpy(~(full < stop_loss))
            if not bool(active.any()):
                break
    for p in params:
        p.requires_grad_(False)
    if stop_loss is None or np.isnan(last_loss).any():
        with torch.no_grad():
            last_loss = training_loss(stack, X, y)
    if not np.isfinite(last_loss).all():
        bad = np.flatnonzero(~np.isfinite(last_loss)).tolist()
        raise FloatingPointError(
            f"training diverged (non-finite loss) in replicate(s) {bad}; nothing of this cell "
            "is cached, other cells are kept")
    return {"epochs": trained, "loss": last_loss}


def training_loss(stack: NetStack, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean cross-entropy of each replicate on its own training rows (no dropout)."""
    logits = _chunked_logits(stack, X)
    R = y.shape[0]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                           reduction="none").reshape(R, -1).mean(dim=1).double().cpu().numpy()


def _chunked_logits(stack: NetStack, X: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([forward(stack, X[:, s:s + chunk]) for s in range(0, X.shape[1], chunk)],
                         dim=1)


def predict_proba(stack: NetStack, X: torch.Tensor) -> torch.Tensor:
    """p(class 1) for inputs X (R, m, *input_shape): returns (R, m)."""
    with dense_threads(stack, X.device):
        return torch.softmax(_chunked_logits(stack, X), dim=-1)[..., 1]
