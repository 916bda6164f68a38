"""Helpers shared by the test modules: paired training draws, and IDX files to load."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterable

import numpy as np

from evidence.draws import contender_seed, draw_sample


def draw_sets(td, n: int, draws: int | Iterable[int], contender: str = "test", *,
              root_seed: int = 2017):
    """The suite's training draws of ``td``'s task: ([(X, y01)] per draw, [seed per draw]).
    ``draws`` is a count (draws 0…count−1) or the draw numbers themselves."""
    numbers = range(draws) if isinstance(draws, int) else list(draws)
    sets, seeds = [], []
    for d in numbers:
        s = draw_sample(td.pool_y, n=n, draw=d, task=td.task, root_seed=root_seed)
        sets.append((td.pool_X[s.indices].astype(np.float64), td.pool_y[s.indices]))
        seeds.append(contender_seed(root_seed=root_seed, task=td.task, n=n, draw=d,
                                    contender=contender))
    return sets, seeds


def idx_images(images: np.ndarray, *, magic=0x803, count=None, rows=28, cols=28) -> bytes:
    """An IDX3 image file (header values overridable, to write broken files)."""
    count = len(images) if count is None else count
    header = struct.pack(">IIII", magic, count, rows, cols)
    return header + np.asarray(images, dtype=np.uint8).tobytes()


def idx_labels(labels: np.ndarray, *, magic=0x801, count=None) -> bytes:
    """An IDX1 label file (header values overridable, to write broken files)."""
    count = len(labels) if count is None else count
    return struct.pack(">II", magic, count) + np.asarray(labels, dtype=np.uint8).tobytes()


def _glyph(digit: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 stroke drawing: 0 a ring, 1 a vertical bar, others a horizontal bar at a
    digit-specific height; shifted by up to 2 pixels, random ink, sparse background noise."""
    yy, xx = np.mgrid[0:28, 0:28]
    dy, dx = rng.integers(-2, 3, size=2)
    cy, cx = 13.5 + dy, 13.5 + dx
    if digit == 0:
        r = np.hypot(yy - cy, xx - cx)
        stroke = (r >= 6) & (r <= 9)
    elif digit == 1:
        stroke = (np.abs(xx - cx) <= 1.5) & (np.abs(yy - cy) <= 10)
    else:
        row = 3 + 2 * digit + dy
        stroke = (np.abs(yy - row) <= 1) & (np.abs(xx - cx) <= 8)
    noise = rng.uniform(0, 90, size=(28, 28)) * (rng.random((28, 28)) < 0.08)
    return np.clip(stroke * rng.uniform(170, 255) + noise, 0, 255).astype(np.uint8)


def _glyphs(counts: dict[int, int], rng: np.random.Generator):
    labels = np.array([d for d, k in counts.items() for _ in range(k)], dtype=np.uint8)
    labels = labels[rng.permutation(len(labels))]
    return np.stack([_glyph(int(d), rng) for d in labels]), labels


#: digits per class of ``write_glyph_idx_dir``'s files (a 0 vs 1 pool of 60 per class)
TRAIN_COUNTS = {0: 60, 1: 60, **{d: 3 for d in range(2, 10)}}
TEST_COUNTS = {0: 40, 1: 40, **{d: 2 for d in range(2, 10)}}


def write_glyph_idx_dir(directory: Path, seed: int = 0, train=TRAIN_COUNTS,
                        test=TEST_COUNTS) -> Path:
    """The four IDX files of a learnable synthetic digit set (``_glyph``) in ``directory``."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    X, y = _glyphs(train, rng)
    (directory / "train-images-idx3-ubyte").write_bytes(idx_images(X))
    (directory / "train-labels-idx1-ubyte").write_bytes(idx_labels(y))
    X, y = _glyphs(test, rng)
    (directory / "t10k-images-idx3-ubyte").write_bytes(idx_images(X))
    (directory / "t10k-labels-idx1-ubyte").write_bytes(idx_labels(y))
    return directory.resolve()
