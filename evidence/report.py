"""The report writer: claim records -> reports/ (claims.json, runs.csv, claims.md, index.html,
figures/<slug>.png).

Units: in a claim record, ``effect``, ``ci_low``/``ci_high`` (the 90% two-sided interval, whose
ends are one-sided 95% bounds) and ``mde`` are differences of test accuracy as fractions
(0.01 = one accuracy point); the report shows them in points. Per-size accuracies are fractions
and their ``ci_low``/``ci_high`` are the 95% interval of the mean over draws.

Every file is written atomically (temporary file in the same folder, then ``os.replace``), and
``claims.json`` is written last, so an interrupted run leaves either the previous report or the
new one, never a half-written file. ``runs.csv`` (the raw per-draw results) is written first, even
if the claim records then fail validation.

A partial run (``pytest claims -k leek``) does not wipe the other claims: with ``merge=True``
(the plugin's way), every record of the folder's earlier ``claims.json`` whose (id, scale, task)
this run did not produce is kept, flagged ``from_earlier_run`` with the ``made_by`` (date,
commit, options) of the run that made it, and so are its rows of ``runs.csv``. An earlier report
that cannot be read, or of another schema or protocol version, is not merged: a
``ReportMergeWarning`` says so in one line and the report holds this run's records only.

``check_report_dir`` tells, before anything is fitted, whether a folder can hold a report.

Rebuild the Markdown, HTML and figures of an existing report without re-running anything::

    python -m evidence.report reports/
"""

from __future__ import annotations

import base64
import datetime as _dt
import enum
import functools
import hashlib
import html
import io
import json
import math
import os
import platform as _platform
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_PATH",
    "RUNS_COLUMNS",
    "write_report",
    "load_report",
    "check_report_dir",
    "ReportDirError",
    "ReportMergeWarning",
    "slug",
    "verdict_table",
    "validate",
    "plot_claim",
    "contender_colour",
]

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("claims.schema.json")
RUNS_COLUMNS = ("task", "n", "draw", "contender", "test_acc", "train_acc", "fit_seconds",
                "redraws", "device", "source")

VERDICTS = ("SUPPORTED", "REFUTED", "INCONCLUSIVE", "ERROR")
# (text, background) per verdict, for HTML; line colour for figures
_VERDICT_HTML = {
    "SUPPORTED": ("#0f5323", "#d3f5db"),
    "REFUTED": ("#8c0d1f", "#ffe0dc"),
    "INCONCLUSIVE": ("#6b4400", "#ffefb3"),
    "ERROR": ("#3d444d", "#e3e7ec"),
}
_VERDICT_LINE = {"SUPPORTED": "#1a7f37", "REFUTED": "#cf222e", "INCONCLUSIVE": "#9a6700",
                 "ERROR": "#57606a"}
_SURPRISES = ("failed", "xpassed", "error")  # outcomes that turn CI red

# Colour-blind-friendly palette: Okabe & Ito (yellow left out: unreadable on white), then
# Paul Tol's muted scheme. Known contenders have fixed colours; any other name gets a colour
# from a stable hash of its name, so it is the same in every figure of every run.
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
            "#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733", "#88CCEE")
_FIXED_COLOURS = {
    "leekasso": "#0072B2",
    "naive_dnn": "#D55E00",
    "naive_dnn_argmax": "#E69F00",
    "beam_cnn": "#009E73",
    "beam_mlp": "#CC79A7",
    "beam_leek_net": "#882255",
    "beam_leek_net_no_decay": "#44AA99",
    "beam_leekasso": "#56B4E9",
    "centre_edge_rule": "#999933",
    "well_trained_leek_net": "#000000",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


# --------------------------------------------------------------------------- small helpers

def _stable_index(name: str, modulo: int) -> int:
    return int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:4], "big") % modulo


def contender_colour(name: str) -> str:
    """The colour of a contender in every figure (fixed for known names, else by name hash)."""
    return _FIXED_COLOURS.get(name) or _PALETTE[_stable_index(name, len(_PALETTE))]


