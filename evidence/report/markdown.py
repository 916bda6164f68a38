"""``claims.md``: the report as Markdown (GitHub's flavour)."""
from __future__ import annotations

import re
from collections.abc import Mapping

from .figures import _PAIRS_NOTE
from .text import (_PRETRAIN_HEADER, _PRETRAIN_NOTE, _SUMMARY_HEADER, _UNITS_NOTE, _anchor,
                   _design_sentence, _earlier_note, _earlier_sentence, _earlier_tag,
                   _effect_sentence, _effect_text, _fit_sentence, _p_text, _per_size_header,
                   _per_size_rows, _pretraining_rows, _probes_text, _run_rows, _secs,
                   _summary_rows, _title, _verdict_counts, _voice_claim_label,
                   stability_sentence, voices)


def _md_cell(text) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _md_table(header, rows, right=()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(_md_cell(x) for x in r) + " |" for r in rows]
    return out


def _markdown(report: Mapping) -> str:
    run, claims = report["run"], report["claims"]
    counts = _verdict_counts(claims)
    L = ["# Claim verification report", ""]
    L.append(f"{len(claims)} claim record(s): "
             + (", ".join(f"{v} {k}" for k, v in counts.items()) or "none")
             + f". Schema version {report['schema_version']}; data: `claims.json`, `runs.csv`.")
    if report.get("protocol_version") is not None:
        L[-1] += f" Protocol version {report['protocol_version']}."
    L += ["", "## The answer, voice by voice", ""] + _voice_lines(claims)
    if report.get("stability"):
        L += ["", f"[{stability_sentence(report['stability'])}]({report['stability']['path']})"]
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


def _voice_lines(claims) -> list[str]:
    """One bullet per voice: its claims' verdicts, then its probes' verdict counts."""
    several = len({str(c.get("scale")) for c in claims}) > 1
    lines = []
    for v in voices(claims):
        said = " · ".join(f"[`{_voice_claim_label(c, several)}`](#{_anchor(c)}) **{c.get('verdict')}**"
                          for c in v["claims"]) or "(no claim of its own in this report)"
        probes = _probes_text(v["probes"])
        lines.append(f"- **{v['name']}**: {said}" + (f" ({probes})" if probes else ""))
    return lines or ["(no claim records)"]
