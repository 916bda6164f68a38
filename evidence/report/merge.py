"""Merging with the report already in the folder: a partial run (``pytest claims -k leek``)
does not wipe the other claims.

With ``write_report(..., merge=True)`` (the plugin's way), every record of the folder's earlier
``claims.json`` whose (id, scale, task) this run did not produce is kept, flagged
``from_earlier_run`` with the ``made_by`` (date, commit, options) of the run that made it, and so
are its rows of ``runs.csv`` and its digit pairs' mean-image figures. An earlier report that
cannot be read, or of another schema or protocol version, is not merged: a
``ReportMergeWarning`` says so in one line and the report holds this run's records only.
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .records import SCHEMA_VERSION, _dedupe, _key, slug, validate

# --------------------------------------------------------------------------- merging

class ReportMergeWarning(UserWarning):
    """An earlier report in the report folder was not merged (or only in part)."""


#: what a record's ``made_by`` copies from the run that made it
_MADE_BY = ("started", "git_sha", "seed", "split_seed", "scale", "device", "data_source",
            "pytest_args")


def _made_by(run: Mapping) -> dict:
    made = {k: run[k] for k in _MADE_BY if run.get(k) is not None}
    if "started" not in made and run.get("written"):
        made["started"] = run["written"]
    return made


def _merge_note(path: Path, why: str) -> None:
    warnings.warn(ReportMergeWarning(
        f"{path}: the earlier report is not merged ({why}); this report holds this run's "
        "records only"), stacklevel=3)


def _protocols(top, claims) -> set:
    """The protocol version(s) of a report: its top-level one if it has one, else those its
    records carry (None for a record without one; ERROR records, which have no verdict, left
    out). An empty set says nothing."""
    if top is not None:
        return {top}
    return {c.get("protocol_version") for c in claims if c.get("verdict") != "ERROR"}


def _protocol_text(versions: set) -> str:
    shown = sorted(_or_none(v) for v in versions)
    return shown[0] if len(shown) == 1 else "mixed (" + ", ".join(shown) + ")"


def _earlier_report(out: Path, protocol: set) -> dict | None:
    """The folder's earlier claims.json if it can be merged into this run's report; None (with
    a one-line ReportMergeWarning saying why, unless there is none) otherwise."""
    path = out / "claims.json"
    if not path.exists() and not path.is_symlink():
        return None
    earlier, why = _read_earlier(path, protocol)
    if why:
        _merge_note(path, why)
    return earlier


def _read_earlier(path: Path, protocol: set) -> tuple[dict | None, str | None]:
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, f"it cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    except ValueError as exc:
        return None, f"it is not valid JSON: {exc}"
    if not isinstance(earlier, dict):
        return None, "it is not a JSON object"
    version = earlier.get("schema_version")
    if version != SCHEMA_VERSION:
        return None, f"its schema version is {version!r}; this run writes {SCHEMA_VERSION!r}"
    import jsonschema

    try:
        validate(earlier)
    except jsonschema.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "the top level"
        what = " ".join(str(exc.message).split())
        return None, (f"it does not fit claims.schema.json at {where}: {what[:120]}"
                      f"{'…' if len(what) > 120 else ''}")
    theirs = _protocols(earlier.get("protocol_version"), earlier["claims"])
    if theirs and protocol and theirs != protocol:
        return None, (f"its protocol version is {_protocol_text(theirs)}; this run's is "
                      f"{_protocol_text(protocol)}")
    return earlier, None


def _or_none(value) -> str:
    return "none" if value is None else repr(value)


def _kept_records(earlier: Mapping, claims: list[dict]) -> list[dict]:
    """The earlier report's records whose (id, scale, task) this run did not produce, flagged
    as from an earlier run, each with the made_by of the run that made it."""
    new = {_key(c) for c in claims}
    fallback = _made_by(earlier.get("run") or {})  # a report written before records had one
    kept = []
    for c in earlier.get("claims") or []:
        if _key(c) in new:
            continue
        c = dict(c)
        if not isinstance(c.get("made_by"), Mapping):
            c["made_by"] = dict(fallback)
        c["from_earlier_run"] = True
        kept.append(c)
    return _dedupe(kept)


_RUN_KEY = ["task", "n", "draw", "contender"]


def _merged_runs(out: Path, runs: pd.DataFrame | None, kept: list[dict]) -> pd.DataFrame | None:
    """This run's rows, then the earlier runs.csv's rows that belong to a kept record (its
    task, one of its contenders, one of its sizes, a draw below its count) and whose
    (task, n, draw, contender) this run does not have."""
    path = out / "runs.csv"
    if not kept or not path.is_file():
        return runs
    try:
        earlier = pd.read_csv(path, dtype={"task": str, "contender": str})
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        _merge_note(path, f"it cannot be read: {exc}")
        return runs
    missing = [k for k in _RUN_KEY if k not in earlier.columns]
    if missing:
        _merge_note(path, f"it has no column {', '.join(missing)}")
        return runs
    limit: dict[tuple, float] = {}  # (task, contender, n) -> draws of the kept record
    for c in kept:
        sizes = c.get("sizes") or sorted({r.get("n") for r in c.get("per_size") or []})
        draws = c.get("draws")
        for task in str(c.get("task")).split("+"):
            for name in c.get("contenders") or []:
                for n in sizes:
                    k = (task, str(name), int(n))
                    limit[k] = max(limit.get(k, 0), math.inf if draws is None else int(draws))
    ours = set()
    if runs is not None and len(runs) and all(k in runs.columns for k in _RUN_KEY):
        ours = set(zip(runs["task"].astype(str), runs["n"].astype(int), runs["draw"].astype(int),
                       runs["contender"].astype(str)))
    mask = []
    for task, n, draw, name in zip(earlier["task"], earlier["n"], earlier["draw"],
                                   earlier["contender"]):
        try:
            n, draw = int(n), int(draw)
        except (TypeError, ValueError):
            mask.append(False)
            continue
        mask.append(draw < limit.get((str(task), str(name), n), -1)
                    and (str(task), n, draw, str(name)) not in ours)
    rows = earlier[np.array(mask, dtype=bool)]
    if runs is None or not len(runs):
        return rows.reset_index(drop=True)
    return pd.concat([runs, rows], ignore_index=True)


def _kept_pair_figures(out: Path, earlier: Mapping, kept: list[dict],
                       pairs: Mapping) -> dict[str, bytes]:
    """The earlier report's mean-image figures of the kept records' digit pairs that this run
    does not draw again (they show the training pool, which the records do not carry)."""
    tasks = {slug(t) for c in kept for t in str(c.get("task")).split("+")}
    tasks -= {slug(t) for t in pairs if t != "regions"}
    found: dict[str, bytes] = {}
    for path in earlier.get("pair_figures") or []:
        name = Path(str(path)).stem
        if (str(path) == f"figures/{name}.png" and name.startswith("mean-images-")
                and name[len("mean-images-"):] in tasks):
            try:
                found[str(path)] = (out / str(path)).read_bytes()
            except OSError:
                pass
    return found
