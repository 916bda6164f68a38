"""Learning curves: contenders × sizes × draws → a tidy DataFrame of paired runs, cached.

For every (task, n, draw) the training images come from :mod:`evidence.draws` (the same draw
for every contender: the paired design) and the test set is the task's fixed test set.
Contenders whose ``fit_spec`` is equal share one fit (a different label rule on the same fitted
net costs nothing). All draws of a (fit, n) cell are fitted in one call to the contender's
``fit_many`` (batched training for the nets), or in groups of the contender's
``fit_group_size`` (the CPU CNN), each group cached as soon as it is done.

Each fit is cached on disk, one file per (fit spec, task, data, seeds, n, draw, device, code
version), written atomically as soon as its cell is done: an interrupted run resumes where it
stopped and gives the same numbers. A corrupt entry is reported, deleted and refitted. The code
version (``evidence/codehash.py``) hashes the project modules the contender's classes import,
transitively, together with those this module imports to load the data, draw the samples and
run the fits, and the versions of torch, numpy, scipy and scikit-learn: an edit to any of them
refits that contender, an edit elsewhere (the statistics, the report, another contender) does
not.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from evidence import codehash
from evidence.data import DataError, Source
from evidence.draws import Draw, contender_seed, draw_sample
from models.base import Contender, FitOutput

__all__ = ["ResultCache", "Engine", "FitContext", "code_version", "CACHE_FORMAT"]

CACHE_FORMAT = 1


def code_version(contender: Contender, root=codehash.ROOT) -> str:
    """Hash of the code a fit of ``contender`` depends on (``codehash.fit_code_version``): the
    import closure of its classes' modules and of this module, and the library versions.
    Editing any file of it invalidates that contender's cached fits."""
    return codehash.fit_code_version(contender, root, salt=f"cache-format-{CACHE_FORMAT}")


