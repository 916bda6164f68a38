"""Claim records and the files that hold them: the schema and its validation, plain-JSON
conversion, atomic writes, figure names (``slug``), ``runs.csv``, reading a report back, and the
check that a folder can hold a report.

Units: in a claim record, ``effect``, ``ci_low``/``ci_high`` (the 90% two-sided interval, whose
ends are one-sided 95% bounds) and ``mde`` are differences of test accuracy as fractions
(0.01 = one accuracy point); the pages show them in points. Per-size accuracies are fractions
and their ``ci_low``/``ci_high`` are the 95% interval of the mean over draws.
"""
from __future__ import annotations

import datetime as _dt
import enum
import functools
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd


SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "claims.schema.json"
RUNS_COLUMNS = ("task", "n", "draw", "contender", "test_acc", "train_acc", "fit_seconds",
                "redraws", "device", "source")


VERDICTS = ("SUPPORTED", "REFUTED", "INCONCLUSIVE", "ERROR")


_SURPRISES = ("failed", "xpassed", "error")  # outcomes that turn CI red


def _num(value) -> float | None:
    """A finite float, or None (None, NaN, inf, pandas NA, non-numbers)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def jsonable(obj, where: str = "report"):
    """Plain JSON types: numpy scalars/arrays to Python, NaN/inf/NA to None, keys to str."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, enum.Enum):
        return obj.value if isinstance(obj.value, (str, int, float)) else obj.name
    if isinstance(obj, Mapping):
        return {str(jsonable(k, where)): jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(list(obj))]
    if isinstance(obj, (set, frozenset)):
        return [jsonable(v, where) for v in sorted(obj, key=str)]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (_dt.datetime, _dt.date, pd.Timestamp)):
        return obj.isoformat()
    if obj is pd.NA or obj is pd.NaT:
        return None
    raise TypeError(
        f"{where}: cannot write a {type(obj).__name__} into claims.json; "
        "give plain numbers, strings, lists or dicts"
    )


def _atomic_write(path: Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, then os.replace it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _key(claim: Mapping) -> tuple[str, str, str]:
    return (str(claim.get("id")), str(claim.get("scale")), str(claim.get("task")))


def _dedupe(claims) -> list[dict]:
    """One record per (id, scale, task): the last one given, at the first one's position."""
    kept: dict[tuple, dict] = {}
    for claim in claims:
        kept[_key(claim)] = claim
    return list(kept.values())


def slug(claim_id: str) -> str:
    """A filesystem-safe name for a claim id (or ``id@task``, ``id@task@scale``).

    ``"leek/leekasso-beats-naive-dnn@4v9"`` -> ``"leek__leekasso-beats-naive-dnn_4v9"``.
    Only ASCII letters, digits, ``.``, ``_`` and ``-``; never empty, never starting with ``.``
    or ``-``, never ending with ``.``, not a reserved Windows device name, at most 100
    characters (longer ids are cut and end in a hash of the whole id).
    """
    text = str(claim_id)
    out = text.replace("/", "__").replace("\\", "__").replace("@", "_")
    out = re.sub(r"[^A-Za-z0-9._-]", "_", out)
    out = out.lstrip(".-").rstrip(".")
    if not out:
        out = "claim"
    if out.split(".")[0].upper() in _WINDOWS_RESERVED:
        out = "_" + out
    if len(out) > 100:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        out = out[:89].rstrip(".") + "_" + digest
    return out


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                     *(f"LPT{i}" for i in range(10))}


@functools.lru_cache(maxsize=1)


def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(report: dict) -> None:
    """Validate a report dict against claims.schema.json; raises jsonschema.ValidationError."""
    import jsonschema

    jsonschema.validate(report, _schema(), cls=jsonschema.Draft202012Validator)


def load_report(out_dir: str | os.PathLike) -> dict:
    """Read and validate an existing report's claims.json."""
    report = json.loads((Path(out_dir) / "claims.json").read_text(encoding="utf-8"))
    validate(report)
    return report


# --------------------------------------------------------------------------- the report folder

class ReportDirError(ValueError):
    """The report folder cannot be used; the message is "PATH: the problem; the fix"."""


def check_report_dir(path: str | os.PathLike) -> None:
    """Raise ReportDirError unless ``path`` is, or can be created as, a writable folder for a
    report: not a file, not under a file, writable (checked by creating and removing a probe
    file, in the folder or in its nearest existing parent; the folder itself is not created),
    and with no file where the report writes its figures folder, nor a folder where it
    writes a file."""
    given = Path(path)
    try:
        _check_report_dir(given)
    except OSError as exc:  # e.g. a parent that cannot be searched
        raise ReportDirError(f"{given}: cannot be checked ({exc.strerror or exc}); give a "
                             "directory you can write to") from None


def _check_report_dir(given: Path) -> None:
    if given.is_symlink() and not given.exists():
        raise ReportDirError(f"{given}: it is a broken symbolic link; give a directory (it is "
                             "created if missing), or remove the link")
    if given.exists() and not given.is_dir():
        raise ReportDirError(f"{given}: it is a file, not a directory; give a directory (it is "
                             "created if missing), or move the file away")
    target = given
    while not target.exists() and target.parent != target:
        target = target.parent
    creating = target != given
    if creating and not target.is_dir():
        raise ReportDirError(f"{given}: it cannot be created: {target} is a file, not a "
                             "directory; give a directory whose parents are directories")
    try:
        fd, probe = tempfile.mkstemp(dir=target, prefix=".claims-report-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = (f"it cannot be created: cannot write into {target}" if creating
                 else "cannot write into it")
        raise ReportDirError(f"{given}: {where} ({exc.strerror or exc}); give a directory you "
                             "can write to") from None
    if creating:
        return
    figures = given / "figures"
    if figures.exists() and not figures.is_dir():
        raise ReportDirError(f"{given}: {figures} is a file, but the report writes its figures "
                             "into a folder of that name; remove the file or give another directory")
    for name in ("claims.json", "claims.md", "index.html", "runs.csv"):
        if (given / name).is_dir():
            raise ReportDirError(f"{given}: {given / name} is a directory, but the report writes "
                                 "a file of that name; remove it or give another directory")


# --------------------------------------------------------------------------- runs.csv

def _runs_csv(runs: pd.DataFrame | None) -> str:
    if runs is None:
        runs = pd.DataFrame(columns=list(RUNS_COLUMNS))
    if not isinstance(runs, pd.DataFrame):
        raise TypeError(f"runs must be a pandas DataFrame, not {type(runs).__name__}")
    order = [c for c in ("task", "contender", "n", "draw") if c in runs.columns]
    if order and len(runs):
        runs = runs.sort_values(order, kind="mergesort")
    return runs.to_csv(index=False, lineterminator="\n")
