"""Hacker News user rkaplan (item 14485362, on Beam's post): the easiest way to use deep
learning on little data is to take a pretrained network and fine-tune its last layers.

Pretraining is ``evidence/pretrain.py``: Beam's CNN with a k-way head. Every draw has its own
pretrained net, so the draws stay independent: draw d of a target pair uses the net pretrained
with seed ``pretrain_seed(root_seed, pair, d)`` — the first 64-bit word of numpy's
``SeedSequence([root_seed, a, b, 2405, d])`` (a, b: the pair's digits; 2405: this stream's tag)
modulo 2**63. The net depends on the draw index only, not on n or on the other draws of a cell:
draw d uses the same net at every n, in every cell and in every run with that root seed (and
the cached nets are reused across them). A cell of D draws needs D nets; their cost is reported
apart from the fit seconds, one entry per draw index (``pretraining_cost``).

Fitted without the engine, replicate r uses the net of draw index r: ``fit`` (one replicate)
uses draw 0's net with ``random_state`` (0 when None) as the root seed; ``fit_many`` needs the
engine's context (the pair), and a context whose ``draws`` is None means draws 0, 1, 2, ... in
the order of the training sets.

:class:`FineTunedCNN` — the claim's primary contender. Pretrained on the other eight digits of
the target's source, its four convolutional layers frozen, then, with a recipe fixed before the
claim first ran:

1. the frozen features (the conv stack's 1,024 flattened outputs) are computed once per image;
2. the head — dropout 0.2, the pretrained dense-128 layer (ReLU, its weights as pretrained),
   dropout 0.5, a new dense-2 output layer (Glorot-uniform, zero bias) — is trained on the n
   training images: Adam (Keras form, lr 1e-3, ε 1e-8), batch 32, a fresh shuffle every epoch,
   100 epochs, softmax cross-entropy;
3. the label is the argmax.

:class:`FineTunedCNNAll` — a probe: the same, except that every layer trains (the four
convolutional layers and the dense-128 layer start as pretrained, the output layer is new) on
raw 28×28 images; same optimiser, batch, epochs and dropout. The one difference from the
primary is which layers train (fixed before the probe first ran).

:class:`FineTunedCNNCrossDomain` — a probe: the primary's recipe with nets pretrained on
another source (Fashion-MNIST from ``--pretrain-dir``): a stratified 4,000-image sample of its
ten classes, the same budget as in-domain.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from evidence.data import Source, digit_pair, load_source
from evidence.engine import resolve_device
from evidence.minibatch import (NetStack, forward, init_stack, keras_adam, predict_proba,
                                train_minibatch)
from evidence.pretrain import EPOCHS as PRETRAIN_EPOCHS
from evidence.pretrain import Pretrained, cnn_layers, pretrain
from models.base import BatchedContender

__all__ = ["FineTunedCNN", "FineTunedCNNAll", "FineTunedCNNCrossDomain", "pretrain_seed",
           "pretraining_cost"]

#: the pretrained nets this process has used, memoised: key -> Pretrained (``cached`` False:
#: trained in this process)
_NETS: dict[tuple, Pretrained] = {}
#: the layers of Beam's CNN up to and including flatten: the four convolutions and two poolings
_CONV_BODY = 7


def pretrain_seed(root_seed: int, task, draw: int) -> int:
    """The pretraining seed of draw ``draw``'s net for a target pair (module docstring)."""
    ss = np.random.SeedSequence([int(root_seed), int(task.a), int(task.b), 2405, int(draw)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] % (2**63))


def _n_params(layers) -> int:
    """How many parameter tensors (weight and bias per dense/conv layer) ``layers`` hold."""
    return 2 * sum(layer.kind in ("dense", "conv") for layer in layers)


def _frozen_output(net: NetStack, frozen: int, X: np.ndarray, device) -> torch.Tensor:
    """The output of the net's first ``frozen`` layers for raw pixel rows X (m, 784): the
    flattened conv features (m, 1024) for ``frozen = _CONV_BODY``, the images (m, 1, 28, 28)
    for 0."""
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1] != 784:
        raise ValueError(f"the fine-tuned CNNs take 28×28 images flattened to 784 columns; X has "
                         f"{X.shape[1]} columns")
    images = torch.from_numpy(X.reshape(1, len(X), 1, 28, 28)).to(device)
    if frozen == 0:
        return images[0]
    body = NetStack(net.layers[:frozen], net.input_shape,
                    net.params[:_n_params(net.layers[:frozen])])
    with torch.no_grad():
        return torch.cat([forward(body, images[:, s:s + 512])[0] for s in range(0, len(X), 512)])