def _num(value) -> float | None:
    """A finite float, or None (None, NaN, inf, pandas NA, non-numbers)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _jsonable(obj, where: str = "report"):
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
        return {str(_jsonable(k, where)): _jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(list(obj))]
    if isinstance(obj, (set, frozenset)):
        return [_jsonable(v, where) for v in sorted(obj, key=str)]
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


def _pts(x, signed: bool = True) -> str | None:
    x = _num(x)
    if x is None:
        return None
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"


def _ci_pts(lo, hi) -> str:
    lo_s, hi_s = _pts(lo), _pts(hi)
    if lo_s is None and hi_s is None:
        return ""
    return f"[{lo_s or '?'}, {hi_s or '?'}]"


def _effect_text(claim: Mapping, *, unit: bool = True) -> str:
    eff = _pts(claim.get("effect"))
    if eff is None:
        return "-"
    ci = _ci_pts(claim.get("ci_low"), claim.get("ci_high"))
    text = f"{eff} {ci}".strip()
    u = claim.get("effect_unit") or "points"
    if unit and u != "points":
        text += f" {u}"
    return text


def _p_text(p) -> str:
    p = _num(p)
    if p is None:
        return "-"
    if p < 1e-4:
        return "<1e-4"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3f}"


def _acc(x, digits: int = 3) -> str:
    x = _num(x)
    return "-" if x is None else f"{x:.{digits}f}"


def _outcome_text(claim: Mapping) -> str:
    expected = claim.get("expected") or "-"
    outcome = claim.get("outcome") or "-"
    flag = "!" if outcome in _SURPRISES else ""
    return f"{flag}{expected}/{outcome}"


def _title(claim: Mapping) -> str:
    return f"{claim.get('id')} @ {claim.get('task')} ({claim.get('scale')})"


def _secs(x) -> str:
    x = _num(x)
    if x is None:
        return "-"
    return f"{x:.3g}" if x < 10 else f"{x:.1f}"


# --------------------------------------------------------------------------- public API

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


def verdict_table(claims: list[dict]) -> str:
    """A plain-text, column-aligned verdict table for the terminal."""
    header = ("claim", "task", "scale", "verdict", "effect, points [90% CI]", "p",
              "expected/outcome")
    rows = [header]
    for c in _dedupe(claims):
        mark = " *" if c.get("from_earlier_run") else ""
        rows.append((str(c.get("id")) + mark, str(c.get("task", "-")), str(c.get("scale", "-")),
                     str(c.get("verdict", "-")), _effect_text(c), _p_text(c.get("p_value")),
                     _outcome_text(c)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    right = {4, 5}

    def line(r):
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i])
                 for i in range(len(r))]
        return "  ".join(cells).rstrip()

    out = [line(rows[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows[1:]]
    counts = _verdict_counts(claims)
    if counts:
        out.append(f"{len(rows) - 1} claim(s): " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if any(str(c.get("outcome")) in _SURPRISES for c in claims):
        out.append("! = the pytest outcome differs from what the suite expects")
    if any(c.get("from_earlier_run") for c in claims):
        out.append("* = from an earlier run, not re-run by this one (made_by in claims.json)")
    return "\n".join(out)


def _verdict_counts(claims) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in _dedupe(claims):
        v = str(c.get("verdict"))
        counts[v] = counts.get(v, 0) + 1
    return {k: counts[k] for k in (*VERDICTS, *sorted(set(counts) - set(VERDICTS))) if k in counts}


def plot_claim(claim: dict, path: Path) -> None:
    """Write the claim's learning-curve figure (PNG) to ``path`` (atomically)."""
    _atomic_write(Path(path), _render_png(claim))


def write_report(out_dir: str | os.PathLike, *, run: dict, claims: list[dict],
                 runs: pd.DataFrame | None, pairs: Mapping | None = None, merge: bool = False,
                 protocol_version: int | None = None, adjust=None) -> Path:
    """Write claims.json, runs.csv, claims.md, index.html and figures/<slug>.png to out_dir.

    Claim records with the same (id, scale, task) are collapsed to the last one given; each
    record without a ``made_by`` gets this run's (date, commit, seeds, device, data, scale,
    pytest args). ``protocol_version`` (or ``run["protocol_version"]``) is written at the top
    level when given; without it, the records' own ``protocol_version`` fields stand for it
    when merging. With ``merge=True`` the records (and their runs.csv rows) of an earlier
    report in out_dir that this run did not produce are kept, flagged ``from_earlier_run``
    (see the module docstring). ``adjust``, if given, is called on the merged records before
    they are written (the plugin passes the probes' Holm adjustment). Raises jsonschema.ValidationError (after writing runs.csv) if
    the records do not fit the schema.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    run_j = _jsonable(dict(run), "run")
    run_j.setdefault("python", _platform.python_version())
    run_j.setdefault("platform", _platform.platform())
    run_j.setdefault("written", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    protocol = _jsonable(protocol_version if protocol_version is not None
                         else run_j.get("protocol_version"), "protocol_version")
    claims_j = _dedupe(_jsonable(dict(c), f"claims[{i}]") for i, c in enumerate(claims))
    made_by = _made_by(run_j)
    for c in claims_j:
        c.setdefault("made_by", dict(made_by))
        c.setdefault("from_earlier_run", False)

    # an earlier report in out_dir: its records this run did not produce, and their rows
    kept: list[dict] = []
    kept_pair_pngs: dict[str, bytes] = {}
    if merge:
        earlier = _earlier_report(out, _protocols(protocol, claims_j))
        if earlier is not None:
            kept = _kept_records(earlier, claims_j)
            runs = _merged_runs(out, runs, kept)
            kept_pair_pngs = _kept_pair_figures(out, earlier, kept, pairs or {})
    claims_j = claims_j + kept
    if adjust is not None:  # whole-report steps over the merged records (the probes' Holm family)
        adjust(claims_j)

    # 1. the raw per-draw results first: they are the expensive part
    _atomic_write(out / "runs.csv", _runs_csv(runs))

    # 2. the report dict: plain JSON types, one record per (id, scale, task), validated
    used: set[str] = set()
    for c in claims_j:
        c.pop("figure", None)
        name = slug(f"{c.get('id')}@{c.get('task')}@{c.get('scale')}")
        if name in used:  # two ids that differ only in unsafe characters
            name += "_" + hashlib.sha1(repr(_key(c)).encode()).hexdigest()[:8]
        used.add(name)
        c["figure"] = f"figures/{name}.png"
    report = {"schema_version": SCHEMA_VERSION,
              **({"protocol_version": protocol} if protocol is not None else {}),
              "run": run_j, "claims": claims_j}
    validate(report)

    # 3. figures, then the human-readable pages, then claims.json last
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    pngs: dict[str, bytes] = {}
    for c in claims_j:
        png = _render_png(c)
        _atomic_write(out / c["figure"], png)
        pngs[c["figure"]] = png
    report["pair_figures"] = []
    for name, png in _pair_figures(runs, pairs or {}):
        path = f"figures/{name}.png"
        _atomic_write(out / path, png)
        pngs[path] = png
        report["pair_figures"].append(path)
    for path, png in kept_pair_pngs.items():  # already on disk
        pngs[path] = png
        report["pair_figures"].append(path)
    for stale in figures.glob("*.png"):
        if f"figures/{stale.name}" not in pngs:
            stale.unlink(missing_ok=True)

    _atomic_write(out / "claims.md", _markdown(report))
    _atomic_write(out / "index.html", _html(report, pngs))
    _atomic_write(out / "claims.json",
                  json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    return out


def load_report(out_dir: str | os.PathLike) -> dict:
    """Read and validate an existing report's claims.json."""
    report = json.loads((Path(out_dir) / "claims.json").read_text(encoding="utf-8"))
    validate(report)
    return report


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


