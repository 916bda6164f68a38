"""``index.html`` and the page template every HTML page of the suite shares.

``page(title, body)`` wraps a body in the one document template, with the one stylesheet
(``style.css`` beside this module) inlined, so that a page is a single self-contained file that
opens from disk with no network; ``render(report, pngs)`` is the report's page (its figures
inlined as data URLs); the history page (``history.py``) uses the same template.
"""
from __future__ import annotations

import base64
import functools
import html
from collections.abc import Mapping
from pathlib import Path

from .figures import _PAIRS_NOTE
from .records import _SURPRISES, VERDICTS
from .text import (_PRETRAIN_HEADER, _PRETRAIN_NOTE, _SUMMARY_HEADER, _UNITS_NOTE, _anchor,
                   _design_sentence, _earlier_note, _earlier_sentence, _earlier_tag,
                   _effect_sentence, _effect_text, _fit_sentence, _p_text, _per_size_header,
                   _per_size_rows, _pretraining_rows, _probes_text, _run_rows, _secs,
                   _summary_rows, _title, _verdict_counts, _voice_claim_label,
                   stability_sentence, voices)


STYLESHEET = Path(__file__).with_name("style.css")


@functools.lru_cache(maxsize=1)


def _css() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    """A complete HTML document: the shared template, its stylesheet inlined, ``body`` as is."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>\n{_css()}</style>\n</head><body>\n"
            f"{body}\n</body></html>\n")


def _e(x) -> str:
    return html.escape("-" if x is None else str(x), quote=True)


def verdict_class(verdict) -> str:
    """The stylesheet's class for a verdict (its colours): the verdict itself, or ``other``."""
    return str(verdict) if str(verdict) in VERDICTS else "other"


def _badge(verdict) -> str:
    return f'<span class="badge {verdict_class(verdict)}">{_e(verdict)}</span>'


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


def render(report: Mapping, pngs: Mapping[str, bytes]) -> str:
    run, claims = report["run"], report["claims"]
    counts = _verdict_counts(claims)
    H = ['<h1 id="top">Claim verification report</h1>',
         '<h2>The answer, voice by voice</h2>', _voice_list(claims),
         (f'<p class="note"><a href="{_e(report["stability"]["path"])}">'
          f'{_e(stability_sentence(report["stability"]))}</a></p>' if report.get("stability") else ""),
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
    return page("Claim verification report", "\n".join(H))


def _voice_list(claims) -> str:
    """The answer first: one line per voice of the debate with its claims' verdicts (each a link
    to the claim's section; its statement on hover) and its probes' verdict counts."""
    several = len({str(c.get("scale")) for c in claims}) > 1
    items = []
    for v in voices(claims):
        said = " ".join(
            f'<a class="claim" href="#{_e(_anchor(c))}" title="{_e(c.get("statement"))}">'
            f"{_e(_voice_claim_label(c, several))}</a> {_badge(c.get('verdict'))}"
            for c in v["claims"]) or '<span class="note">(no claim of its own in this report)</span>'
        probes = _probes_text(v["probes"])
        items.append(f'<li><span class="who">{_e(v["name"])}</span> {said}'
                     + (f' <span class="probes">({_e(probes)})</span>' if probes else "") + "</li>")
    return '<ul class="voices">' + "".join(items) + "</ul>" if items else "<p>(no claim records)</p>"
