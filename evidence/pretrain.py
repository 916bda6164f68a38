"""Pretraining for the fine-tuning claim (Kaplan; issue 5): Beam's CNN with an eight-way head,
trained on the other eight digits, kept away from the target pair.

What reaches pretraining: every image of the source's training file whose digit is not in the
target pair (the bundled data: 4,000 images; IDX files: the train file only, never t10k). No
image of the target classes — so no image of the pair's pool or test set — is used
(``tests/test_pretrain.py`` checks it image by image).

The recipe, fixed before any fine-tuning claim runs: Beam's CNN layers with a dense-8 output,
Keras-style Glorot initialisation, raw 0–255 pixels, Adam (Keras form, lr 1e-3, ε 1e-8),
batch 64, a fresh shuffle every epoch, dropout as in Beam's CNN, ``EPOCHS`` epochs. A net is
deterministic given its pretraining seed; it is cached on disk keyed by the recipe, the data
(source fingerprint and pair) and this code, written atomically.

``models/kaplan.py`` (``FineTunedCNN``) uses these nets; the all-layers and Fashion-MNIST
variants of issue 5 are not built yet.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from evidence.data import Source, Task
from evidence.engine import resolve_device
from evidence.minibatch import (NetStack, conv, dense, dropout, flatten, init_stack, keras_adam,
                                pool, train_minibatch)

__all__ = ["EPOCHS", "BATCH", "pretraining_images", "Pretrained", "pretrain", "cnn8_layers"]

EPOCHS = 6
BATCH = 64
_ROOT = Path(__file__).resolve().parent.parent
_CODE = ("evidence/pretrain.py", "evidence/minibatch.py")


def cnn8_layers():
    """Beam's CNN with an eight-way head."""
    return (conv(32), conv(32), pool(), conv(64), conv(64), pool(), flatten(), dropout(0.2),
            dense(128, "relu"), dropout(0.5), dense(8))


def pretraining_images(source: Source, task: Task) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(X, y8, digits): every training-file image whose digit is not in ``task``; ``y8`` indexes
    ``digits`` (the eight other digits, ascending)."""
    digits = [d for d in range(10) if d not in (task.a, task.b)]
    keep = np.isin(source.y_train, digits)
    X = np.asarray(source.X_train[keep], dtype=np.float32)
    y8 = np.searchsorted(np.asarray(digits), source.y_train[keep]).astype(np.int64)
    return X, y8, digits


@dataclass
class Pretrained:
    """One pretrained net: its parameters (one replicate, Keras-style stack layout)."""

    params: list[torch.Tensor]
    digits: list[int]
    seed: int
    seconds: float     # wall time of the pretraining (0 when read from the cache)
    cached: bool

    def stack(self, device="cpu") -> NetStack:
        return NetStack(cnn8_layers(), (1, 28, 28), [p.to(device) for p in self.params])


def _key(source: Source, task: Task, seed: int, epochs: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"recipe": "beam-cnn-8 adam1e-3 eps1e-8 batch64", "epochs": epochs,
                         "batch": BATCH, "source": source.fingerprint, "task": task.name,
                         "seed": seed}, sort_keys=True).encode())
    for f in _CODE:
        h.update((_ROOT / f).read_bytes())
    return h.hexdigest()[:32]


def pretrain(source: Source, task: Task, seed: int, *, cache_dir: str | os.PathLike | None,
             device: str = "cpu", epochs: int = EPOCHS) -> Pretrained:
    """The pretrained net for ``task`` and ``seed``: from the cache, or trained now and cached."""
    X, y8, digits = pretraining_images(source, task)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "pretrained" / f"{_key(source, task, seed, epochs)}.pt"
        if path.exists():
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
                return Pretrained(list(saved["params"]), digits, seed, 0.0, True)
            except Exception:  # unreadable: train again and overwrite
                path.unlink(missing_ok=True)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(int(seed) % 2**63)
    stack = init_stack(cnn8_layers(), (1, 28, 28), [gen], device=dev)
    Xt = torch.from_numpy(X.reshape(1, len(X), 1, 28, 28)).to(dev)
    yt = torch.from_numpy(y8.reshape(1, -1)).to(dev)
    train_minibatch(stack, Xt, yt, epochs=epochs, batch_size=BATCH, optimiser=keras_adam(1e-3),
                    seeds=[seed])
    params = [p.detach().cpu() for p in stack.params]
    seconds = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save({"params": params, "seconds": seconds}, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Pretrained(params, digits, seed, seconds, False)