# --------------------------------------------------------------------------- figures

def _series(claim: Mapping) -> dict[str, list[dict]]:
    """per_size rows grouped by contender (in the order of claim['contenders'] first)."""
    groups: dict[str, list[dict]] = {}
    for name in claim.get("contenders") or []:
        groups.setdefault(str(name), [])
    for row in claim.get("per_size") or []:
        groups.setdefault(str(row.get("contender")), []).append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: r.get("n") or 0)
    return {k: v for k, v in groups.items() if v}


def _render_png(claim: Mapping) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: no global backend state is touched

    fit_panel = [str(x) for x in claim.get("train_vs_test") or []]
    fig = Figure(figsize=(12, 4.8) if fit_panel else (7, 4.5), dpi=110)
    ax = fig.add_subplot(1, 2, 1) if fit_panel else fig.add_subplot()
    series = _series(claim)
    refs = [r for r in claim.get("references") or [] if r.get("n") and r.get("acc")]

    used_colours: set[str] = set()
    colours: dict[str, str] = {}
    for name in series:  # same contender, same colour; a clash within a figure moves along
        col = contender_colour(name)
        if col in used_colours:
            col = next((p for p in _PALETTE if p not in used_colours), col)
        colours[name] = col
        used_colours.add(col)

    lows: list[float] = []
    all_n: set[int] = set()
    handles: list = []
    for rows in series.values():
        all_n.update(int(r.get("n")) for r in rows)
    for ref in refs:
        all_n.update(int(x) for x in ref["n"])
    span = (max(all_n) - min(all_n)) if all_n else 0
    dodge = 0.012 * span if span else 0.5  # single-size series side by side, not on top
    singles = [name for name, rows in series.items() if len(rows) == 1]
    for i, (name, rows) in enumerate(series.items()):
        col = colours[name]
        marker = _MARKERS[_stable_index(name, len(_MARKERS))]
        n = np.array([r.get("n") for r in rows], dtype=float)
        mean = np.array([_num(r.get("mean_acc")) if _num(r.get("mean_acc")) is not None
                         else np.nan for r in rows], dtype=float)
        lo = np.array([_num(r.get("ci_low")) if _num(r.get("ci_low")) is not None
                       else np.nan for r in rows], dtype=float)
        hi = np.array([_num(r.get("ci_high")) if _num(r.get("ci_high")) is not None
                       else np.nan for r in rows], dtype=float)
        lows.extend(float(x) for x in np.concatenate([lo, mean]) if np.isfinite(x))
        draws = sorted({int(r.get("draws") or 0) for r in rows})
        d_text = f"{draws[0]}" if len(draws) == 1 else f"{draws[0]}-{draws[-1]}"
        label = f"{name} ({d_text} draws)"
        if len(n) > 1:
            ax.fill_between(n, lo, hi, color=col, alpha=0.16, linewidth=0)
            handles += ax.plot(n, mean, color=col, marker=marker, markersize=5, linewidth=1.8,
                               label=label, zorder=3)
        else:
            yerr = np.array([[mean[0] - lo[0]], [hi[0] - mean[0]]])
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
            x = n + dodge * (singles.index(name) - (len(singles) - 1) / 2)
            handles.append(ax.errorbar(x, mean, yerr=yerr, color=col, marker=marker,
                                       markersize=6, capsize=4, linewidth=1.8, label=label,
                                       zorder=3))

    sources: list[str] = []
    for j, ref in enumerate(refs):
        owner = ref.get("contender")
        col = (colours.get(str(owner)) or contender_colour(str(owner))) if owner else "#555555"
        rn = np.array(ref["n"], dtype=float)
        ra = np.array([_num(a) if _num(a) is not None else np.nan for a in ref["acc"]], dtype=float)
        lows.extend(float(x) for x in ra if np.isfinite(x))
        handles += ax.plot(rn, ra, linestyle="--", linewidth=1.1, color=col, marker="o", markersize=5.5,
                markerfacecolor="none", markeredgewidth=1.2, alpha=0.9,
                label=f"{ref.get('label')} (published)", zorder=2)
        src = str(ref.get("source") or "")
        if src and src not in sources:
            sources.append(src)

    if not series and not refs:
        ax.text(0.5, 0.5, f"no per-size results (verdict {claim.get('verdict')})",
                transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#57606a")

    ymin = max(0.0, min(lows) - 0.02) if lows else 0.5
    ax.set_ylim(min(ymin, 0.98), 1.005)
    if all_n:
        ticks = sorted(all_n)
        if len(ticks) <= 18:
            ax.set_xticks(ticks)
        pad = max(2.0, 0.04 * (ticks[-1] - ticks[0]))
        ax.set_xlim(ticks[0] - pad, ticks[-1] + pad)
    ax.set_xlabel("Training set size")
    ax.set_ylabel("Test accuracy")
    _style_axes(ax)
    ax.set_axisbelow(True)
    if series or refs:
        ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9)

    verdict = str(claim.get("verdict"))
    sub = f"{verdict}: effect {_effect_text(claim)} points" if _num(claim.get("effect")) is not None \
        else verdict
    if _num(claim.get("p_value")) is not None:
        sub += f", p = {_p_text(claim.get('p_value'))}"
    fig.suptitle(f"{claim.get('id')}  —  task {claim.get('task')} ({claim.get('scale')})",
                 fontsize=11, fontweight="bold")
    ax.set_title(sub, fontsize=9, color=_VERDICT_LINE.get(verdict, "#24292f"))
    band = ("shaded" if len(singles) < len(series) else "") + \
        (" / " if singles and len(singles) < len(series) else "") + ("bars" if singles else "")
    band = f"{band or 'shaded'}: 95% interval of the mean over draws"
    foot = band + ("; published: " + "; ".join(sources) if sources else "")
    fig.text(0.01, 0.01, foot, fontsize=6.5, color="#57606a", ha="left", va="bottom", wrap=True)
    if fit_panel:
        _train_test_panel(fig.add_subplot(1, 2, 2), series, fit_panel, colours)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.16, wspace=0.18)
    else:
        fig.subplots_adjust(left=0.1, right=0.98, top=0.86, bottom=0.16)

    return _png(fig, dpi=110)


