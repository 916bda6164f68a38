"""How stable is each verdict? The claims rerun at many root seeds and many pool/test splits.

``python -m evidence.stability run --seeds N --splits M [--out DIR] [--part NAME] [-- PYTEST ARGS]``
    Runs ``pytest claims -m small`` once per root seed (2017, 2018, ... N of them; split seed
    2017) and once per split seed (2017, 2018, ... M of them; root seed 2017), each into its own
    report folder under ``DIR/runs/`` (default ``reports/stability``), all on the same result
    cache. The pytest arguments after ``--`` are passed to every run: ``-n 2`` or
    ``--dask local:2`` to spread the fits, ``-k ...`` to choose claims. A run that already has
    a report for its seeds (from an interrupted study) is not run again. A verdict that moves
    with the seed makes that run's pytest exit 1 (its expectation no longer holds): that is
    what the study measures, so it is recorded, not an error. A study can be run in parts,
    each a ``-k`` selection of its own (cheap claims first, the slow ones when there is time):
    ``--part NAME`` puts each run's report in ``DIR/runs/<run>/NAME/``, and the summary merges
    every part of a run (a claim in two parts of one run is an error).
``python -m evidence.stability summarise [--out DIR]``
    Reads every run's ``claims.json`` and writes ``stability.json``, ``stability.md`` and
    ``stability.png`` into DIR (the parent of ``runs/``): per claim and task, how many seeds
    and how many splits gave each verdict, and the effect with its interval per run. A claim
    whose most frequent verdict holds in fewer than ``AGREEMENT`` (90%) of its seeds, or of its
    splits, is flagged fragile (saying which); that is a finding, not a failure.

``make stability SEEDS=10 SPLITS=10 ARGS="-n 2"`` runs both. The main report links to
``stability.md`` when it sits beside it.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from evidence.report.figures import _png, _style_axes
from evidence.report.records import VERDICTS, _atomic_write

__all__ = ["plan", "run", "summarise", "AGREEMENT", "BASE_SEED"]

#: the share of runs that must agree on a claim's verdict for it to count as stable
AGREEMENT = 0.9
#: the suite's default root and split seed: the first of each series
BASE_SEED = 2017


#: a part's name: one folder level under each run's folder
_PART = re.compile(r"[A-Za-z0-9_-]+")


class StabilityError(Exception):
    """A user-facing problem (one line, no traceback)."""


def plan(seeds: int, splits: int) -> list[tuple[str, int, int]]:
    """The runs of a study: (name, root seed, split seed); the default pair is run once and
    counts in both series."""
    runs = {}
    for i in range(seeds):
        runs[(BASE_SEED + i, BASE_SEED)] = f"seed-{BASE_SEED + i}"
    for i in range(splits):
        runs.setdefault((BASE_SEED, BASE_SEED + i), f"split-{BASE_SEED + i}")
    return [(name, seed, split) for (seed, split), name in runs.items()]


def run(seeds: int, splits: int, out: Path, pytest_args: list[str], python: str = sys.executable,
        scale: str = "small", part: str | None = None) -> int:
    """Run every (seed, split) of the plan that has no report yet; returns how many ran.

    With ``part``, each run's report goes to ``runs/<run>/<part>/``: a study done in parts,
    each part a ``-k`` selection of its own, summarised together."""
    if seeds < 1 or splits < 1:
        raise StabilityError("--seeds and --splits must each be at least 1")
    if part is not None and not _PART.fullmatch(part):
        raise StabilityError(f"--part {part!r}: use letters, digits, '-' and '_' only")
    ran = 0
    todo = plan(seeds, splits)
    for i, (name, seed, split) in enumerate(todo, 1):
        if part is not None:
            name = f"{name}/{part}"
        report = out / "runs" / name
        if (report / "claims.json").exists():
            print(f"stability: [{i}/{len(todo)}] {name}: report already there, kept", flush=True)
            continue
        print(f"stability: [{i}/{len(todo)}] {name}: root seed {seed}, split seed {split}",
              flush=True)
        cmd = [python, "-m", "pytest", "claims/", "-m", scale, "--seed", str(seed),
               "--split-seed", str(split), "--report-dir", str(report), "-p", "no:cacheprovider",
               "-q", *pytest_args]
        status = subprocess.run(cmd).returncode
        if status not in (0, 1):  # 1: some verdict differs from its expectation (a finding)
            raise StabilityError(f"{name}: pytest could not run the claims (exit {status}): "
                                 + " ".join(cmd))
        if not (report / "claims.json").exists():
            raise StabilityError(f"{name}: pytest wrote no report (did the selection run no claim?)")
        ran += 1
    return ran


def _read_runs(out: Path) -> list[dict]:
    """One entry per run folder, its parts' claims merged (a claim in two parts is an error)."""
    folder = out / "runs"
    paths = (sorted([*folder.glob("*/claims.json"), *folder.glob("*/*/claims.json")])
             if folder.is_dir() else [])
    by_run: dict[str, dict] = {}
    for path in paths:
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StabilityError(f"{path}: not a readable report ({exc})") from None
        name = path.relative_to(folder).parts[0]
        r = report.get("run") or {}
        fields = {"seed": r.get("seed"), "split_seed": r.get("split_seed"), "scale": r.get("scale"),
                  "protocol_version": report.get("protocol_version")}
        entry = by_run.setdefault(name, {"name": name, **fields, "claims": []})
        if any(entry[k] != v for k, v in fields.items()):
            raise StabilityError(f"{folder / name}: its parts ran at different seeds, splits, scales "
                                 "or protocol versions; remove the odd part and run it again")
        seen = {(c["id"], c["task"]) for c in entry["claims"]}
        for c in report.get("claims", []):
            if c.get("from_earlier_run"):
                continue
            if (c["id"], c["task"]) in seen:
                raise StabilityError(f"{path.parent}: {c['id']} ({c['task']}) is also in another "
                                     "part of this run; give the parts disjoint -k selections")
            entry["claims"].append(c)
    runs = list(by_run.values())
    if not runs:
        raise StabilityError(f"{folder}: no run reports yet (python -m evidence.stability run)")
    versions = {x["protocol_version"] for x in runs}
    if len(versions) > 1:
        raise StabilityError(f"{folder}: the runs mix protocol versions {sorted(map(str, versions))}; "
                             "remove the older runs and run them again")
    return runs


