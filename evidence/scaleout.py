"""Scale-out: several processes on one result cache (``pytest -n``), and a Dask cluster as the
engine for big grids (``--dask``).

**One cache, several processes.**
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

**A Dask cluster.** ``--dask ADDRESS`` (a running scheduler, ``tcp://host:8786``) or
``--dask local:N`` (a ``LocalCluster`` of N single-threaded worker processes) makes the run's
engine a ``DaskEngine``: before a claim's curve is assembled, every cell it lacks (each
contender's draws at each size, in the contender's fit groups) goes to the cluster as one task;
the driver gathers the fits as they arrive (a progress line per cell), writes them to its result
cache, and the curve is then read from there exactly as a serial run would. A worker rebuilds
the data from the same source (the bundled digits, or the same ``--mnist-dir`` path, which a
remote worker must also see) and fits with the same seeds, so the numbers are a serial run's.
A worker that dies has its tasks rerun elsewhere by Dask; a fit arrives once, whoever made it.
A contender whose draws share a pretrained net across sizes sends each draw's pretraining as a
task of its own (the workers pretrain side by side and cache the nets), then each group of
draws with all its sizes as one task that waits for its nets (``task_batches``), so that each
net is trained once.

This module is outside the code that keys the cache (``evidence/codehash.py``): where a cell is
fitted changes who fits it, never what the fit gives, so a cached fit stays valid whichever
engine made it.
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from evidence.curves import Engine, FitOutput, ResultCache, _spec_text
from evidence.data import load_source
from evidence.tasks import get_task

__all__ = ["LockedEngine", "DaskEngine", "DaskError", "cell_lock", "connect", "task_batches"]


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
            lock.acquire()  # if another process is fitting the cell: wait, then read its fits
            try:
                out.update(super().fits(rep, task, (n,), draws, samples))
            finally:
                lock.release()
        return out


# ----------------------------------------------------------------------------------- Dask
class DaskError(RuntimeError):
    """``--dask`` cannot be used as given; the message is one line saying why and what to do."""


def connect(spec: str, timeout: float = 10.0):
    """A ``distributed.Client`` for ``--dask SPEC``: ``local:N`` starts a LocalCluster of N
    single-threaded worker processes; anything else is a scheduler's address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - it is in requirements.txt
        raise DaskError(f"--dask needs dask[distributed] ({exc}); pip install -r requirements.txt") from None
    spec = str(spec).strip()
    if spec.startswith("local:") or spec == "local":
        text = spec.partition(":")[2] or "0"
        if not text.isdigit() or int(text) < 1:
            raise DaskError(f"--dask {spec}: give local:N with N ≥ 1 worker processes, e.g. local:2")
        cluster = LocalCluster(n_workers=int(text), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    if "://" not in spec and ":" not in spec:
        raise DaskError(f"--dask {spec}: not an address; give a scheduler's address such as "
                        "tcp://host:8786, or local:N for N local worker processes")
    try:
        return Client(spec, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        why = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DaskError(f"--dask {spec}: no Dask scheduler answered within {timeout:g} s ({why}); "
                        "start one (`dask scheduler`) or use --dask local:N") from None


@functools.lru_cache(maxsize=4)
def _worker_engine(mnist_dir, root_seed, split_seed, device, cache_dir) -> Engine:
    """The engine a worker fits with: the driver's data, seeds and device. Its result cache
    holds only what fits make for themselves (pretrained nets); the driver caches the fits."""
    return Engine(load_source(mnist_dir), root_seed, split_seed, device, ResultCache(cache_dir))


def _pretrain_draws(setup: tuple, rep, task_name: str, draws: list[int]) -> list[int]:
    """A Dask task: train (or find in the result cache) the pretrained nets of ``draws`` that
    ``rep`` fine-tunes, so that the fit tasks after it load them."""
    engine = _worker_engine(*setup)
    rep.pretrained(engine.source, get_task(task_name), engine.root_seed, engine.cache.root,
                   engine.device, draws)
    return draws


def _fit_cells(setup: tuple, rep, task_name: str, cells: list[tuple[int, list[int]]], *after
               ) -> list[tuple[int, list[int], list[FitOutput], float]]:
    """A Dask task: fit each (n, draws) cell of ``rep`` on the task; (n, draws, fits, seconds).
    ``after``: the results of the tasks it waits for (its draws' pretrained nets)."""
    engine = _worker_engine(*setup)
    task = get_task(task_name)
    td = engine.task_data(task)
    out = []
    for n, part in cells:
        samples = engine.draws(task, (n,), max(part) + 1)
        t0 = time.perf_counter()
        fits = engine._fit_cell(rep, task, n, part, samples, td)
        out.append((n, part, fits, time.perf_counter() - t0))
    return out


def task_batches(cells: list[tuple[int, list[int]]], shares_nets: bool
                 ) -> list[list[tuple[int, list[int]]]]:
    """The Dask tasks of one contender's missing ``(n, draws)`` cells: a task per cell, or, for
    a contender whose draws share a pretrained net across sizes (``shares_nets``), a task per
    group of draws with all its sizes, so that a task needs only its own draws' nets and the
    groups spread over the workers."""
    if not shares_nets:
        return [[c] for c in cells]
    groups: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
    for n, part in cells:
        groups.setdefault(tuple(part), []).append((n, part))
    return list(groups.values())


@dataclass
class DaskEngine(LockedEngine):
    """An engine whose missing cells are fitted on a Dask cluster (``client``) and cached by
    the driver; ``mnist_dir`` tells the workers where the digits are (None: bundled)."""

    client: object = None
    mnist_dir: str | None = None

    def _setup(self) -> tuple:
        root = None if self.cache.root is None else str(self.cache.root)
        return (self.mnist_dir, self.root_seed, self.split_seed, self.device, root)

    def _missing(self, rep, task, n: int, draws: int) -> list[int]:
        missing = []
        for d in range(draws):
            key = self._key(rep, task, n, d)
            if key in self._memo:
                continue
            hit = self.cache.get(key)
            if hit is None:
                missing.append(d)
            else:
                self._memo[key] = hit
        return missing

    def curve(self, *, task, contenders, sizes, draws):
        self.prefetch(task, contenders, sizes, draws)
        return super().curve(task=task, contenders=contenders, sizes=sizes, draws=draws)

    def prefetch(self, task, contenders, sizes: Sequence[int], draws: int) -> int:
        """Fit every missing cell of ``contenders`` on the cluster; returns the cells fitted."""
        from distributed import as_completed

        reps = {_spec_text(c): c for c in contenders}.values()
        futures = {}
        for rep in reps:
            cells = []
            for n in sizes:
                missing = self._missing(rep, task, n, draws)
                group = rep.fit_group_size(self.device) or len(missing) or 1
                cells += [(n, missing[i:i + group]) for i in range(0, len(missing), group)]
            if not cells:
                continue
            shares_nets = getattr(rep, "wants_context", False)
            nets = {}
            if shares_nets and hasattr(rep, "pretrained"):
                # each draw's net is its own task, so that the workers pretrain side by side
                # (they cache the nets; the fit tasks wait for theirs and load them)
                for d in sorted({d for _, part in cells for d in part}):
                    nets[d] = self.client.submit(_pretrain_draws, self._setup(), rep, task.name,
                                                 [d], pure=False)
            for batch in task_batches(cells, shares_nets):
                after = [nets[d] for d in sorted({d for _, part in batch for d in part})
                         if d in nets]
                fut = self.client.submit(_fit_cells, self._setup(), rep, task.name, batch,
                                         *after, pure=False)
                futures[fut] = rep
        done = 0
        for fut, result in as_completed(list(futures), with_results=True):
            rep = futures[fut]
            for n, part, fits, seconds in result:
                for d, fit in zip(part, fits):
                    key = self._key(rep, task, n, d)
                    self.cache.put(key, fit)
                    self._memo[key] = fit
                done += 1
                if self.progress:
                    self.progress(f"{task.name} {rep.name:<22} n={n:<3} "
                                  f"{len(part)} draw(s) fitted on the cluster in {seconds:5.1f}s")
        return done