def _style_axes(ax) -> None:
    """The report's plot style: a light grid, no top or right spine."""
    ax.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _png(fig, dpi: int) -> bytes:
    """The figure as PNG bytes, without a timestamped software tag (reproducible files)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _train_test_panel(ax, series: Mapping[str, list[dict]], names: list[str],
                      colours: Mapping[str, str]) -> None:
    """Training (dashed, hollow) against test (solid) accuracy per n: a net that fits its
    draw but tests badly overfits; one that does not even fit its draw is under-trained."""
    lows: list[float] = []
    for name in names:
        rows = series.get(name) or []
        if not rows:
            continue
        col = colours.get(name) or contender_colour(name)
        n = np.array([r.get("n") for r in rows], dtype=float)
        test = np.array([_num(r.get("mean_acc")) for r in rows], dtype=float)
        train = np.array([_num(r.get("mean_train_acc")) if _num(r.get("mean_train_acc")) is not None
                          else np.nan for r in rows], dtype=float)
        lows.extend(float(x) for x in np.concatenate([test, train]) if np.isfinite(x))
        ax.plot(n, test, color=col, marker="o", markersize=4, linewidth=1.8, label=f"{name}: test")
        ax.plot(n, train, color=col, marker="o", markersize=5, linewidth=1.2, linestyle="--",
                markerfacecolor="none", label=f"{name}: train")
    ax.set_ylim(max(0.0, min(lows) - 0.02) if lows else 0.5, 1.005)
    ax.set_xlabel("Training set size")
    ax.set_ylabel("Accuracy")
    ax.set_title("training (dashed) against test (solid) accuracy", fontsize=9)
    _style_axes(ax)
    if lows:
        ax.legend(loc="best", fontsize=7, frameon=True, framealpha=0.9)


_PAIRS_NOTE = ("Per digit pair: the mean image of each digit over the training pool only, and "
               "their difference (red: more ink in the second digit), with the centre/edge "
               "rule's regions outlined (centre solid, edges dashed); and every contender's "
               "learning curve on each pair, side by side.")


def _pair_figures(runs: pd.DataFrame | None, pairs: Mapping) -> list[tuple[str, bytes]]:
    """figures/pairs-curves.png (learning curves per pair, side by side) and
    figures/mean-images-<pair>.png for each pair given in ``pairs``:
    {pair: {"digits": [a, b], "means": [784 floats, 784 floats]}, "regions": {...}}."""
    out = []
    if not pairs:  # drawn for runs of the suite (the plugin passes the pairs' images)
        return out
    tasks = sorted(t for t in runs["task"].unique() if t in pairs) \
        if runs is not None and len(runs) else []
    if tasks:  # the digit pairs only (other tasks have their own claims' figures)
        out.append(("pairs-curves", _render_pair_curves(runs, tasks)))
    regions = pairs.get("regions") or {}
    for task, entry in pairs.items():
        if task == "regions":
            continue
        out.append((f"mean-images-{slug(task)}", _render_mean_images(task, entry, regions)))
    return out


def _render_pair_curves(runs: pd.DataFrame, tasks: list[str]) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(tasks) + 2.2, 4.4), dpi=100)
    axes = [fig.add_subplot(1, len(tasks), i + 1) for i in range(len(tasks))]
    lows = []
    for ax, task in zip(axes, tasks):
        sub = runs[runs["task"] == task]
        for name, g in sub.groupby("contender", sort=True):
            m = g.groupby("n")["test_acc"].mean()
            lows.append(float(m.min()))
            ax.plot(m.index, m.values, marker=_MARKERS[_stable_index(name, len(_MARKERS))],
                    markersize=4, linewidth=1.5, color=contender_colour(name), label=name)
        ax.set_title(f"task {task}", fontsize=10)
        ax.set_xlabel("Training set size")
        _style_axes(ax)
    low = max(0.0, min(lows) - 0.02) if lows else 0.5
    for ax in axes:
        ax.set_ylim(low, 1.005)
    axes[0].set_ylabel("Mean test accuracy")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7, frameon=True, framealpha=0.9)
    fig.suptitle("Learning curves by digit pair (mean over draws)", fontsize=11, fontweight="bold")
    fig.subplots_adjust(left=0.07, right=0.8, top=0.86, bottom=0.13, wspace=0.15)
    return _png(fig, dpi=100)


def _render_mean_images(task: str, entry: Mapping, regions: Mapping) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    a, b = entry["digits"]
    ma, mb = (np.asarray(m, dtype=float).reshape(28, 28) for m in entry["means"])
    fig = Figure(figsize=(9.5, 3.4), dpi=100)
    panels = [(f"mean {a} (training pool)", ma, "gray_r", 0, 255),
              (f"mean {b} (training pool)", mb, "gray_r", 0, 255),
              (f"mean {b} − mean {a}", mb - ma, "RdBu_r", -255, 255)]
    for i, (title, img, cmap, lo, hi) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([0, 4, 8, 12, 16, 20, 24])
        ax.set_yticks([0, 4, 8, 12, 16, 20, 24])
        ax.tick_params(labelsize=6)
        for kind, style in (("centre", "-"), ("edge", "--")):
            for r0, r1, c0, c1 in regions.get(kind, ()):
                ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                       edgecolor="#009E73", linewidth=1.4, linestyle=style))
    fig.suptitle(f"Digit pair {task}: where the ink is", fontsize=11, fontweight="bold")
    fig.subplots_adjust(left=0.03, right=0.99, top=0.82, bottom=0.06, wspace=0.15)
    return _png(fig, dpi=100)


# --------------------------------------------------------------------------- Markdown

def _md_cell(text) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _run_rows(run: Mapping) -> list[tuple[str, str]]:
    rows = [
        ("date", run.get("started") or run.get("written") or "-"),
        ("seed", run.get("seed")),
        ("split seed", run.get("split_seed")),
        ("scale", run.get("scale")),
        ("device", run.get("device")),
        ("data source", run.get("data_source")),
        ("git sha", run.get("git_sha")),
        ("seconds", _secs(run.get("seconds"))),
    ]
    for key, label in (("python", "python"), ("torch", "torch"), ("platform", "platform")):
        if run.get(key):
            rows.append((label, run[key]))
    if run.get("pytest_args") is not None:
        rows.append(("pytest args", " ".join(map(str, run.get("pytest_args") or [])) or "(none)"))
    return [(k, "-" if v is None else str(v)) for k, v in rows]


def _effect_sentence(c: Mapping) -> str:
    unit = c.get("effect_unit") or "points"
    eff = _pts(c.get("effect"))
    parts = []
    if eff is None:
        parts.append("effect: none (no estimate)")
    else:
        ci = _ci_pts(c.get("ci_low"), c.get("ci_high"))
        parts.append(f"effect {eff} {unit}" + (f", 90% CI {ci} (one-sided 95% bounds)" if ci else ""))
    parts.append(f"p = {_p_text(c.get('p_value'))}")
    mde = _pts(c.get("mde"), signed=False)
    parts.append(f"minimum detectable effect {mde} {unit}" if mde else "minimum detectable effect -")
    if _num(c.get("alpha")) is not None:
        parts.append(f"alpha = {_num(c.get('alpha')):g}")
    return "; ".join(parts)


def _design_sentence(c: Mapping) -> str:
    bits = [f"task {c.get('task')}", f"scale {c.get('scale')}"]
    if c.get("draws") is not None:
        bits.append(f"{c.get('draws')} draws per size")
    if c.get("sizes"):
        bits.append("sizes " + ", ".join(map(str, c["sizes"])))
    bits.append(f"pool {c.get('pool_size')} images, test set {c.get('test_size')} images")
    if c.get("data_source"):
        bits.append(f"data {c['data_source']}")
    if c.get("device"):
        bits.append(f"device {c['device']}")
    bits.append(f"runtime {_secs(c.get('runtime_s'))} s")
    return "; ".join(bits)


def _fit_sentence(c: Mapping) -> str:
    """Mean training against test accuracy (over sizes) for the claim's train_vs_test nets."""
    parts = []
    for name in c.get("train_vs_test") or []:
        rows = [r for r in c.get("per_size") or [] if r.get("contender") == name]
        train = [_num(r.get("mean_train_acc")) for r in rows if _num(r.get("mean_train_acc")) is not None]
        test = [_num(r.get("mean_acc")) for r in rows if _num(r.get("mean_acc")) is not None]
        if train and test:
            parts.append(f"{name}: train {np.mean(train):.3f}, test {np.mean(test):.3f}")
    return ("Mean over sizes of training and test accuracy — " + "; ".join(parts) + ". A net "
            "that fits its draw but tests badly overfits; one that does not fit its draw is "
            "under-trained. The figure's right panel shows them per n.")