class FineTunedCNN(BatchedContender):
    """Beam's CNN pretrained on the other eight digits, conv layers frozen, head fine-tuned
    (module docstring). Through the engine it gets its pair and draws from the engine's
    context; fitted directly (``fit``), its two classes must be digits and it pretrains on the
    bundled data."""

    name = "finetuned_cnn"
    source = ("rkaplan, Hacker News item 14485362: fine-tune the last layers of a pretrained "
              "network; recipe fixed in models/kaplan.py")
    wants_context = True
    cross_domain = False
    #: leading layers of the pretrained net kept frozen (their output is computed once per
    #: image); the layers after them train, starting as pretrained, with a new output layer
    frozen = _CONV_BODY

    def __init__(self, epochs: int = 100, batch_size: int = 32, lr: float = 1e-3,
                 pretrain_epochs: int = PRETRAIN_EPOCHS, random_state: int | None = None,
                 device: str = "cpu"):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.pretrain_epochs = pretrain_epochs
        self.random_state = random_state
        self.device = device

    # -- pretrained nets ----------------------------------------------------------------------
    def pretraining_source(self, target: Source) -> Source:
        """The source the nets are pretrained on: the target's own (in-domain)."""
        return target

    def pretrained(self, target: Source, task, root_seed: int, cache_dir, device,
                   draws) -> list[Pretrained]:
        """The pretrained nets of ``draws`` (draw indices) for ``task``, in that order (from
        memory, the cache, or trained now)."""
        source = self.pretraining_source(target)
        nets = []
        for d in draws:
            s = pretrain_seed(root_seed, task, d)
            key = (source.fingerprint, task.name, s, self.cross_domain, self.pretrain_epochs,
                   str(cache_dir), resolve_device(device).type)
            if key not in _NETS:
                _NETS[key] = pretrain(source, task, s, cache_dir=cache_dir, device=device,
                                      epochs=self.pretrain_epochs, cross_domain=self.cross_domain)
            nets.append(_NETS[key])
        return nets

    def _nets(self, ctx) -> dict[int, NetStack]:
        """draw index -> its pretrained net, for the draws of ``ctx``."""
        dev = resolve_device(ctx.device)
        draws = list(dict.fromkeys(ctx.draws))
        nets = self.pretrained(ctx.source, ctx.task, ctx.root_seed, ctx.cache_dir, ctx.device,
                               draws)
        return {d: p.stack(dev) for d, p in zip(draws, nets)}

    # -- batched fitting ----------------------------------------------------------------------
    def fit_many(self, train_sets, X_test, seeds, device="cpu", context=None):
        if context is None:
            raise ValueError(f"{type(self).__name__}.fit_many needs the engine's context "
                             "(source, pair, draws) to pick its pretrained nets; run it through "
                             "a claim, or use fit() with digit labels")
        if context.draws is None:  # replicate r uses the net of draw index r
            context = replace(context, draws=list(range(len(train_sets))))
        if len(context.draws) != len(train_sets):
            raise ValueError(f"{type(self).__name__}.fit_many: {len(train_sets)} training sets "
                             f"but the context names {len(context.draws)} draws")
        self._context = context
        # pretrain (or load) the nets before the fit seconds start: their cost is reported
        # apart (``pretraining_cost``), once per net rather than spread over a cell's draws
        self.pretrained(context.source, context.task, context.root_seed, context.cache_dir,
                        context.device, context.draws)
        return super().fit_many(train_sets, X_test, seeds, device=device)

    def _inputs(self, nets, which, X_list, device) -> torch.Tensor:
        """(R, m, ...) the trained layers' inputs: replicate r's rows through the frozen layers
        of net ``which[r]`` (a draw index), once per (net, data set)."""
        memo: dict = {}
        for k, X in zip(which, X_list):
            if (k, id(X)) not in memo:
                memo[(k, id(X))] = _frozen_output(nets[k], self.frozen, X, device)
        return torch.stack([memo[(k, id(X))] for k, X in zip(which, X_list)])

    def _train(self, Xs, ys, seeds, device):
        dev = resolve_device(device)
        nets = self._nets(self._context)
        which = list(self._context.draws)  # replicate r: the net of its draw index
        X = self._inputs(nets, which, Xs, dev)
        y = torch.from_numpy(np.stack(ys).astype(np.int64)).to(dev)
        gens = [torch.Generator().manual_seed(int(s) % 2**63) for s in seeds]
        layers = cnn_layers(2)
        stack = init_stack(layers[self.frozen:], tuple(X.shape[2:]), gens, device=dev)
        skip = _n_params(layers[:self.frozen])
        with torch.no_grad():  # every trained layer but the new output starts as pretrained
            for i in range(len(stack.params) - 2):
                stack.params[i].copy_(torch.stack([nets[k].params[skip + i][0] for k in which]))
        info = train_minibatch(stack, X, y, epochs=self.epochs, batch_size=self.batch_size,
                               optimiser=keras_adam(self.lr), seeds=seeds)
        info["net"] = np.asarray(which)
        return (stack, nets, which), info

    def _proba(self, fitted, X_list, device) -> np.ndarray:
        stack, nets, which = fitted
        X = self._inputs(nets, which, X_list, resolve_device(device))
        return predict_proba(stack, X).double().cpu().numpy()

    def _draw_info(self, info, r) -> dict:
        return {"epochs": int(info["epochs"][r]), "train_loss": float(info["loss"][r]),
                "pretrained_net": int(info["net"][r])}

    # -- the scikit-learn face ----------------------------------------------------------------
    def _fit01(self, X, y):
        from evidence.curves import FitContext

        try:
            task = digit_pair(int(self.classes_[0]), int(self.classes_[1]))
        except Exception:
            raise ValueError(f"{type(self).__name__}.fit needs two digit labels 0-9 (it "
                             f"pretrains away from them); got classes {list(self.classes_)}") from None
        seed = 0 if self.random_state is None else int(self.random_state)
        # one replicate: the net of draw index 0, with random_state as the root seed
        self._context = FitContext(load_source(), task, seed, [0], None, self.device)
        super()._fit01(X, y)

    def expected_failed_checks(self) -> dict[str, str]:
        return {}


