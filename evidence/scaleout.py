"""Several processes on one result cache: a per-cell lock, so that no cell is fitted twice.

``pytest -n N`` (pytest-xdist) runs claims in N worker processes, each with its own engine, all
on the same result cache (``--results-cache``). Two claims often need the same cell (the same
contender on the same task, size and seeds: Leek's net is in eight claims). ``LockedEngine``
takes a lock for each cell before it looks the cell up and holds it while it fits: the first
worker to need a cell fits and caches it, a second one waits and then reads the first one's
result. The lock is a ``filelock.FileLock`` on ``<cache>/locks/<cell>.lock``; the operating
system drops it when its holder dies, and a cache entry is written atomically (temporary file,
then ``os.replace``), so an interrupted worker leaves neither a held lock nor a half-written
entry.

A contender that depends on more than its draw (a fine-tuned net, which starts from a
pretrained net shared by all its sizes) is locked per (contender, task) rather than per size,
so that its pretrained nets are also trained only once.

This module is outside the code that keys the cache (``evidence/codehash.py``): locking changes
who fits a cell, never what the fit gives, so a cached fit stays valid whichever engine made it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock

from evidence.curves import Engine, FitOutput, _spec_text

__all__ = ["LockedEngine", "cell_lock"]


def cell_lock(cache_root: Path, name: str) -> FileLock:
    """The lock of one cell (or of one contender's task) in a result cache."""
    locks = Path(cache_root) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / f"{name}.lock"))


class LockedEngine(Engine):
    """An :class:`~evidence.curves.Engine` whose cells are fitted under a per-cell file lock
    (none without a result cache: nothing is shared then)."""

    def _lock_name(self, rep, task, n: int) -> str:
        if getattr(rep, "wants_context", False):  # sizes share pretrained nets: one lock
            ident = f"{_spec_text(rep)}|{task.name}|{self.root_seed}|{self.split_seed}|{self.device}"
            return "task-" + hashlib.sha256(ident.encode()).hexdigest()[:40]
        return "cell-" + self._key(rep, task, n, 0)[:40]

    def fits(self, rep, task, sizes: Sequence[int], draws: int,
             samples: dict) -> dict[tuple[int, int], FitOutput]:
        if self.cache.root is None:
            return super().fits(rep, task, sizes, draws, samples)
        out: dict[tuple[int, int], FitOutput] = {}
        for n in sizes:
            lock = cell_lock(self.cache.root, self._lock_name(rep, task, n))
            try:
                lock.acquire(timeout=0)
            except TimeoutError:  # another process is fitting it: wait, then read its result
                if self.progress:
                    self.progress(f"{task.name} {rep.fit_spec()['fit']:<16} n={n:<3} waiting for "
                                  "another worker fitting this cell")
                lock.acquire()
            try:
                out.update(super().fits(rep, task, (n,), draws, samples))
            finally:
                lock.release()
        return out
