"""The paired design: which pool images each (task, size, draw) trains on, and seeds.

For each task, size ``n`` and draw ``d`` the sample is a simple random sample without
replacement of ``n`` pool positions, drawn from the child seed
``SeedSequence(root_seed, spawn_key=(*key, n, d, attempt))`` for attempt 0, where ``key`` is
the task's seed key (``evidence.tasks``; ``(a, b)`` for the digit pair a v b); if the sample
lacks a class it is redrawn from attempt 1, 2, ... and the redraws are counted. Every
contender trains on the same draw (the draw does not depend on who asks); each contender's
own randomness (initialisation, minibatch order) comes from ``contender_seed``, whose
streams are independent of the sampling streams and of other contenders'.
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass

import numpy as np

from evidence.data import DEFAULT_ROOT_SEED, DataError

__all__ = ["MAX_REDRAWS", "Draw", "contender_seed", "draw_sample"]

MAX_REDRAWS = 1000

# Tags the contender seed's spawn key so that its streams can never coincide with the
# sampling streams (whose spawn keys are (*task key, n, draw, attempt)).
_CONTENDER_DOMAIN = 0x636F6E74  # "cont"


@dataclass(frozen=True, eq=False)
class Draw:
    """One sample of the training pool.

    ``indices`` are positions in the pool, in sample order (a model trains on the rows in
    this order); read-only int64. ``redraws`` counts the samples discarded because a class
    was missing. Two draws are equal when every field, indices included, is equal.
    """

    task: object  # a task of evidence.tasks
    n: int
    draw: int
    indices: np.ndarray
    redraws: int

    def __eq__(self, other):
        if not isinstance(other, Draw):
            return NotImplemented
        return (
            (self.task, self.n, self.draw, self.redraws)
            == (other.task, other.n, other.draw, other.redraws)
            and np.array_equal(self.indices, other.indices)
        )

    def __hash__(self):
        return hash((self.task, self.n, self.draw, self.redraws, self.indices.tobytes()))

    def __repr__(self) -> str:
        return (
            f"Draw(task={self.task.name}, n={self.n}, draw={self.draw}, "
            f"redraws={self.redraws}, indices=[{', '.join(map(str, self.indices[:5]))}"
            f"{', ...' if self.n > 5 else ''}])"
        )


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_root_seed(root_seed) -> int:
    if not _is_int(root_seed) or root_seed < 0:
        raise DataError(
            f"root seed {root_seed!r} is not a non-negative integer; "
            f"give a seed such as {DEFAULT_ROOT_SEED}"
        )
    return int(root_seed)


def _check_task(task) -> None:
    if not (hasattr(task, "key") and hasattr(task, "name") and hasattr(task, "class_names")):
        raise TypeError(f"task must be a task of evidence.tasks (e.g. get_task('0v1')), not "
                        f"{type(task).__name__}")


def _sample_rng(root_seed: int, task, n: int, draw: int, attempt: int):
    seq = np.random.SeedSequence(root_seed, spawn_key=(*task.key, n, draw, attempt))
    return np.random.default_rng(seq)


def draw_sample(
    pool_y: np.ndarray,
    *,
    n: int,
    draw: int,
    task,
    root_seed: int,
    max_redraws: int = MAX_REDRAWS,
) -> Draw:
    """Draw ``n`` of the pool's positions for draw number ``draw`` (see the module docstring).

    ``pool_y`` holds the pool's 0/1 labels. Raises DataError (one line, with the fix) if
    ``n`` < 2 or exceeds the pool, ``draw`` < 0, the pool lacks a class, or no sample with
    both classes turns up in ``max_redraws`` redraws.
    """
    _check_task(task)
    root_seed = _check_root_seed(root_seed)
    labels = np.asarray(pool_y)
    if labels.ndim != 1:
        raise DataError(
            f"task {task.name}: the pool labels have shape {labels.shape}, not one label per "
            "image; pass TaskData.pool_y"
        )
    pool_size = len(labels)
    if not _is_int(n):
        raise DataError(f"size {n!r} is not an integer; use --sizes with whole numbers such as 10")
    n = int(n)
    if n < 2:
        raise DataError(
            f"size {n} is too small to hold both classes for task {task.name}; "
            "use --sizes with values >= 2"
        )
    if n > pool_size:
        raise DataError(
            f"size {n} is larger than the training pool of {pool_size} images for task "
            f"{task.name}; use --sizes with values ≤ {pool_size}"
        )
    if not _is_int(draw) or draw < 0:
        raise DataError(
            f"draw {draw!r} is not a non-negative integer; number draws 0, 1, 2, ..."
        )
    draw = int(draw)
    positives = int(np.count_nonzero(labels == 1))
    negatives = int(np.count_nonzero(labels == 0))
    if positives + negatives != pool_size:
        raise DataError(
            f"task {task.name}: the pool labels are not all 0 or 1; pass TaskData.pool_y "
            f"(1 = {task.class_names[1]}, 0 = {task.class_names[0]})"
        )
    if positives == 0 or negatives == 0:
        missing = task.class_names[1] if positives == 0 else task.class_names[0]
        raise DataError(
            f"task {task.name}: the training pool has no examples of {missing}, so no "
            "sample can hold both classes; use a data source that holds both classes"
        )
    for attempt in range(max_redraws + 1):
        rng = _sample_rng(root_seed, task, n, draw, attempt)
        indices = rng.choice(pool_size, size=n, replace=False, shuffle=True).astype(np.int64)
        ones = int(np.count_nonzero(labels[indices] == 1))
        if 0 < ones < n:
            indices.setflags(write=False)
            return Draw(task=task, n=n, draw=draw, indices=indices, redraws=attempt)
    raise DataError(
        f"task {task.name}, size {n}, draw {draw}: no sample held both classes in "
        f"{max_redraws} redraws (the pool has {negatives} of {task.class_names[0]} and "
        f"{positives} of {task.class_names[1]}); use larger --sizes or a pool with more of the "
        "rare class"
    )


def _contender_words(contender: str) -> tuple[int, int]:
    digest = hashlib.sha256(contender.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big"), int.from_bytes(digest[4:8], "big")


def contender_seed(*, root_seed: int, task, n: int, draw: int, contender: str) -> int:
    """A seed in [0, 2**63) for ``contender``'s randomness on (task, n, draw).

    Derived from ``SeedSequence(root_seed, spawn_key=(*key, n, draw, DOMAIN, h1, h2))``
    where (h1, h2) are the first 64 bits of the sha256 of the contender's name: stable
    across processes and Python versions (unlike ``hash``), different for every contender,
    and independent of the sampling streams.
    """
    _check_task(task)
    if not isinstance(contender, str) or not contender:
        raise ValueError(f"contender must be a non-empty string, not {contender!r}")
    root_seed = _check_root_seed(root_seed)
    for name, value in (("size", n), ("draw", draw)):
        if not _is_int(value) or value < 0:
            raise DataError(
                f"{name} {value!r} is not a non-negative integer; pass the draw's n and draw"
            )
    words = _contender_words(contender)
    seq = np.random.SeedSequence(
        root_seed, spawn_key=(*task.key, int(n), int(draw), _CONTENDER_DOMAIN, *words)
    )
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
