"""``write_report``: claim records -> a report folder (runs.csv, figures/, claims.md, index.html,
claims.json), and ``python -m evidence.report REPORT_DIR``, which re-renders a report's pages and
figures from its claims.json and runs.csv without re-running anything.

Every file is written atomically (temporary file in the same folder, then ``os.replace``), and
``claims.json`` is written last, so an interrupted run leaves either the previous report or the
new one, never a half-written file. ``runs.csv`` (the raw per-draw results) is written first, even
if the claim records then fail validation.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform as _platform
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from . import htmlpage
from .figures import _pair_figures, _render_png
from .markdown import _markdown
from .merge import (_earlier_report, _kept_pair_figures, _kept_records, _made_by, _merged_runs,
                    _protocols)
from .records import (SCHEMA_VERSION, _atomic_write, _dedupe, jsonable, _key, _runs_csv,
                      load_report, slug, validate)
from .text import verdict_table


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

    run_j = jsonable(dict(run), "run")
    run_j.setdefault("python", _platform.python_version())
    run_j.setdefault("platform", _platform.platform())
    run_j.setdefault("written", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    protocol = jsonable(protocol_version if protocol_version is not None
                         else run_j.get("protocol_version"), "protocol_version")
    claims_j = _dedupe(jsonable(dict(c), f"claims[{i}]") for i, c in enumerate(claims))
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

    stability = _stability(out)
    if stability:
        report["stability"] = stability
    _atomic_write(out / "claims.md", _markdown(report))
    _atomic_write(out / "index.html", htmlpage.render(report, pngs))
    _atomic_write(out / "claims.json",
                  json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    return out


def _rebuild(out_dir: str) -> int:
    report = load_report(out_dir)
    runs_path = Path(out_dir) / "runs.csv"
    runs = pd.read_csv(runs_path) if runs_path.exists() else None
    run = {k: v for k, v in report["run"].items() if k != "written"}
    write_report(out_dir, run=run, claims=report["claims"], runs=runs,
                 protocol_version=report.get("protocol_version"))
    print(verdict_table(report["claims"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m evidence.report REPORT_DIR``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m evidence.report REPORT_DIR   (re-renders claims.md, index.html "
              "and figures from REPORT_DIR/claims.json and runs.csv)", file=sys.stderr)
        return 2
    import jsonschema

    try:
        return _rebuild(argv[0])
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file; give a report folder written by the suite "
              "(it holds claims.json)", file=sys.stderr)
    except (OSError, ValueError, jsonschema.ValidationError) as exc:  # unreadable, not JSON, off-schema
        what = " ".join(str(getattr(exc, "message", None) or exc).split())
        print(f"error: {argv[0]}: cannot re-render this report ({what[:200]})", file=sys.stderr)
    return 2


def _stability(out: Path) -> dict | None:
    """The stability study beside the report (``stability/stability.json``, written by
    ``python -m evidence.stability``): where it is and which claims it found fragile."""
    path = out / "stability" / "stability.json"
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
        fragile = [f"{c['id']} ({c['task']}: {' and '.join(c['fragile'])})"
                   for c in study["claims"] if c.get("fragile")]
        return {"path": "stability/stability.md", "seeds": len(study["seeds"]),
                "splits": len(study["splits"]), "fragile": fragile}
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one we can read
        return None
