"""The verdict history of nightly runs: append a report to it, find what drifted, draw it.

``python -m evidence.report.history append REPORT_DIR --history DIR [--bench BENCH.json]``
    One JSON line per claim record of the report (``claims.json``) into ``DIR/claims.jsonl``:
    the night (the run's start time), date, commit, protocol version, scale, seeds, device, data
    source, verdict, effect, interval, p, MDE, draws and total fit seconds per contender; and
    one line per benchmark of pytest-benchmark's ``--benchmark-json`` file into
    ``DIR/bench.jsonl`` (its median). Both files are append-only.
``python -m evidence.report.history drift --history DIR [--out DIR] [--verdicts-only]``
    Compares the newest night with the previous comparable one (same scale, data source,
    device kind, protocol version and root seed) and writes ``drift.md`` and ``drift.json``: verdict flips
    (SUPPORTED <-> REFUTED is severe), effects whose two intervals no longer overlap, claims
    new or gone, and benchmarks whose median is more than 20% above the median of the last
    seven nights. Exit status 1 on a severe flip or a runtime regression, one line per finding.
    ``--verdicts-only`` (a night on a fresh seed) compares verdicts, not numbers, with the
    previous night of any seed.
``python -m evidence.report.history page --history DIR [--out FILE]``
    A self-contained ``history.html`` (inline SVG, no script, no network): per claim a verdict
    timeline and its effect with its interval over the nights; per benchmark its median.

A truncated last line (a night interrupted while appending) is skipped with a warning; the
earlier nights are kept. Any other unreadable line is an error naming its file and line.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .htmlpage import _e, page as html_page, verdict_class
from .records import _atomic_write

__all__ = ["HistoryError", "append", "drift", "page", "load", "main", "REGRESSION", "WINDOW"]

#: a benchmark median this much above the median of the last WINDOW nights is a regression
REGRESSION = 0.20
WINDOW = 7
CLAIMS_FILE, BENCH_FILE = "claims.jsonl", "bench.jsonl"
#: what makes two nights comparable
COMPARABLE = ("scale", "data_source", "device_kind", "protocol_version")


class HistoryError(Exception):
    """A user-facing problem with a report or a history: one line, no traceback."""


# ------------------------------------------------------------------------------ reading
def _read_json(path: Path, what: str) -> dict:
    if not path.exists():
        raise HistoryError(f"{path}: no such file ({what})")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HistoryError(f"{path}: not readable JSON ({what}): {exc}") from None


def load(history: Path, name: str = CLAIMS_FILE) -> list[dict]:
    """The lines of a history file; a truncated last line is skipped with a warning."""
    path = Path(history) / name
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            if i == len(lines):
                warnings.warn(f"{path}: line {i} is truncated (an interrupted append?); "
                              f"skipped, the {len(out)} earlier lines are kept")
                continue
            raise HistoryError(f"{path}: line {i} is not valid JSON; the history is corrupt "
                               "there (remove or repair that line)") from None
    return out


def _device_kind(device: str) -> str:
    return str(device or "cpu").split(":")[0]


# ------------------------------------------------------------------------------ append
def _fit_totals(report_dir: Path, record: dict) -> dict[str, float]:
    """Total fit seconds per contender of a record, from runs.csv (its tasks' rows); else the
    record's mean per fit times its draws and sizes."""
    runs_path = report_dir / "runs.csv"
    tasks = str(record.get("task", "")).split("+")
    contenders = record.get("contenders") or []
    if runs_path.exists():
        runs = pd.read_csv(runs_path)
        rows = runs[runs.task.isin(tasks) & runs.contender.isin(contenders)]
        rows = rows.drop_duplicates(["task", "n", "draw", "contender"])
        if len(rows):
            return {c: round(float(g.fit_seconds.sum()), 3) for c, g in rows.groupby("contender")}
    per = len(record.get("sizes") or []) * int(record.get("draws") or 0) * len(tasks)
    return {c: round(float(s) * per, 3) for c, s in (record.get("fit_seconds") or {}).items()}


def append(report_dir: Path, history: Path, bench: Path | None = None) -> tuple[int, int]:
    """Append the report's claim records (and the benchmark medians) to the history. Returns
    (claim lines, benchmark lines) written."""
    report_dir, history = Path(report_dir), Path(history)
    report = _read_json(report_dir / "claims.json", "a report written by `make report`")
    run = report.get("run") or {}
    records = [r for r in report.get("claims", []) if not r.get("from_earlier_run")]
    if not records:
        raise HistoryError(f"{report_dir}/claims.json has no claim record of its own run")
    for key in ("protocol_version", "scale"):
        values = {r.get(key, report.get(key)) for r in records}
        if len(values) > 1:
            raise HistoryError(f"{report_dir}/claims.json mixes {key}s {sorted(map(str, values))}; "
                               "a night's report has one (write each to its own --report-dir)")
    night = str(run.get("started") or run.get("written"))
    common = {
        "night": night, "date": night[:10], "commit": run.get("git_sha"),
        "protocol_version": records[0].get("protocol_version", report.get("protocol_version")),
        "scale": records[0].get("scale", run.get("scale")), "seed": run.get("seed"),
        "split_seed": run.get("split_seed"), "device": run.get("device"),
        "device_kind": _device_kind(run.get("device")), "data_source": run.get("data_source"),
    }
    if any(line.get("night") == night for line in load(history)):
        raise HistoryError(f"the report of {night} is already in {history}/{CLAIMS_FILE}")
    lines = [{**common, "id": r["id"], "task": r.get("task"), "verdict": r.get("verdict"),
              "effect": r.get("effect"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high"),
              "p_value": r.get("p_value"), "mde": r.get("mde"), "draws": r.get("draws"),
              "sizes": r.get("sizes"), "fit_seconds_total": _fit_totals(report_dir, r)}
             for r in records]
    bench_lines = []
    if bench is not None:
        data = _read_json(Path(bench), "pytest-benchmark's --benchmark-json output")
        for b in data.get("benchmarks", []):
            stats = b.get("stats") or {}
            if "median" not in stats:
                raise HistoryError(f"{bench}: benchmark {b.get('name')!r} has no median")
            bench_lines.append({"night": night, "date": night[:10], "commit": common["commit"],
                                "device_kind": common["device_kind"], "name": b.get("fullname") or b["name"],
                                "median": float(stats["median"])})
    history.mkdir(parents=True, exist_ok=True)
    for name, new in ((CLAIMS_FILE, lines), (BENCH_FILE, bench_lines)):
        if new:
            with open(history / name, "a") as f:  # one write per night: a crash loses at most it
                f.write("".join(json.dumps(x, sort_keys=True) + "\n" for x in new))
    return len(lines), len(bench_lines)


# ------------------------------------------------------------------------------ drift
@dataclass(frozen=True)


class Finding:
    kind: str      # flip | effect | new | gone | regression | not-comparable
    severe: bool
    text: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "severe": self.severe, "text": self.text}


def _nights(lines: list[dict]) -> list[str]:
    """Nights in the order they were appended."""
    return list(dict.fromkeys(line["night"] for line in lines))


def _pct(x) -> str:
    return "?" if x is None else f"{100 * x:+.1f}"


def _overlap(a: dict, b: dict) -> bool:
    vals = [a.get("ci_low"), a.get("ci_high"), b.get("ci_low"), b.get("ci_high")]
    if any(v is None for v in vals):
        return True
    return max(a["ci_low"], b["ci_low"]) <= min(a["ci_high"], b["ci_high"])


def drift(history: Path, verdicts_only: bool = False) -> tuple[list[Finding], dict]:
    """The findings of the newest night against the previous comparable one."""
    lines = load(history)
    if not lines:
        raise HistoryError(f"{history}/{CLAIMS_FILE}: no history yet (run `append` first)")
    nights = _nights(lines)
    newest = nights[-1]
    now = [x for x in lines if x["night"] == newest]
    # numbers are compared only with a night of the same seed; verdicts with any seed
    keys = COMPARABLE if verdicts_only else (*COMPARABLE, "seed")
    key = {k: now[0].get(k) for k in keys}
    earlier = [n for n in nights[:-1]
               if all(x.get(k) == key[k] for x in lines if x["night"] == n for k in keys)]
    findings: list[Finding] = []
    meta = {"newest": newest, "previous": earlier[-1] if earlier else None, **key}
    if earlier:
        before = {x["id"]: x for x in lines if x["night"] == earlier[-1]}
        after = {x["id"]: x for x in now}
        for cid in sorted(set(before) | set(after)):
            a, b = before.get(cid), after.get(cid)
            if a is None:
                findings.append(Finding("new", False, f"new claim {cid}: {b['verdict']}"))
            elif b is None:
                findings.append(Finding("gone", False, f"claim {cid} ({a['verdict']}) did not run"))
            elif a["verdict"] != b["verdict"]:
                severe = {a["verdict"], b["verdict"]} == {"SUPPORTED", "REFUTED"}
                findings.append(Finding("flip", severe, (
                    f"{'SEVERE ' if severe else ''}verdict flip {cid}: {a['verdict']} -> "
                    f"{b['verdict']} (effect {_pct(a.get('effect'))} -> {_pct(b.get('effect'))} "
                    f"points, commit {a.get('commit')} -> {b.get('commit')})")))
            elif not verdicts_only and not _overlap(a, b):
                findings.append(Finding("effect", False, (
                    f"effect moved {cid}: {_pct(a['effect'])} [{_pct(a['ci_low'])}, "
                    f"{_pct(a['ci_high'])}] -> {_pct(b['effect'])} [{_pct(b['ci_low'])}, "
                    f"{_pct(b['ci_high'])}] points (the intervals no longer overlap)")))
    else:
        findings.append(Finding("not-comparable", False, (
            f"no earlier night with the same {', '.join(f'{k} {v}' for k, v in key.items())}: "
            "nothing to compare")))
    if not verdicts_only:
        findings += _regressions(history, newest, key["device_kind"])
    return findings, meta


def _regressions(history: Path, newest: str, device_kind: str) -> list[Finding]:
    bench = [b for b in load(history, BENCH_FILE) if b.get("device_kind") == device_kind]
    out = []
    by_name: dict[str, list[dict]] = {}
    for b in bench:
        by_name.setdefault(b["name"], []).append(b)
    for name, rows in sorted(by_name.items()):
        now = [r for r in rows if r["night"] == newest]
        past = [r["median"] for r in rows if r["night"] != newest][-WINDOW:]
        if not now or not past:
            continue
        base = float(pd.Series(past).median())
        ratio = now[-1]["median"] / base
        if ratio > 1 + REGRESSION:
            out.append(Finding("regression", True, (
                f"runtime regression {name}: median {now[-1]['median']:.3g} s against "
                f"{base:.3g} s over the last {len(past)} nights (+{100 * (ratio - 1):.0f}%, "
                f"limit +{100 * REGRESSION:.0f}%)")))
    return out


def write_drift(findings: list[Finding], meta: dict, out: Path) -> None:
    _atomic_write(out / "drift.json", json.dumps(
        {**meta, "findings": [f.as_dict() for f in findings],
         "severe": any(f.severe for f in findings)}, indent=1, sort_keys=True))
    lines = [f"# Drift: {meta['newest']} against {meta['previous'] or 'nothing comparable'}", ""]
    lines += [f"- {f.text}" for f in findings] or ["- nothing moved"]
    _atomic_write(out / "drift.md", "\n".join(lines) + "\n")


# ------------------------------------------------------------------------------ page
def _svg_series(points: list[tuple[float, float | None, float | None]], width=300, height=32,
                fmt="{:+.1f}", scale=100.0) -> str:
    """A line of values (with an optional interval band) over the nights, as inline SVG."""
    vals = [v for p in points for v in p if v is not None]
    if not vals:
        return "<svg width='1' height='1'></svg>"
    lo, hi = min(vals) * scale, max(vals) * scale
    if math.isclose(lo, hi):
        lo, hi = lo - 1, hi + 1
    k = max(len(points) - 1, 1)

    def xy(i, v):
        return 34 + (width - 44) * i / k, 5 + (height - 10) * (1 - (v * scale - lo) / (hi - lo))

    parts = [f"<svg width='{width}' height='{height}' role='img' aria-label='series'>",
             f"<text x='2' y='9' font-size='8'>{fmt.format(hi)}</text>",
             f"<text x='2' y='{height - 2}' font-size='8'>{fmt.format(lo)}</text>"]
    for i, (v, a, b) in enumerate(points):
        if a is not None and b is not None:
            (x, ya), (_, yb) = xy(i, a), xy(i, b)
            parts.append(f"<line x1='{x:.1f}' y1='{ya:.1f}' x2='{x:.1f}' y2='{yb:.1f}' "
                         "stroke='#90caf9' stroke-width='4'/>")
    path = " ".join("{:.1f},{:.1f}".format(*xy(i, p[0])) for i, p in enumerate(points)
                    if p[0] is not None)
    parts.append(f"<polyline points='{path}' fill='none' stroke='#1565c0' stroke-width='1.5'/>")
    parts.append("</svg>")
    return "".join(parts)


def page(history: Path, out: Path) -> Path:
    """Write the self-contained history page (the report's template and stylesheet); returns
    its path."""
    lines = load(history)
    if not lines:
        raise HistoryError(f"{history}/{CLAIMS_FILE}: no history yet (run `append` first)")
    nights = _nights(lines)
    rows = []
    for cid in sorted({x["id"] for x in lines}):
        mine = {x["night"]: x for x in lines if x["id"] == cid}
        cells = "".join(
            f"<td class='v {verdict_class(mine[n]['verdict'])}' title='{_e(n)}: "
            f"{_e(mine[n]['verdict'])}, seed {_e(mine[n].get('seed'))}, scale "
            f"{_e(mine[n].get('scale'))}'></td>" if n in mine else "<td class='v'></td>"
            for n in nights)
        series = [(mine[n].get("effect"), mine[n].get("ci_low"), mine[n].get("ci_high"))
                  if n in mine else (None, None, None) for n in nights]
        rows.append(f"<tr><th>{_e(cid)}</th>{cells}<td>{_svg_series(series)}</td></tr>")
    bench = load(history, BENCH_FILE)
    bench_rows = []
    for name in sorted({b["name"] for b in bench}):
        mine = {b["night"]: b["median"] for b in bench if b["name"] == name}
        series = [(mine.get(n), None, None) for n in nights]
        bench_rows.append(f"<tr><th>{_e(name)}</th><td>{_svg_series(series, fmt='{:.3g}', scale=1.0)}"
                          "</td></tr>")
    legend = " ".join(f"<span class='v {v}'></span> {v}" for v in ("SUPPORTED", "REFUTED",
                                                                  "INCONCLUSIVE", "ERROR"))
    heads = "".join(f"<th class='night' title='{_e(n)}'>{i + 1}</th>" for i, n in enumerate(nights))
    night_list = "".join(f"<li>{i + 1}: {_e(n)}</li>" for i, n in enumerate(nights))
    body = f"""<h1>Claim history</h1>
<p class="note">{len(nights)} night(s), {len({x['id'] for x in lines})} claim(s). Each cell is one
night's verdict ({legend}; hover for the night, seed and scale); the line is the effect in points
with its 90% interval (bars), the axis marks its range. Benchmarks: median seconds.</p>
<table class="timeline"><tr><th>claim</th>{heads}<th>effect over the nights</th></tr>{''.join(rows)}</table>
<h2>Benchmarks (median seconds per night)</h2>
{'<table class="timeline">' + ''.join(bench_rows) + '</table>' if bench_rows else '<p>No benchmark recorded.</p>'}
<h2>Nights</h2><ol class="nights">{night_list}</ol>"""
    out = Path(out)
    _atomic_write(out, html_page("Claim history", body))
    return out


# ------------------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evidence.report.history", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("append", help="append a report (and benchmark medians) to the history")
    a.add_argument("report_dir", type=Path)
    a.add_argument("--history", type=Path, required=True)
    a.add_argument("--bench", type=Path, help="pytest-benchmark --benchmark-json output")
    d = sub.add_parser("drift", help="what moved in the newest night; exit 1 if severe")
    d.add_argument("--history", type=Path, required=True)
    d.add_argument("--out", type=Path, help="where drift.md and drift.json go (default: history)")
    d.add_argument("--verdicts-only", action="store_true", help="compare verdicts, not numbers")
    p = sub.add_parser("page", help="write the self-contained history.html")
    p.add_argument("--history", type=Path, required=True)
    p.add_argument("--out", type=Path, help="the page (default: HISTORY/history.html)")
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.command == "append":
                claims, bench = append(args.report_dir, args.history, args.bench)
                print(f"appended {claims} claim line(s) and {bench} benchmark line(s) to {args.history}")
                status = 0
            elif args.command == "drift":
                findings, meta = drift(args.history, args.verdicts_only)
                write_drift(findings, meta, args.out or args.history)
                for f in findings:
                    print(f.text)
                if not findings:
                    print("drift: nothing moved")
                status = 1 if any(f.severe for f in findings) else 0
            else:
                print(f"wrote {page(args.history, args.out or args.history / 'history.html')}")
                status = 0
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        return status
    except HistoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