def _series(runs: list[dict]) -> dict[str, list[dict]]:
    """The seed series (split fixed at the base) and the split series (seed fixed)."""
    return {"seeds": [r for r in runs if r["split_seed"] == BASE_SEED],
            "splits": [r for r in runs if r["seed"] == BASE_SEED]}


def _agreement(counts: Counter) -> tuple[str | None, float]:
    total = sum(counts.values())
    if not total:
        return None, math.nan
    verdict, k = max(counts.items(), key=lambda kv: (kv[1], -VERDICTS.index(kv[0])
                                                     if kv[0] in VERDICTS else 0))
    return verdict, k / total


def summarise(out: Path) -> dict:
    """Write stability.json, stability.md and stability.png into ``out``; returns the summary."""
    runs = _read_runs(out)
    series = _series(runs)
    # by claim id, each claim before its probes (a study in parts lists every part's claims)
    keys = sorted(dict.fromkeys((c["id"], c["task"]) for r in runs for c in r["claims"]),
                  key=lambda k: (k[0].split("@")[0], "@" in k[0], k[0], k[1]))
    rows = []
    for cid, task in keys:
        row = {"id": cid, "task": task, "probe": "@" in cid, "fragile": []}
        for kind, members in series.items():
            found = [(r, c) for r in members for c in r["claims"]
                     if c["id"] == cid and c["task"] == task]
            counts = Counter(c["verdict"] for _, c in found)
            modal, share = _agreement(counts)
            row[kind] = {
                "runs": len(found), "counts": dict(counts), "modal": modal,
                "agreement": None if math.isnan(share) else share,
                "effects": [{"seed": r["seed"], "split_seed": r["split_seed"],
                             "verdict": c["verdict"], "effect": c.get("effect"),
                             "ci_low": c.get("ci_low"), "ci_high": c.get("ci_high")}
                            for r, c in found],
            }
            if len(found) > 1 and share < AGREEMENT:
                row["fragile"].append(kind)
        rows.append(row)
    summary = {"agreement": AGREEMENT, "base_seed": BASE_SEED,
               "seeds": sorted({r["seed"] for r in series["seeds"]}),
               "splits": sorted({r["split_seed"] for r in series["splits"]}),
               "scale": sorted({str(r["scale"]) for r in runs}),
               "protocol_version": runs[0]["protocol_version"], "claims": rows}
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "stability.json", json.dumps(summary, indent=1, allow_nan=False) + "\n")
    _atomic_write(out / "stability.png", _figure(rows))
    _atomic_write(out / "stability.md", _markdown(summary))
    return summary


def _counts_text(part: dict) -> str:
    return ", ".join(f"{k} {part['counts'][k]}" for k in (*VERDICTS, *sorted(set(part["counts"]) - set(VERDICTS)))
                     if k in part["counts"]) or "-"


def _range_text(runs: list[dict]) -> str:
    effects = [e["effect"] for e in runs if e["effect"] is not None]
    if not effects:
        return "-"
    return f"{100 * min(effects):+.1f} to {100 * max(effects):+.1f}"


