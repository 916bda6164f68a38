"""Print a report's verdicts as ``EXPECTED`` entries for ``claims/registry.py``.

    python -m evidence.expect REPORT_DIR [--all]

After a real run, each claim (not a probe) whose verdict has no expectation in the registry
(as it is now) for its task, scale and kind of data is printed as one
``EXPECTED[...] = Expected(...)`` statement, ready to append to ``claims/registry.py``. Its
evidence says where the verdict came from (the protocol version, scale, root and split seeds,
data, device and date of the run that made the record) and what the rule found: the effect
with its 90% interval and p, and for a claim of several parts each part's verdict. A claim
whose run disagrees with its recorded verdict is printed under a comment that says so: a
verdict that moved is a finding to read, not a line to paste over. ``--all`` prints the claims
whose recorded verdict the run confirms as well.

Nothing is written: which verdicts to record is the researcher's decision (README, "Adding a
claim", step 6), and a verdict is never recorded to make a test pass.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema

from claims import registry
from evidence.report import load_report
from evidence.report.text import _effect_text, _p_text
from evidence.data import BUNDLED_NAME
from evidence.tasks import source_kind

__all__ = ["entries", "main"]

def _kind(record: Mapping) -> str:
    """The registry's kind of data for a record (:func:`evidence.tasks.source_kind`), the
    run's digits read from the data source that made it."""
    source = (record.get("made_by") or {}).get("data_source") or record.get("data_source")
    return source_kind(str(record["task"]).split("+")[0],
                       "bundled" if source == BUNDLED_NAME else "idx")


def _data_words(kind: str, source: str | None) -> str:
    if kind == "words":
        return "word tasks"
    return "bundled data" if kind == "bundled" else f"digits from {source}"


def _p(record: Mapping) -> str:
    """``p = 0.012`` or ``p < 1e-4``; a REFUTED verdict's p is that of its REFUTED side."""
    text = _p_text(record.get("p_value"))
    side = " of the REFUTED side" if record.get("verdict") == "REFUTED" else ""
    return f"p{side} < {text[1:]}" if text.startswith("<") else f"p{side} = {text}"


def _part_text(part: Mapping) -> str:
    return f"{part['statement']}: {part['verdict']}, {_effect_text(part)} points, {_p(part)}"


def evidence_text(record: Mapping, protocol=None) -> str:
    """One line: which run, then what its rule found (``protocol``: the report's version, for
    a record that does not carry its own)."""
    made = record.get("made_by") or {}
    kind = _kind(record)
    date = str(made.get("started") or "")[:10] or "date unknown"
    version = record.get("protocol_version") or protocol or "?"
    run = (f"protocol v{version}, scale {record['scale']}, "
           f"seed {made.get('seed', '?')}, split seed {made.get('split_seed', '?')}, "
           f"{_data_words(kind, made.get('data_source'))}, {str(made.get('device', '?')).upper()}"
           f", {date}")
    unit = record.get("effect_unit") or "points"
    found = f"{_effect_text(record, unit=False)} {unit}, {_p(record)}"
    parts = record.get("parts") or []
    if len(parts) > 1:
        found += " (" + "; ".join(_part_text(p) for p in parts) + ")"
    if record.get("draws_to_decide"):
        found += f"; about {record['draws_to_decide']} draws per size would decide it"
    return f"{run}: {found}"


def _literal(text: str, indent: int) -> str:
    """``text`` as adjacent string literals, one per line, none wider than the page; lines
    break after a comma or semicolon where they can, else between words."""
    width = 86 - indent
    tokens = []
    for chunk in re.split(r"(?<=[,;]) ", text):
        words = chunk.split(" ") if len(chunk) > width else [chunk]
        tokens += [w + " " for w in words]
    tokens[-1] = tokens[-1][:-1]
    pieces, line = [], ""
    for token in tokens:
        if line and len(line) + len(token) > width + 1:
            pieces.append(line)
            line = ""
        line += token
    pieces.append(line)
    pad = " " * indent
    return ("\n" + pad).join(json.dumps(p, ensure_ascii=False) for p in pieces)


def entry(record: Mapping, protocol=None) -> str:
    key = (record["id"], record["task"], record["scale"], _kind(record))
    head = f'EXPECTED[{key!r}] = Expected('.replace("'", '"')
    verdict = f'"{record["verdict"]}", '
    return f"{head}\n    {verdict}{_literal(evidence_text(record, protocol), 4 + len(verdict))})"


def entries(report: Mapping, *, every: bool = False) -> list[str]:
    """The statements to print for a loaded report (see the module doc)."""
    out, protocol = [], report.get("protocol_version")
    for record in report.get("claims", []):
        if "@" in str(record.get("id")) or record.get("verdict") not in (
                "SUPPORTED", "REFUTED", "INCONCLUSIVE"):
            continue  # probes have no expectation; an ERROR is not a verdict
        recorded = registry.expected(record["id"], record["task"], record["scale"],
                                     _kind(record))
        recorded = recorded.verdict if recorded else None
        if recorded and recorded != record["verdict"]:
            out.append(f"# {record['id']} ({record['task']}, {record['scale']}): this run says "
                       f"{record['verdict']}, the registry {recorded}.\n# A verdict that moved "
                       "is a finding: read the evidence before recording anything.\n"
                       + entry(record, protocol))
        elif every or not recorded:
            out.append(entry(record, protocol))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evidence.expect", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report_dir", help="a report folder (claims.json) written by a claims run")
    ap.add_argument("--all", action="store_true",
                    help="print claims whose verdict is already recorded as well")
    args = ap.parse_args(argv)
    folder = Path(args.report_dir)
    if not (folder / "claims.json").is_file():
        print(f"error: {folder}: no claims.json; give the --report-dir of a claims run",
              file=sys.stderr)
        return 2
    try:
        report = load_report(folder)
    except (ValueError, jsonschema.ValidationError) as exc:  # not JSON, or not a report
        first = (getattr(exc, "message", None) or str(exc)).splitlines()[0]
        print(f"error: {folder / 'claims.json'} is not a claims report: {first}",
              file=sys.stderr)
        return 2
    lines = entries(report, every=args.all)
    if not lines:
        print(f"# every claim in {args.report_dir} already has its verdict recorded "
              "(--all prints them)")
    for text in lines:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