def _per_size_rows(c: Mapping) -> list[tuple[str, ...]]:
    rows = []
    has_train = any(_num(r.get("mean_train_acc")) is not None for r in c.get("per_size") or [])
    order = {str(name): i for i, name in enumerate(c.get("contenders") or [])}

    def sort_key(r):
        name = str(r.get("contender"))
        return (r.get("n") or 0, order.get(name, len(order)), name)

    for r in sorted(c.get("per_size") or [], key=sort_key):
        se = _num(r.get("se_test"))
        mean = _acc(r.get("mean_acc")) + (f" ± {se:.3f}" if se is not None else "")
        ci = f"[{_acc(r.get('ci_low'))}, {_acc(r.get('ci_high'))}]"
        row = (str(r.get("n")), str(r.get("contender")), mean, ci, str(r.get("draws")))
        if has_train:
            row += (_acc(r.get("mean_train_acc")),)
        rows.append(row)
    return rows


def _per_size_header(c: Mapping) -> tuple[str, ...]:
    head = ("n", "contender", "mean test acc ± SE (test set)", "95% CI (draws)", "draws")
    if any(_num(r.get("mean_train_acc")) is not None for r in c.get("per_size") or []):
        head += ("mean train acc",)
    return head


def _md_table(header, rows, right=()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in rows]
    return out