def markdown_table(summary: dict) -> list[str]:
    """The table of the study (also what the README quotes)."""
    head = ["| claim | task | seeds: verdicts | splits: verdicts | effect range, points | stable? |",
            "|---|---|---|---|---|---|"]
    lines = []
    for row in summary["claims"]:
        flag = ("**fragile** (" + " and ".join(row["fragile"]) + ")") if row["fragile"] else "stable"
        effects = _range_text(row["seeds"]["effects"] + row["splits"]["effects"])
        lines.append(f"| {row['id']} | {row['task']} | {_counts_text(row['seeds'])} | "
                     f"{_counts_text(row['splits'])} | {effects} | {flag} |")
    return head + lines


def _markdown(summary: dict) -> str:
    seeds, splits = summary["seeds"], summary["splits"]
    fragile = [r for r in summary["claims"] if r["fragile"]]
    lines = [
        "# How stable is each verdict?", "",
        f"Every claim at {len(seeds)} root seed(s) ({', '.join(map(str, seeds))}; split seed "
        f"{summary['base_seed']}) and at {len(splits)} split seed(s) ({', '.join(map(str, splits))}; "
        f"root seed {summary['base_seed']}), scale {', '.join(summary['scale'])}, protocol version "
        f"{summary['protocol_version']}. A claim is **fragile** when its most frequent verdict "
        f"holds in fewer than {100 * summary['agreement']:.0f}% of its seeds or of its splits: a "
        "finding about the claim, not a failure of the suite.", "",
        f"{len(fragile)} of {len(summary['claims'])} claim records are fragile"
        + (": " + ", ".join(f"{r['id']} ({' and '.join(r['fragile'])})" for r in fragile) if fragile else "")
        + ".", ""]
    lines += markdown_table(summary)
    lines += ["", "![effects per run](stability.png)", "",
              "Per run, the effect in points with its 90% interval, in `stability.json`; each run's "
              "full report is in `runs/<run>/` (a study run in parts: `runs/<run>/<part>/`)."]
    return "\n".join(lines) + "\n"


def _figure(rows: list[dict]) -> bytes:
    from matplotlib.figure import Figure

    colours = {"SUPPORTED": "#1a7f37", "REFUTED": "#cf222e", "INCONCLUSIVE": "#9a6700",
               "ERROR": "#57606a"}
    k = max(len(rows), 1)
    labels = [f"{r['id']} ({r['task']})" + (" *" if r["fragile"] else "") for r in rows]
    width = 6.5 + 0.055 * max((len(x) for x in labels), default=0)  # room for the labels
    fig = Figure(figsize=(width, 0.42 * k + 1.2), dpi=100)
    ax = fig.add_subplot()
    for i, row in enumerate(rows):
        for j, (kind, dy) in enumerate((("seeds", -0.17), ("splits", 0.17))):
            effects = row[kind]["effects"]
            for m, e in enumerate(effects):
                if e["effect"] is None:
                    continue
                y = i + dy + 0.25 * (m / max(len(effects) - 1, 1) - 0.5) * 0.5
                lo = e["ci_low"] if e["ci_low"] is not None else e["effect"]
                hi = e["ci_high"] if e["ci_high"] is not None else e["effect"]
                col = colours.get(e["verdict"], "#57606a")
                ax.plot([100 * lo, 100 * hi], [y, y], color=col, linewidth=1, alpha=0.7)
                ax.plot([100 * e["effect"]], [y], marker="o" if j == 0 else "s", markersize=3,
                        color=col)
    ax.axvline(0, color="#57606a", linewidth=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("effect, points (90% interval); circles: root seeds, squares: split seeds; "
                  "colour: verdict; *: fragile", fontsize=8)
    _style_axes(ax)
    fig.subplots_adjust(left=1 - 5.6 / width, right=0.98, top=0.98, bottom=0.9 / (0.42 * k + 1.2))
    return _png(fig, dpi=100)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(prog="python -m evidence.stability",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the claims at each seed and each split (then summarise)")
    r.add_argument("--seeds", type=int, default=10, help="root seeds 2017, 2018, ... (default 10)")
    r.add_argument("--splits", type=int, default=10, help="split seeds 2017, 2018, ... (default 10)")
    r.add_argument("--scale", default="small", choices=("small", "full"))
    r.add_argument("--out", type=Path, default=Path("reports/stability"))
    r.add_argument("--part", help="a name for this -k selection: its reports go to "
                   "runs/<run>/<part>/, summarised with the other parts'")
    s = sub.add_parser("summarise", help="write stability.md/.json/.png from the runs so far")
    s.add_argument("--out", type=Path, default=Path("reports/stability"))
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run(args.seeds, args.splits, args.out, extra, scale=args.scale, part=args.part)
        summary = summarise(args.out)
    except StabilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fragile = sum(bool(r["fragile"]) for r in summary["claims"])
    print(f"wrote {args.out / 'stability.md'}: {len(summary['claims'])} claim record(s), "
          f"{fragile} fragile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
