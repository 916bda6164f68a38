"""Words and numbers shared by the terminal table, the Markdown page and the HTML page: effects
in points, p-values, run facts, the sentences of a claim's section, and the debate's voices."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .records import _SURPRISES, VERDICTS, _dedupe, _num


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


# --------------------------------------------------------------------------- the debate's voices

#: the voices of the debate in the order they spoke, keyed by their claims' id prefix
#: ("leek/..."); a claim under any other prefix gets a line of its own after them
VOICES = (("leek", "Leek"), ("beam", "Beam"), ("reddit", "Reddit"), ("robinson", "Robinson"),
          ("kaplan", "Kaplan"), ("autokad", "autokad"))


def voices(claims) -> list[dict]:
    """One entry per voice that has records in the report, in the debate's order: ``name``,
    ``claims`` (its claims' records, probes left out: a probe's id has an ``@``) and ``probes``
    (its probes' verdict counts, in VERDICTS order). A claim recorded at several scales or on
    several tasks appears once per record."""
    names = dict(VOICES)
    groups: dict[str, dict] = {}
    for c in _dedupe(claims):
        cid = str(c.get("id"))
        key = cid.split("/", 1)[0] if "/" in cid else cid.split("@", 1)[0]
        g = groups.setdefault(key, {"key": key, "name": names.get(key, key), "claims": [],
                                    "probes": {}})
        if "@" in cid:
            v = str(c.get("verdict"))
            g["probes"][v] = g["probes"].get(v, 0) + 1
        else:
            g["claims"].append(c)
    order = [k for k, _ in VOICES if k in groups] + sorted(set(groups) - set(names))
    out = []
    for k in order:
        g = groups[k]
        g["probes"] = {v: g["probes"][v] for v in (*VERDICTS, *sorted(set(g["probes"]) - set(VERDICTS)))
                       if v in g["probes"]}
        out.append(g)
    return out


def _voice_claim_label(c: Mapping, several_scales: bool) -> str:
    """A claim's short name within its voice's line: the id without the voice's prefix, with
    the scale where the report holds more than one."""
    name = str(c.get("id")).split("/", 1)[-1]
    return f"{name} ({c.get('scale')})" if several_scales else name


def _probes_text(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    total = sum(counts.values())
    return (f"{total} probe{'s' if total != 1 else ''}: "
            + ", ".join(f"{n} {v}" for v, n in counts.items()))


def stability_sentence(study: Mapping) -> str:
    """One sentence on the stability study beside the report."""
    fragile = study.get("fragile") or []
    return (f"Verdict stability over {study.get('seeds')} root seeds and {study.get('splits')} "
            f"split seeds: {len(fragile)} fragile record(s)"
            + (" — " + "; ".join(fragile) if fragile else "") + ".")