def _anchor(c: Mapping) -> str:
    return Path(c["figure"]).stem


def _earlier_tag(c: Mapping) -> str | None:
    """'earlier run: <date>, <commit>' for a record kept from an earlier run, else None."""
    if not c.get("from_earlier_run"):
        return None
    made = c.get("made_by") or {}
    date = str(made.get("started") or "date unknown")[:10]
    return f"earlier run: {date}, commit {made.get('git_sha') or 'unknown'}"


def _earlier_sentence(c: Mapping) -> str:
    made = c.get("made_by") or {}
    opts = [f"{label} {made[key]}" for key, label in (
        ("seed", "seed"), ("split_seed", "split seed"), ("scale", "scale"), ("device", "device"),
        ("data_source", "data")) if made.get(key) is not None]
    args = made.get("pytest_args")
    if args is not None:
        opts.append("pytest arguments: " + (" ".join(map(str, args)) or "(none)"))
    return ("This record comes from an earlier run, not from the run described under \"Run\" "
            f"(which did not re-run it): started {made.get('started') or 'at an unknown date'}, "
            f"commit {made.get('git_sha') or 'unknown'}" + ("; " + "; ".join(opts) if opts else "")
            + ".")


def _earlier_note(claims) -> str | None:
    earlier = sum(bool(c.get("from_earlier_run")) for c in claims)
    if not earlier:
        return None
    if earlier == 1:
        return (f"1 of these {len(claims)} records comes from an earlier run: this run did not "
                "re-run it, so it was kept from the report already in this folder. It is marked "
                "\"earlier run\" with the date and commit of the run that made it; its section "
                "gives that run's options.")
    return (f"{earlier} of these {len(claims)} records come from earlier runs: this run did not "
            "re-run them, so they were kept from the report already in this folder. Each is "
            "marked \"earlier run\" with the date and commit of the run that made it; its "
            "section gives that run's options.")


def _summary_rows(claims) -> list[tuple[str, ...]]:
    return [(str(c.get("id")), str(c.get("task")), str(c.get("scale")), str(c.get("verdict")),
             _effect_text(c), _p_text(c.get("p_value")), _outcome_text(c)) for c in claims]


_SUMMARY_HEADER = ("claim", "task", "scale", "verdict", "effect, points [90% CI]", "p",
                   "expected / outcome")
_UNITS_NOTE = ("Effects are differences of mean test accuracy in points (1 point = 0.01), averaged "
               "with equal weight over the scale's sizes; the 90% interval's ends are one-sided 95% "
               "bounds. \"!\" marks a pytest outcome that differs from what the suite expects.")


_PRETRAIN_HEADER = ("claim", "contender", "pretrained on", "images", "nets",
                    "seconds per net (median, max)", "trained in this run")
_PRETRAIN_NOTE = ("Pretraining is paid once per net, not per draw, so it is not in any fit "
                  "seconds: a net's seconds are the wall time of its training, measured when it "
                  "was trained (read back from the cache otherwise).")


def _pretraining_rows(claims) -> list[tuple[str, ...]]:
    rows = []
    for c in claims:
        for p in c.get("pretraining") or []:
            secs = [float(n.get("seconds") or 0.0) for n in p.get("nets") or []]
            fresh = sum(bool(n.get("trained_in_this_run")) for n in p.get("nets") or [])
            classes = p.get("classes") or []
            rows.append((str(c.get("id")), str(p.get("contender")),
                         f"{p.get('source')} ({p.get('domain')}, {len(classes)} classes, "
                         f"{p.get('epochs')} epochs)",
                         f"{int(p.get('images') or 0):,}", str(len(secs)),
                         f"{np.median(secs):.1f}, {max(secs):.1f}" if secs else "-",
                         f"{fresh} of {len(secs)}"))
    return rows