class ResultCache:
    """Fits on disk, one ``.npz`` per key; ``root=None`` keeps nothing."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> FitOutput | None:
        if self.root is None:
            return None
        path = self._path(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                out = FitOutput(z["train_scores"].copy(), z["test_scores"].copy(),
                                float(z["fit_seconds"]), json.loads(str(z["info"])))
        except Exception as exc:  # corrupt or truncated: refit, keep going
            warnings.warn(f"result cache entry {path} is unreadable ({type(exc).__name__}); "
                          "deleting it and refitting that draw")
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, key: str, out: FitOutput) -> None:
        if self.root is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, train_scores=out.train_scores, test_scores=out.test_scores,
                         fit_seconds=np.float64(out.fit_seconds),
                         info=np.str_(json.dumps(out.info, sort_keys=True, default=float)))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _spec_text(contender: Contender) -> str:
    return json.dumps(contender.fit_spec(), sort_keys=True, default=repr)


@dataclass
class FitContext:
    """What a contender that depends on more than its training draw (a pretrained net) may
    ask the engine for: the data source, the task, the root seed, which draws these are (the
    draw index of each training set, in order), the result-cache directory (None: keep
    nothing) and the device."""

    source: Source
    task: object  # a task of evidence.tasks (a digit pair for the fine-tuned CNNs)
    root_seed: int
    draws: list[int]
    cache_dir: Path | None
    device: str


@dataclass
class Engine:
    """Fits and caches learning curves for one data source, seed pair and device."""

    source: Source
    root_seed: int
    split_seed: int
    device: str
    cache: ResultCache
    progress: Callable[[str], None] | None = None

    def __post_init__(self):
        self._memo: dict[str, FitOutput] = {}
        self._versions: dict[type | str, str] = {}

    def task_data(self, task):
        """The task's pool and test set (``evidence.tasks``: digit pairs from this engine's
        source, other tasks from their own)."""
        return task.load(self.source, self.split_seed)

    def draws(self, task, sizes: Sequence[int], draws: int) -> dict[tuple[int, int], Draw]:
        td = self.task_data(task)
        return {(n, d): draw_sample(td.pool_y, n=n, draw=d, task=task, root_seed=self.root_seed)
                for n in sizes for d in range(draws)}

    def _key(self, rep: Contender, task, n: int, d: int) -> str:
        version = self._versions.get(type(rep))
        if version is None:
            version = self._versions[type(rep)] = code_version(rep)
        # the module that loads the task's data (and its imports): evidence.data for the digit
        # pairs, which this module imports anyway; evidence.words for the word tasks
        loader = type(task).__module__
        data_code = self._versions.get(loader)
        if data_code is None:
            data_code = self._versions[loader] = codehash.code_version([loader])
        ident = {"spec": _spec_text(rep), "task": task.name, "data_code": data_code,
                 "source": self.task_data(task).source_fingerprint,
                 "split_seed": self.split_seed, "root_seed": self.root_seed, "n": n, "draw": d,
                 "device": self.device.split(":")[0], "code": version}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def _fit_cell(self, rep: Contender, task, n: int, missing: list[int],
                  samples: dict, td) -> list[FitOutput]:
        sets = [(td.pool_X[samples[(n, d)].indices], td.pool_y[samples[(n, d)].indices])
                for d in missing]
        seeds = [contender_seed(root_seed=self.root_seed, task=task, n=n, draw=d,
                                contender=rep.fit_spec()["fit"]) for d in missing]
        if getattr(rep, "wants_context", False):
            ctx = FitContext(self.source, task, self.root_seed, list(missing), self.cache.root,
                             self.device)
            return rep.fit_many(sets, td.test_X, seeds, device=self.device, context=ctx)
        return rep.fit_many(sets, td.test_X, seeds, device=self.device)

    def fits(self, rep: Contender, task, sizes: Sequence[int], draws: int,
             samples: dict) -> dict[tuple[int, int], FitOutput]:
        """The fit of ``rep`` on every (n, draw): from memory, disk, or fitted now, a cell at a
        time, each cell cached as soon as it is done."""
        td = self.task_data(task)
        out = {}
        for n in sizes:
            keys = {d: self._key(rep, task, n, d) for d in range(draws)}
            missing = []
            for d, key in keys.items():
                hit = self._memo.get(key) or self.cache.get(key)
                if hit is None:
                    missing.append(d)
                else:
                    self._memo[key] = hit
                    out[(n, d)] = hit
            if not missing:
                continue
            group = rep.fit_group_size(self.device) or len(missing)
            done = draws - len(missing)
            for start in range(0, len(missing), group):
                part = missing[start:start + group]
                t0 = time.perf_counter()
                fitted = self._fit_cell(rep, task, n, part, samples, td)
                for d, fit in zip(part, fitted):
                    self.cache.put(keys[d], fit)
                    self._memo[keys[d]] = fit
                    out[(n, d)] = fit
                done += len(part)
                if self.progress:
                    self.progress(f"{task.name} {rep.name:<22} n={n:<3} "
                                  f"{len(part)} draw(s) fitted in {time.perf_counter() - t0:5.1f}s"
                                  f" ({done}/{draws} done)")
        return out

    def curve(self, *, task, contenders: Sequence[Contender], sizes: Sequence[int],
              draws: int) -> pd.DataFrame:
        """One row per (n, draw, contender): test and train accuracy, fit seconds, redraws."""
        if not contenders:
            raise ValueError("curve() needs at least one contender")
        names = [c.name for c in contenders]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"contender names must be unique: {', '.join(map(repr, twice))} is given more "
                "than once. A contender's name is its class's name plus the parameters given "
                "other values (Leekasso(n_pixels=20) is 'leekasso(n_pixels=20)'): pass each "
                "setting once, or give a new class its own name = '...'")
        if draws < 2:
            raise DataError(f"draws={draws}: the paired statistics need at least 2 draws per "
                            "size; use --draws 2 or more")
        td = self.task_data(task)
        samples = self.draws(task, sizes, draws)
        groups: dict[str, list[Contender]] = {}
        for c in contenders:
            groups.setdefault(_spec_text(c), []).append(c)
        rows = []
        for members in groups.values():
            fits = self.fits(members[0], task, sizes, draws, samples)
            for c in members:
                for (n, d), fit in fits.items():
                    y_train = td.pool_y[samples[(n, d)].indices]
                    test_pred = c.label_with(fit.train_scores, y_train, fit.test_scores, fit.info)
                    train_pred = c.label_with(fit.train_scores, y_train, fit.train_scores, fit.info)
                    rows.append({
                        "task": task.name, "n": n, "draw": d, "contender": c.name,
                        "test_acc": float(np.mean(test_pred == td.test_y)),
                        "train_acc": float(np.mean(train_pred == y_train)),
                        "fit_seconds": fit.fit_seconds,
                        "redraws": samples[(n, d)].redraws,
                        "device": self.device, "source": td.source,
                        **{f"info_{k}": fit.info[k] for k in sorted(fit.info)},
                    })
        df = pd.DataFrame(rows)
        return df.sort_values(["contender", "n", "draw"], kind="stable").reset_index(drop=True)
