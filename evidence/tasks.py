"""Tasks: what a claim is tested on, whatever the data.

A task is any object with

* ``name`` — how the registry and the report write it (``"0v1"``, ``"words:noun-v-verb"``);
* ``key`` — a tuple of non-negative integers, the seed key of its pool/test split, of its
  draws and of the contenders' seeds (``evidence.draws``); a digit pair's key is ``(a, b)``, so
  every digit stream is what it was before tasks were generalised;
* ``class_names`` — what class 0 and class 1 are, for messages;
* ``load(digits, split_seed)`` — its training pool and fixed test set: an object with
  ``pool_X``, ``pool_y`` (0/1), ``test_X``, ``test_y``, ``pool_size``, ``test_size``,
  ``source`` (a name), ``source_fingerprint`` (for cache keys) and ``split_seed``. ``digits``
  is the run's digit source (bundled or ``--mnist-dir``); a task on other data ignores it.

Figures of a task itself are optional: the report draws the mean images of a digit pair's two
digits (``evidence.plugin._pair_images``, for tasks where :func:`is_digit_pair`); a word task
has none, its claims' learning curves being its figures.

Two kinds are registered in :data:`KINDS`, each with the prefix its names carry: MNIST digit
pairs (:class:`evidence.data.Task`, names ``AvB``) and English words
(:class:`evidence.words.WordTask`, names ``words:<rule>``). :func:`get_task` turns a name into
its task; an unknown name is a ``DataError`` naming the kinds there are.
"""
from __future__ import annotations

from typing import Callable

from evidence.data import DataError, Task, parse_task

__all__ = ["KINDS", "get_task", "is_digit_pair", "source_kind"]


def _words(name: str):
    from evidence.words import word_task

    return word_task(name)


#: (prefix, what it is, parser): a name starting with the prefix is parsed by the parser; the
#: digit pairs have no prefix and come last
KINDS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("words:", "English words (wordfreq, lemminflect): words:noun-v-verb, words:noun-v-rest",
     _words),
    ("", "MNIST digit pairs: two digits joined by v, e.g. 0v1", parse_task),
)


def get_task(name):
    """The task named ``name`` (a task object is returned as it is)."""
    if not isinstance(name, str):
        if hasattr(name, "key") and hasattr(name, "load"):
            return name
        raise DataError(f"task {name!r} is not a task name; {_kinds()}")
    text = name.strip()
    for prefix, _, parse in KINDS:
        if text.lower().startswith(prefix):
            try:
                return parse(text)
            except DataError as exc:
                raise DataError(f"{exc}; {_kinds()}") from None
    raise DataError(f"task {name!r} is unknown; {_kinds()}")  # pragma: no cover - "" matches


def source_kind(task, digits: str) -> str:
    """The kind of data a claim's expected verdict is recorded for (``claims/registry.py``): the
    task's own (``"words"``), or for a digit pair the run's digits, ``digits`` (``"bundled"``
    or ``"idx"``)."""
    return getattr(get_task(task), "source_kind", None) or digits


def is_digit_pair(task) -> bool:
    return isinstance(task, Task)


def _kinds() -> str:
    return "tasks are " + "; ".join(what for _, what, _ in KINDS)