def _markdown(report: Mapping) -> str:
    run, claims = report["run"], report["claims"]
    counts = _verdict_counts(claims)
    L = ["# Claim verification report", ""]
    L.append(f"{len(claims)} claim record(s): "
             + (", ".join(f"{v} {k}" for k, v in counts.items()) or "none")
             + f". Schema version {report['schema_version']}; data: `claims.json`, `runs.csv`.")
    if report.get("protocol_version") is not None:
        L[-1] += f" Protocol version {report['protocol_version']}."
    note = _earlier_note(claims)
    if note:
        L += ["", f"**{note}**"]
    L += ["", "## Run", ""]
    L += _md_table(("", ""), _run_rows(run))
    L += ["", "## Verdicts", ""]
    rows = []
    for c, r in zip(claims, _summary_rows(claims)):
        tag = _earlier_tag(c)
        rows.append((f"[{r[0]}](#{_anchor(c)})" + (f" ({tag})" if tag else ""), r[1], r[2],
                     f"**{r[3]}**", *r[4:]))
    L += _md_table(_SUMMARY_HEADER, rows, right={4, 5})
    L += ["", _UNITS_NOTE, ""]
    pretraining = _pretraining_rows(claims)
    if pretraining:
        L += ["## Pretraining cost", "", _PRETRAIN_NOTE, ""]
        L += _md_table(_PRETRAIN_HEADER, pretraining, right={3, 4, 5})
        L.append("")
    if report.get("pair_figures"):
        L += ["## Digit pairs", "", _PAIRS_NOTE, ""]
        L += [f"![{path}]({path})" for path in report["pair_figures"]] + [""]
    for c in claims:
        L += [f'<a id="{_anchor(c)}"></a>', "", f"## {_title(c)}", ""]
        if c.get("from_earlier_run"):
            L += [f"**From an earlier run.** {_earlier_sentence(c)}", ""]
        L += [f"**Statement.** {c.get('statement')}", "",
              f"**Source.** {c.get('source')}", "",
              f"**Rule.** {c.get('rule')}", "",
              f"**Verdict.** **{c.get('verdict')}** (expected {c.get('expected')}, "
              f"pytest outcome {c.get('outcome') or '-'})", "",
              f"**Effect.** {_effect_sentence(c)}.", "",
              f"**Design.** {_design_sentence(c)}; contenders: "
              + ", ".join(map(str, c.get("contenders") or [])) + ".", ""]
        if c.get("parts"):
            prow = [(str(p.get("statement")), str(p.get("verdict")), _effect_text(p),
                     _p_text(p.get("p_value"))) for p in c["parts"]]
            L += ["**Parts.**", ""]
            L += _md_table(("part", "verdict", "effect, points [90% CI]", "p"), prow, right={2, 3})
            L.append("")
        if c.get("explanation"):
            L += ["**Explanation.**", "", _fence(str(c["explanation"])), ""]
        if c.get("train_vs_test"):
            L += [f"**Over- or under-fitting.** {_fit_sentence(c)}", ""]
        for note in c.get("notes") or []:
            L += [f"**Note.** {note}", ""]
        L += ["**Per size.** Mean test accuracy over draws ± the mean binomial standard error of "
              "one test accuracy on this test set; 95% interval of the mean over draws.", ""]
        if c.get("per_size"):
            L += _md_table(_per_size_header(c), _per_size_rows(c), right={0, 2, 3, 4, 5})
        else:
            L.append("(no per-size results)")
        L.append("")
        fit = c.get("fit_seconds") or {}
        if fit:
            L += ["**Fit seconds** (mean per draw).", ""]
            L += _md_table(("contender", "seconds"), [(k, _secs(v)) for k, v in fit.items()],
                           right={1})
            L.append("")
        if c.get("references"):
            L.append("**Published points overlaid:** "
                     + "; ".join(f"{r.get('label')} ({r.get('source')})" for r in c["references"])
                     + ".")
            L.append("")
        L += ["**Reproduce.**", "", _fence(str(c.get("repro")), "bash"), "",
              f"![learning curves: {c.get('id')} @ {c.get('task')}]({c['figure']})", ""]
    return "\n".join(L).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 1040px; margin: 0 auto; padding: 24px 20px 60px; background: #fff; }
