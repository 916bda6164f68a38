"""Hacker News user rkaplan (item 14485362, on Beam's post): the easiest way to use deep
learning on little data is to take a pretrained network and fine-tune its last layers.

:class:`FineTunedCNN` — the claim's primary contender. Beam's CNN pretrained on the other eight
digits of the source (``evidence/pretrain.py``: K nets from K pretraining seeds per target
pair; draw d uses net d mod K), its four convolutional layers frozen, then, with a recipe fixed
before the claim first ran:

1. the frozen features (the conv stack's 1,024 flattened outputs) are computed once per image;
2. the head — dropout 0.2, the pretrained dense-128 layer (ReLU, its weights as pretrained),
   dropout 0.5, a new dense-2 output layer (Glorot-uniform, zero bias) — is trained on the n
   training images: Adam (Keras form, lr 1e-3, ε 1e-8), batch 32, a fresh shuffle every epoch,
   100 epochs, softmax cross-entropy;
3. the label is the argmax.

Pretraining seeds derive from the root seed and the pair (``pretrain_seeds``), so the nets are
the same for every draw that uses them, and the pretraining cost is reported separately.
"""
from __future__ import annotations

import numpy as np
import torch

from evidence.data import digit_pair
from evidence.engine import resolve_device
from evidence.minibatch import (NetStack, dense, dropout, forward, init_stack, keras_adam,
                                predict_proba, train_minibatch)
from evidence.pretrain import EPOCHS as PRETRAIN_EPOCHS
from evidence.pretrain import pretrain
from models.base import BatchedContender

__all__ = ["FineTunedCNN", "pretrain_seeds", "PRETRAIN_SECONDS"]

#: wall seconds spent pretraining in this process (fresh nets only), per (source, pair, seed)
PRETRAIN_SECONDS: dict[tuple[str, str, int], float] = {}


def pretrain_seeds(root_seed: int, task, K: int) -> list[int]:
    """K pretraining seeds for a target pair, derived from the root seed."""
    ss = np.random.SeedSequence([int(root_seed), task.a, task.b, 2405])
    return [int(s) for s in ss.generate_state(K, dtype=np.uint64) % (2**63)]


def _head_layers():
    return (dropout(0.2), dense(128, "relu"), dropout(0.5), dense(2))


def _features(net: NetStack, X: np.ndarray, device) -> torch.Tensor:
    """The frozen conv stack's flattened output (m, 1024) for raw pixel rows X (m, 784)."""
    conv_layers = net.layers[:net.layers.index(next(l for l in net.layers if l.kind == "flatten")) + 1]
    n_conv_params = 2 * sum(1 for l in conv_layers if l.kind == "conv")
    body = NetStack(conv_layers, net.input_shape, net.params[:n_conv_params])
    out = []
    with torch.no_grad():
        for s in range(0, len(X), 512):
            xb = torch.from_numpy(np.asarray(X[s:s + 512], dtype=np.float32).reshape(1, -1, 1, 28, 28)).to(device)
            out.append(forward(body, xb)[0])
    return torch.cat(out)


class FineTunedCNN(BatchedContender):
    """Beam's CNN pretrained on the other eight digits, conv layers frozen, head fine-tuned
    (module docstring). Through the engine it gets its pair and draws from the engine's
    context; fitted directly (``fit``), its two classes must be digits and it pretrains on the
    bundled data."""

    name = "finetuned_cnn"
    source = ("rkaplan, Hacker News item 14485362: fine-tune the last layers of a pretrained "
              "network; recipe fixed in models/kaplan.py")
    wants_context = True

    def __init__(self, K: int = 2, epochs: int = 100, batch_size: int = 32, lr: float = 1e-3,
                 pretrain_epochs: int = PRETRAIN_EPOCHS, random_state: int | None = None,
                 device: str = "cpu"):
        self.K = K
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.pretrain_epochs = pretrain_epochs
        self.random_state = random_state
        self.device = device

    # -- pretrained nets ----------------------------------------------------------------------
    def _nets(self, context):
        nets = []
        for s in pretrain_seeds(context.root_seed, context.task, self.K):
            p = pretrain(context.source, context.task, s, cache_dir=context.cache_dir,
                         device=context.device, epochs=self.pretrain_epochs)
            if not p.cached:
                PRETRAIN_SECONDS[(context.source.name, context.task.name, s)] = p.seconds
            nets.append(p.stack(resolve_device(context.device)))
        return nets

    # -- batched fitting ----------------------------------------------------------------------
    def fit_many(self, train_sets, X_test, seeds, device="cpu", context=None):
        if context is None:
            raise ValueError("FineTunedCNN.fit_many needs the engine's context (source, pair, "
                             "draws) to pick its pretrained nets; run it through a claim, or "
                             "use fit() with digit labels")
        self._context = context
        return super().fit_many(train_sets, X_test, seeds, device=device)

    def _train(self, Xs, ys, seeds, device):
        ctx = self._context
        dev = resolve_device(device)
        nets = self._nets(ctx)
        which = [d % self.K for d in ctx.draws]
        F = torch.stack([_features(nets[k], X, dev) for k, X in zip(which, Xs)])
        y = torch.from_numpy(np.stack(ys).astype(np.int64)).to(dev)
        gens = [torch.Generator().manual_seed(int(s) % 2**63) for s in seeds]
        head = init_stack(_head_layers(), (F.shape[2],), gens, device=dev)
        with torch.no_grad():  # the dense-128 layer starts as pretrained; the output is new
            head.params[0].copy_(torch.stack([nets[k].params[8][0] for k in which]))
            head.params[1].copy_(torch.stack([nets[k].params[9][0] for k in which]))
        info = train_minibatch(head, F, y, epochs=self.epochs, batch_size=self.batch_size,
                               optimiser=keras_adam(self.lr), seeds=seeds)
        info["net"] = np.asarray(which)
        return (head, nets, which), info

    def _proba(self, fitted, X_list, device) -> np.ndarray:
        head, nets, which = fitted
        dev = resolve_device(device)
        memo: dict = {}
        feats = []
        for k, X in zip(which, X_list):
            key = (k, id(X))
            if key not in memo:
                memo[key] = _features(nets[k], X, dev)
            feats.append(memo[key])
        return predict_proba(head, torch.stack(feats)).double().cpu().numpy()

    def _draw_info(self, info, r) -> dict:
        return {"epochs": int(info["epochs"][r]), "train_loss": float(info["loss"][r]),
                "pretrained_net": int(info["net"][r])}

    # -- the scikit-learn face ----------------------------------------------------------------
    def _fit01(self, X, y):
        from evidence.curves import FitContext
        from evidence.data import load_source

        try:
            task = digit_pair(int(self.classes_[0]), int(self.classes_[1]))
        except Exception:
            raise ValueError(f"FineTunedCNN.fit needs two digit labels 0-9 (it pretrains on the "
                             f"other eight digits); got classes {list(self.classes_)}") from None
        seed = 0 if self.random_state is None else int(self.random_state)
        self._context = FitContext(load_source(), task, seed, [0], None, self.device)
        super()._fit01(X, y)

    def expected_failed_checks(self) -> dict[str, str]:
        return {}
