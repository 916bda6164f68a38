"""Pretraining for the fine-tuning claim (Kaplan; issue 5): Beam's CNN with a k-way head,
trained on images kept away from the target pair.

What reaches pretraining (``pretraining_images``):

* in-domain (the pretraining source is the target's source): every image of the source's
  training file whose digit is not in the target pair — the bundled data: 4,000 images of the
  other eight digits; IDX files: the train file only, never t10k. No image of the target
  classes, so no image of the pair's pool or test set, is used (``tests/test_pretrain.py``
  checks it image by image);
* cross-domain (another source, e.g. Fashion-MNIST named by ``--pretrain-dir``): a stratified
  sample of ``CROSS_DOMAIN_PER_CLASS`` training-file images of each of its classes, drawn with
  the pretraining seed — 4,000 images for ten classes, the same budget as in-domain on the
  bundled data, so the two probes differ in the domain, not in the amount.

The recipe, fixed before any fine-tuning claim ran: Beam's CNN layers with a dense-k output
(k = number of pretraining classes), Keras-style Glorot initialisation, raw 0–255 pixels, Adam
(Keras form, lr 1e-3, ε 1e-8), batch 64, a fresh shuffle every epoch, dropout as in Beam's
CNN, ``EPOCHS`` epochs, on one CPU thread. A net is deterministic given its pretraining seed,
whatever the process's thread count (``one_thread``); it is cached on
disk keyed by the recipe, the data (source fingerprints and pair), the seed, the device type
and the code (``evidence/codehash.py``: the import closure of this module — it,
``evidence/minibatch.py``, ``evidence/data.py``, ``evidence/engine.py``,
``evidence/codehash.py`` — and the versions of torch, numpy, scipy and scikit-learn), written
atomically, with the seconds its training took (reported even when read from the cache).

``models/kaplan.py`` (``FineTunedCNN``, ``FineTunedCNNAll``, ``FineTunedCNNCrossDomain``) uses
these nets: one per draw index, its seed derived from the root seed, the pair and the draw
index (``models.kaplan.pretrain_seed``).
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

from evidence import codehash
from evidence.data import Source, Task
from evidence.engine import resolve_device
from evidence.minibatch import (NetStack, conv, dense, dropout, flatten, init_stack, keras_adam,
                                one_cpu_thread, pool, train_minibatch)

__all__ = ["EPOCHS", "BATCH", "CROSS_DOMAIN_PER_CLASS", "pretraining_images", "Pretrained",
           "pretrain", "cnn_layers"]

EPOCHS = 6
BATCH = 64
CROSS_DOMAIN_PER_CLASS = 400
#: the modules whose import closure keys a cached net (``evidence/codehash.py``)
CODE_MODULES = ("evidence.pretrain",)


def cnn_layers(k: int):
    """Beam's CNN with a k-way head."""
    return (conv(32), conv(32), pool(), conv(64), conv(64), pool(), flatten(), dropout(0.2),
            dense(128, "relu"), dropout(0.5), dense(k))


def pretraining_images(source: Source, task: Task, *, cross_domain: bool = False,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(X, y, classes): the pretraining images (module docstring); ``y`` indexes ``classes``
    (ascending). In-domain: every training-file image whose digit is not in ``task``.
    Cross-domain: ``CROSS_DOMAIN_PER_CLASS`` images of each class of ``source`` (all of a class
    if it has fewer), drawn with ``seed``; ``task`` is not used."""
    labels = np.asarray(source.y_train)
    if cross_domain:
        classes = [int(c) for c in np.unique(labels)]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 1904]))
        picks = [rng.permutation(np.flatnonzero(labels == c))[:CROSS_DOMAIN_PER_CLASS]
                 for c in classes]
        keep = np.sort(np.concatenate(picks))
    else:
        classes = [d for d in range(10) if d not in (task.a, task.b)]
        keep = np.flatnonzero(np.isin(labels, classes))
    X = np.asarray(source.X_train[keep], dtype=np.float32)
    y = np.searchsorted(np.asarray(classes), labels[keep]).astype(np.int64)
    return X, y, classes


@dataclass
class Pretrained:
    """One pretrained net: its parameters (one replicate, Keras-style stack layout)."""

    params: list[torch.Tensor]
    classes: list[int]
    seed: int
    seconds: float     # wall time its training took (when trained: in this call or earlier)
    cached: bool       # read from the cache (no time spent now)
    images: int        # how many images it was pretrained on

    def stack(self, device="cpu") -> NetStack:
        return NetStack(cnn_layers(len(self.classes)), (1, 28, 28),
                        [p.to(device) for p in self.params])


def one_thread(device: torch.device):
    """Pretrain on one intra-op thread on the CPU (``minibatch.one_cpu_thread``). A
    convolution's sums are split by the thread count, so with two threads a net came out
    otherwise than with one (measured 2026-12-01 on the 2-core machine: one epoch, weights up to
    0.013 apart; six epochs, up to 0.12, enough to move the fine-tuning claim's numbers), and a
    serial run (two threads) disagreed with ``pytest -n 2`` or Dask workers (one each). With one
    thread every process trains the same net; pretraining is paid once per net and cached."""
    return one_cpu_thread(device)


def _key(source: Source, task: Task, seed: int, epochs: int, cross_domain: bool,
         device: str = "cpu") -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"recipe": "beam-cnn-k adam1e-3 eps1e-8 batch64", "epochs": epochs,
                         "batch": BATCH, "source": source.fingerprint,
                         "task": None if cross_domain else task.name, "seed": seed,
                         "cross_domain": cross_domain,
                         "per_class": CROSS_DOMAIN_PER_CLASS if cross_domain else None,
                         "device": resolve_device(device).type,
                         "code": codehash.code_version(CODE_MODULES)},
                        sort_keys=True).encode())
    return h.hexdigest()[:32]


def pretrain(source: Source, task: Task, seed: int, *, cache_dir: str | os.PathLike | None,
             device: str = "cpu", epochs: int = EPOCHS, cross_domain: bool = False) -> Pretrained:
    """The pretrained net for ``task`` and ``seed`` (``cross_domain``: on ``source``, a source
    other than the target's): from the cache, or trained now and cached."""
    X, y, classes = pretraining_images(source, task, cross_domain=cross_domain, seed=seed)
    path = None
    if cache_dir is not None:
        key = _key(source, task, seed, epochs, cross_domain, device)
        path = Path(cache_dir) / "pretrained" / f"{key}.pt"
        if path.exists():
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
                return Pretrained(list(saved["params"]), classes, seed, float(saved["seconds"]),
                                  True, len(X))
            except Exception:  # unreadable: train again and overwrite
                path.unlink(missing_ok=True)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(int(seed) % 2**63)
    stack = init_stack(cnn_layers(len(classes)), (1, 28, 28), [gen], device=dev)
    Xt = torch.from_numpy(X.reshape(1, len(X), 1, 28, 28)).to(dev)
    yt = torch.from_numpy(y.reshape(1, -1)).to(dev)
    with one_thread(dev):
        train_minibatch(stack, Xt, yt, epochs=epochs, batch_size=BATCH,
                        optimiser=keras_adam(1e-3), seeds=[seed])
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
    return Pretrained(params, classes, seed, seconds, False, len(X))