h1 { font-size: 1.7em; margin: 0 0 .2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #d8dee4; padding-bottom: .25em; margin-top: 2em; }
h2.claim { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.1em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .95em; }
table.meta th { text-align: left; font-weight: 600; width: 9em; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 700;
         font-size: .85em; letter-spacing: .02em; border: 1px solid rgba(0,0,0,.12); }
.surprise { color: #a40e26; font-weight: 700; }
pre { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 10px 12px;
      overflow-x: auto; font-size: .85em; line-height: 1.4; }
dl.facts { display: grid; grid-template-columns: 8.5em 1fr; gap: 4px 12px; margin: .6em 0; }
dl.facts dt { font-weight: 600; color: #57606a; }
dl.facts dd { margin: 0; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d8dee4; border-radius: 4px; }
figcaption, .note { color: #57606a; font-size: .88em; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
section.claim { margin-bottom: 2.5em; }
.top { font-size: .85em; }
.earlier { color: #6b4400; background: #fff4d6; border: 1px solid #e8d49a; border-radius: 4px;
           padding: 0 5px; font-size: .85em; white-space: nowrap; }
p.earlier { white-space: normal; padding: 6px 10px; font-size: .95em; }
"""


def _e(x) -> str:
    return html.escape("-" if x is None else str(x), quote=True)


def _badge(verdict) -> str:
    fg, bg = _VERDICT_HTML.get(str(verdict), ("#1f2328", "#eaeef2"))
    return f'<span class="badge" style="color:{fg};background:{bg}">{_e(verdict)}</span>'


def _outcome_html(c: Mapping) -> str:
    text = f"{_e(c.get('expected'))} / {_e(c.get('outcome') or '-')}"
    return f'<span class="surprise">! {text}</span>' if c.get("outcome") in _SURPRISES else text


def _outcome_word(c: Mapping) -> str:
    word = _e(c.get("outcome") or "-")
    return f'<span class="surprise">{word}</span>' if c.get("outcome") in _SURPRISES else word


def _html_table(header, rows, num_cols=(), raw_cols=(), cls="") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for r in rows:
        cells = []
        for i, x in enumerate(r):
            klass = ' class="num"' if i in num_cols else ""
            cells.append(f"<td{klass}>{x if i in raw_cols else _e(x)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html(report: Mapping, pngs: Mapping[str, bytes]) -> str:
    run, claims = report["run"], report["claims"]
    counts = _verdict_counts(claims)
    H = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>Claim verification report</title>", f"<style>{_CSS}</style>", "</head><body>",
         '<h1 id="top">Claim verification report</h1>',
         f'<p class="note">{len(claims)} claim record(s): '
         + (", ".join(f"{_badge(k)} {v}" for k, v in counts.items()) or "none")
         + f'. Schema version {_e(report["schema_version"])}. Data: '
           '<a href="claims.json">claims.json</a>, <a href="runs.csv">runs.csv</a>.'
         + (f" Protocol version {_e(report['protocol_version'])}."
            if report.get("protocol_version") is not None else "") + "</p>"]
    note = _earlier_note(claims)
    if note:
        H.append(f'<p class="earlier">{_e(note)}</p>')
    H.append("<h2>Run</h2>")
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _run_rows(run))
    H.append(f'<table class="meta"><tbody>{meta}</tbody></table>')

    H.append("<h2>Verdicts</h2>")
    rows = []
    for c, r in zip(claims, _summary_rows(claims)):
        tag = _earlier_tag(c)
        rows.append((f'<a href="#{_e(_anchor(c))}">{_e(r[0])}</a>'
                     + (f' <span class="earlier">{_e(tag)}</span>' if tag else ""), _e(r[1]), _e(r[2]),
                     _badge(r[3]), _e(r[4]), _e(r[5]), _outcome_html(c)))
    H.append(_html_table(_SUMMARY_HEADER, rows, num_cols={4, 5}, raw_cols=set(range(7))))
    H.append(f'<p class="note">{_e(_UNITS_NOTE)}</p>')
    pretraining = _pretraining_rows(claims)
    if pretraining:
        H.append(f'<h2>Pretraining cost</h2><p class="note">{_e(_PRETRAIN_NOTE)}</p>')
        H.append(_html_table(_PRETRAIN_HEADER, pretraining, num_cols={3, 4, 5}))
    if report.get("pair_figures"):
        H.append(f'<h2>Digit pairs</h2><p class="note">{_e(_PAIRS_NOTE)}</p>')
        for path in report["pair_figures"]:
            if path in pngs:
                data = base64.b64encode(pngs[path]).decode("ascii")
                H.append(f'<figure><img alt="{_e(path)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>File: {_e(path)}</figcaption></figure>")

    for c in claims:
        anchor = _anchor(c)
        H.append(f'<section class="claim" id="{_e(anchor)}">')
        H.append(f'<h2 class="claim">{_e(_title(c))} {_badge(c.get("verdict"))}</h2>')
        if c.get("from_earlier_run"):
            H.append(f'<p class="earlier"><strong>From an earlier run.</strong> '
                     f"{_e(_earlier_sentence(c))}</p>")
        facts = [
            ("Statement", _e(c.get("statement"))),
            ("Source", _e(c.get("source"))),
            ("Rule", _e(c.get("rule"))),
            ("Verdict", f"{_badge(c.get('verdict'))} expected {_e(c.get('expected'))}, "
                        f"pytest outcome {_outcome_word(c)}"),
            ("Effect", _e(_effect_sentence(c))),
            ("Design", _e(_design_sentence(c))),
            ("Contenders", _e(", ".join(map(str, c.get("contenders") or [])))),
        ]
        H.append('<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
                 + "</dl>")
        if c.get("parts"):
            prow = [(_e(p.get("statement")), _badge(p.get("verdict")), _e(_effect_text(p)),
                     _e(_p_text(p.get("p_value")))) for p in c["parts"]]
            H.append("<h3>Parts</h3>")
            H.append(_html_table(("part", "verdict", "effect, points [90% CI]", "p"), prow,
                                 num_cols={2, 3}, raw_cols={0, 1, 2, 3}))
        if c.get("explanation"):
            H.append(f"<h3>Explanation</h3><pre>{_e(c['explanation'])}</pre>")
        if c.get("train_vs_test"):
            H.append(f"<h3>Over- or under-fitting</h3><p>{_e(_fit_sentence(c))}</p>")
        for note in c.get("notes") or []:
            H.append(f'<p class="note">{_e(note)}</p>')
        png = pngs.get(c["figure"])
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            H.append(f'<figure><img alt="{_e("learning curves: " + _title(c))}" '
                     f'src="data:image/png;base64,{data}">'
                     f"<figcaption>Mean test accuracy against training-set size; shaded: 95% "
                     f"interval of the mean over draws; hollow markers, dashed: published points. "
                     f"File: {_e(c['figure'])}</figcaption></figure>")
        H.append("<h3>Per size</h3>")
        H.append('<p class="note">Mean test accuracy over draws ± the mean binomial standard error '
                 "of one test accuracy on this test set; 95% interval of the mean over draws.</p>")
        if c.get("per_size"):
            H.append(_html_table(_per_size_header(c), _per_size_rows(c), num_cols={0, 2, 3, 4, 5}))
        else:
            H.append('<p class="note">(no per-size results)</p>')
        fit = c.get("fit_seconds") or {}
        if fit:
            H.append("<h3>Fit seconds (mean per draw)</h3>")
            H.append(_html_table(("contender", "seconds"), [(k, _secs(v)) for k, v in fit.items()],
                                 num_cols={1}))
        if c.get("references"):
            H.append('<p class="note">Published points overlaid: '
                     + "; ".join(_e(f"{r.get('label')} ({r.get('source')})") for r in c["references"])
                     + ".</p>")
        H.append(f"<h3>Reproduce</h3><pre>{_e(c.get('repro'))}</pre>")
        H.append('<p class="top"><a href="#top">back to top</a></p></section>')
    H.append("</body></html>")
    return "\n".join(H) + "\n"


# --------------------------------------------------------------------------- CLI

def _rebuild(out_dir: str) -> int:
    report = load_report(out_dir)
    runs_path = Path(out_dir) / "runs.csv"
    runs = pd.read_csv(runs_path) if runs_path.exists() else None
    run = {k: v for k, v in report["run"].items() if k != "written"}
    write_report(out_dir, run=run, claims=report["claims"], runs=runs,
                 protocol_version=report.get("protocol_version"))
    print(verdict_table(report["claims"]))
    return 0


if __name__ == "__main__":  # python -m evidence.report reports/
    if len(sys.argv) != 2:
        print("usage: python -m evidence.report REPORT_DIR   (re-renders claims.md, index.html "
              "and figures from REPORT_DIR/claims.json and runs.csv)", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(_rebuild(sys.argv[1]))
