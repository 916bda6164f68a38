"""The report: claim records -> a report folder, and the nightly history of such reports.

``write_report(out_dir, run=..., claims=..., runs=...)`` writes ``runs.csv`` (one row per task,
n, draw and contender), ``figures/<slug>.png``, ``claims.md``, ``index.html`` (self-contained)
and ``claims.json`` (schema: ``evidence/claims.schema.json``), each atomically, claims.json
last. ``python -m evidence.report REPORT_DIR`` re-renders an existing report's pages and figures;
``python -m evidence.report.history`` keeps the nightly history (append, drift, page).

The parts, each readable in one sitting:

- ``records``: the schema and its validation, plain-JSON records, atomic writes, ``slug``,
  ``runs.csv``, ``load_report`` and ``check_report_dir``;
- ``merge``: keeping an earlier report's records that this (partial) run did not re-run;
- ``text``: effects, p-values and sentences shared by every page; the terminal's
  ``verdict_table``; the debate's voices, in the order they spoke;
- ``figures``: each claim's learning curves, and the digit pairs' figures;
- ``markdown``: ``claims.md``;
- ``htmlpage``: the one HTML template and stylesheet (``style.css``) and ``index.html``;
- ``writer``: ``write_report`` and the re-rendering command;
- ``history``: the nightly history, its drift report and its page (same template).
"""
from .figures import contender_colour, plot_claim
from .merge import ReportMergeWarning
from .records import (RUNS_COLUMNS, SCHEMA_PATH, SCHEMA_VERSION, VERDICTS, ReportDirError,
                      check_report_dir, jsonable, load_report, slug, validate)
from .text import VOICES, verdict_table, voices
from .writer import write_report

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_PATH",
    "RUNS_COLUMNS",
    "VERDICTS",
    "VOICES",
    "write_report",
    "load_report",
    "check_report_dir",
    "ReportDirError",
    "ReportMergeWarning",
    "slug",
    "verdict_table",
    "validate",
    "jsonable",
    "plot_claim",
    "contender_colour",
    "voices",
]