class FineTunedCNNAll(FineTunedCNN):
    """:class:`FineTunedCNN` with every layer trained from the pretrained weights (a probe;
    module docstring)."""

    name = "finetuned_cnn_all"
    source = ("this suite's probe of rkaplan's claim: every layer of the pretrained CNN "
              "fine-tuned; recipe fixed in models/kaplan.py")
    frozen = 0
    #: draws trained together on the CPU, as for Beam's CNN (compute-bound there)
    cpu_chunk = 2


class FineTunedCNNCrossDomain(FineTunedCNN):
    """:class:`FineTunedCNN` with nets pretrained on another source: the IDX files in
    ``pretrain_dir`` (Fashion-MNIST for the claim's probe; module docstring)."""

    name = "finetuned_cnn_cross_domain"
    source = ("this suite's probe of rkaplan's claim: pretrained on another domain "
              "(Fashion-MNIST); recipe fixed in models/kaplan.py")
    cross_domain = True
    #: where the other domain's files are is not what is compared
    _not_in_name = ("device", "random_state", "pretrain_dir")

    def __init__(self, pretrain_dir: str | None = None, epochs: int = 100,
                 batch_size: int = 32, lr: float = 1e-3, pretrain_epochs: int = PRETRAIN_EPOCHS,
                 random_state: int | None = None, device: str = "cpu"):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr,
                         pretrain_epochs=pretrain_epochs, random_state=random_state, device=device)
        self.pretrain_dir = pretrain_dir

    def pretraining_source(self, target: Source) -> Source:
        if not self.pretrain_dir:
            raise ValueError("FineTunedCNNCrossDomain needs pretrain_dir: a directory of IDX "
                             "files of another domain (e.g. Fashion-MNIST)")
        source = load_source(self.pretrain_dir)
        if source.fingerprint == target.fingerprint:
            raise ValueError(f"pretrain_dir {self.pretrain_dir} holds the target data itself; "
                             "cross-domain pretraining needs another data set")
        return source

    def fit_spec(self) -> dict:
        spec = super().fit_spec()
        spec["params"].pop("pretrain_dir", None)  # the data, not where it lies, keys the fit
        spec["pretrain_source"] = (load_source(self.pretrain_dir).fingerprint
                                   if self.pretrain_dir else None)
        return spec


def pretraining_cost(contender: FineTunedCNN, engine, task, draws: int) -> dict:
    """The pretraining behind ``contender``'s fits on ``task`` in a run of ``draws`` draws per
    size, for the report (apart from the fit seconds): source, classes, images, and one net per
    draw index 0 … draws − 1 (in that order): its draw, its seed, the seconds its training
    took and whether it was trained in this run or read from the cache."""
    nets = contender.pretrained(engine.source, task, engine.root_seed, engine.cache.root,
                                engine.device, range(draws))
    source = contender.pretraining_source(engine.source)
    return {
        "contender": contender.name, "source": source.name,
        "domain": "cross-domain" if contender.cross_domain else "in-domain",
        "classes": [int(c) for c in nets[0].classes], "images": int(nets[0].images),
        "epochs": int(contender.pretrain_epochs),
        "nets": [{"draw": d, "seed": int(p.seed), "seconds": float(p.seconds),
                  "trained_in_this_run": not p.cached} for d, p in enumerate(nets)],
    }
